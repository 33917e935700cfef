"""A value only opens where its scope allows; any changed byte fails (checked with both tools)."""

from __future__ import annotations

import base64
import json

import pytest

from tests.sealed.conftest import SealingKey, ok, run_kubeseal, run_lockstep

SECRET = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "apps"},
        "data": {"password": base64.b64encode(b"hunter2").decode()},
    }
).encode()


def sealed_with(scope: str, key: SealingKey) -> dict[str, object]:
    return json.loads(ok(run_lockstep("--cert", str(key.cert_path), "--scope", scope, stdin=SECRET)))


def try_open(kubeseal_bin: str, key: SealingKey, sealed: dict[str, object]) -> tuple[int, int, bytes]:
    body = json.dumps(sealed).encode()
    args = ("--recovery-unseal", "--recovery-private-key", str(key.key_path))
    ours = run_lockstep(*args, stdin=body)
    theirs = run_kubeseal(kubeseal_bin, *args, stdin=body)
    return ours.returncode, theirs.returncode, ours.stderr


def moved(
    sealed: dict[str, object], namespace: str | None = None, name: str | None = None
) -> dict[str, object]:
    copy = json.loads(json.dumps(sealed))
    if namespace:
        copy["metadata"]["namespace"] = namespace
    if name:
        copy["metadata"]["name"] = name
    return copy


@pytest.mark.parametrize(
    ("scope", "namespace", "name", "opens"),
    [
        ("strict", "other", None, False),
        ("strict", None, "renamed", False),
        ("namespace-wide", None, "renamed", True),
        ("namespace-wide", "other", None, False),
        ("cluster-wide", "other", "renamed", True),
    ],
)
def test_scope_binds_values(
    kubeseal_bin: str,
    sealing_key: SealingKey,
    scope: str,
    namespace: str | None,
    name: str | None,
    opens: bool,
) -> None:
    sealed = sealed_with(scope, sealing_key)
    assert try_open(kubeseal_bin, sealing_key, sealed)[:2] == (0, 0)
    ours, theirs, stderr = try_open(kubeseal_bin, sealing_key, moved(sealed, namespace, name))
    assert (ours == 0, theirs == 0) == (opens, opens)
    if not opens:
        message = stderr.decode()
        assert message.startswith("error: <stdin>: no key could decrypt secret (password)")
        assert "SHA256:" in message  # names the key it tried, never the key itself


@pytest.mark.parametrize("position", [0, 1, 5, 300, 530, -1])
def test_flipped_byte_fails(kubeseal_bin: str, sealing_key: SealingKey, position: int) -> None:
    sealed = sealed_with("strict", sealing_key)
    blob = bytearray(base64.b64decode(sealed["spec"]["encryptedData"]["password"]))  # type: ignore[index]
    blob[position] ^= 0x01
    sealed["spec"]["encryptedData"]["password"] = base64.b64encode(bytes(blob)).decode()  # type: ignore[index]
    ours, theirs, stderr = try_open(kubeseal_bin, sealing_key, sealed)
    assert ours != 0 and theirs != 0
    assert b"spec.encryptedData.password" in stderr or b"(password)" in stderr


def test_wrong_key_names_keys_tried(sealing_key: SealingKey, other_key: SealingKey) -> None:
    sealed = json.dumps(sealed_with("strict", sealing_key)).encode()
    result = run_lockstep(
        "--recovery-unseal", "--recovery-private-key", str(other_key.key_path), stdin=sealed
    )
    assert result.returncode == 1
    assert b"no key could decrypt secret (password); tried 1 key(s): SHA256:" in result.stderr
    assert b"hunter2" not in result.stderr + result.stdout
