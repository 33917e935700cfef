"""The sops stage's ``decrypt_file`` (the hook the engine decrypts Helm values files through), against
files the real sops encrypted."""

from __future__ import annotations

from pathlib import Path

import pyrage
import pytest

from core_sync.stages import FileDecryptFailed, FileDecryptor, StageContext, decrypt_file
from core_sync.testing.oracles import sops_encrypt
from sops_plugin.stage import SopsStage

PLAIN = "db:\n  password: correct-horse\n  user: app\nport: 5432\nenabled: true\n"


def _encrypted(tmp_path: Path, identity: pyrage.x25519.Identity, regex: str) -> bytes:
    source = tmp_path / "values.yaml"
    source.write_text(PLAIN)
    return sops_encrypt(source, str(identity.to_public()), encrypted_regex=regex).encode()


def test_decrypts_in_memory_and_lists_only_what_was_encrypted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity = pyrage.x25519.Identity.generate()
    monkeypatch.setenv("SOPS_AGE_KEY", str(identity))
    data = _encrypted(tmp_path, identity, "^(password|enabled)$")
    stage = SopsStage()
    assert isinstance(stage, FileDecryptor)
    context = StageContext(namespace="default", local_identities=True)
    decrypted = decrypt_file([stage], data, "values.yaml", context)
    assert decrypted is not None
    assert b"password: correct-horse" in decrypted.plaintext and b"sops:" not in decrypted.plaintext
    assert sorted(decrypted.secrets) == [b"correct-horse", b"true"]  # "app" and 5432 were never encrypted


def test_plain_files_are_not_claimed_and_broken_ones_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity = pyrage.x25519.Identity.generate()
    context = StageContext(namespace="default", local_identities=True)
    stage = SopsStage()
    assert stage.decrypt_file(PLAIN.encode(), "values.yaml", context) is None
    # a chart's own setting called `sops` is not SOPS metadata
    assert stage.decrypt_file(b"sops:\n  enabled: true\n", "values.yaml", context) is None
    data = _encrypted(tmp_path, identity, "^password$")
    monkeypatch.setenv("SOPS_AGE_KEY", str(pyrage.x25519.Identity.generate()))
    with pytest.raises(FileDecryptFailed, match="SOPS decryption failed"):
        stage.decrypt_file(data, "values.yaml", context)
    monkeypatch.setenv("SOPS_AGE_KEY", str(identity))
    tampered = data.replace(b"port: 5432", b"port: 5433")
    with pytest.raises(FileDecryptFailed, match="MAC mismatch"):
        stage.decrypt_file(tampered, "values.yaml", context)
    operator = StageContext(namespace="default")  # no spec.decryption, not the CLI user
    with pytest.raises(FileDecryptFailed, match=r"spec\.decryption\.sops\.secretRef is not set"):
        stage.decrypt_file(data, "values.yaml", operator)
