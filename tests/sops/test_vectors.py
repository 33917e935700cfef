"""Files written by other sops versions decrypt identically with Lockstep and sops 3.11, MAC verified."""

from __future__ import annotations

from pathlib import Path

from sops_plugin import api
from sops_plugin.format.age import parse_identities

from .conftest import Sops

DATA = Path(__file__).with_name("data")


def test_sops_3_10_file_from_flux(sops_bin: Sops) -> None:
    encrypted = DATA / "flux-3.10.2-secret.enc.yaml"
    key = DATA / "flux-test-age.txt"
    expected = sops_bin.ok("decrypt", str(encrypted), key_file=key)
    ours = api.decrypt_bytes(encrypted.read_bytes(), "yaml", parse_identities(key.read_text()))
    assert ours == expected
    doc = api.decrypt_document(encrypted.read_bytes(), "yaml", parse_identities(key.read_text()))
    assert doc.metadata.version == "3.10.2" and doc.metadata.rules.encrypted_regex == "^(data|stringData)$"
