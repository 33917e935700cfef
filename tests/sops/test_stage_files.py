"""The SOPS stage inside the engine's render: files are decrypted as `sops -d` decrypts them (one MAC over
every document, sops' own YAML typing), then parsed as kubectl parses the plaintext."""

from __future__ import annotations

from pathlib import Path

import pyrage

from core_sync.engine import SyncFailed, render_directory
from core_sync.stages import StageContext
from core_sync.testing.oracles import sops_encrypt
from sops_plugin.stage import SopsStage

STREAM = """apiVersion: v1
kind: Secret
metadata:
  name: one
stringData:
  password: first-secret
---
apiVersion: v1
kind: Secret
metadata:
  name: two
stringData:
  password: second-secret
---
apiVersion: demo.lockstep.dev/v1
kind: Widget
metadata:
  name: flags
spec:
  enabled: yes
  version: 1.10
data:
  token: third-secret
"""


def _encrypt(directory: Path, identity: pyrage.x25519.Identity) -> None:
    source = directory / "secrets.yaml"
    source.write_text(STREAM)
    encrypted = sops_encrypt(source, str(identity.to_public()))
    source.write_text(encrypted)


def _context(identity: pyrage.x25519.Identity) -> StageContext:
    return StageContext(
        namespace="default",
        decryption={"sops": {"secretRef": {"name": "age"}}},
        read_secret=lambda name: {"key.agekey": str(identity).encode()},
    )


def test_multi_document_file_and_yaml_typing(tmp_path: Path) -> None:
    identity = pyrage.x25519.Identity.generate()
    _encrypt(tmp_path, identity)
    objects = render_directory(tmp_path, _context(identity), stages=[SopsStage()])
    by_name = {o["metadata"]["name"]: o for o in objects}
    assert by_name["one"]["stringData"] == {"password": "first-secret"}
    assert by_name["two"]["stringData"] == {"password": "second-secret"}
    # sops reads `yes` as a string and writes it back quoted, so `sops -d | kubectl apply` sees "yes";
    # a YAML 1.1 reading of the encrypted file would have made it True and broken the MAC
    assert by_name["flags"]["spec"] == {"enabled": "yes", "version": 1.1}
    assert by_name["flags"]["data"] == {"token": "third-secret"}
    assert all("sops" not in o for o in objects)


def test_tampered_unencrypted_field_fails_the_whole_file(tmp_path: Path) -> None:
    identity = pyrage.x25519.Identity.generate()
    _encrypt(tmp_path, identity)
    path = tmp_path / "secrets.yaml"
    encrypted = path.read_text()
    assert 'enabled: "yes"' in encrypted
    path.write_text(encrypted.replace('enabled: "yes"', 'enabled: "no"'))
    try:
        render_directory(tmp_path, _context(identity), stages=[SopsStage()])
    except SyncFailed as failed:
        assert failed.reason == "DecryptFailed"
        assert "secrets.yaml" in failed.message and "MAC" in failed.message
        assert "first-secret" not in failed.message
    else:
        raise AssertionError("a tampered plain field must fail MAC verification")
