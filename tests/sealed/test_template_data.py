"""``spec.template.data`` Go templates render exactly as the controller renders them: the oracle is
``kubeseal --recovery-unseal``, which runs the controller's own Unseal code."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.sealed.conftest import SealingKey, run_kubeseal, run_lockstep

SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db", "namespace": "shop"},
    "data": {
        "user": base64.b64encode(b"admin").decode(),
        "password": base64.b64encode(b"s3cr3t").decode(),
    },
}
TEMPLATES = {
    "dsn": "postgres://{{ .user }}:{{ .password | urlquery }}@db:5432/{{ .dbname }}",
    "dbname": "orders",
    "config.json": '{{ dict "user" .user "host" "db" | toJson }}',
    "upper": "{{ .user | upper }}-{{ .missing }}",
    "password": "never used: the encrypted value wins",
    "b64": '{{ printf "%s:%s" .user .password | b64enc }}',
}


def _sealed_with_templates(key: SealingKey) -> bytes:
    sealed = run_lockstep("--cert", str(key.cert_path), stdin=json.dumps(SECRET).encode())
    assert sealed.returncode == 0, sealed.stderr.decode()
    obj = json.loads(sealed.stdout)
    obj["spec"]["template"]["data"] = TEMPLATES
    return json.dumps(obj).encode()


def test_template_data_matches_the_controller(
    kubeseal_bin: str, sealing_key: SealingKey, tmp_path: Path
) -> None:
    sealed = _sealed_with_templates(sealing_key)
    args = ("--recovery-unseal", "--recovery-private-key", str(sealing_key.key_path))
    ours = run_lockstep(*args, stdin=sealed)
    theirs = run_kubeseal(kubeseal_bin, *args, stdin=sealed)
    assert theirs.returncode == 0, theirs.stderr.decode()
    assert ours.returncode == 0, ours.stderr.decode()
    assert ours.stdout == theirs.stdout
    data = {k: base64.b64decode(v).decode() for k, v in json.loads(ours.stdout)["data"].items()}
    assert data["dsn"] == "postgres://admin:s3cr3t@db:5432/orders"
    assert data["password"] == "s3cr3t"
    assert data["upper"] == "ADMIN-<no value>"


def test_template_errors_name_the_key_not_the_values(sealing_key: SealingKey) -> None:
    sealed = json.loads(_sealed_with_templates(sealing_key))
    sealed["spec"]["template"]["data"] = {"bad": "{{ .password | nosuchfunction }}"}
    result = run_lockstep(
        "--recovery-unseal",
        "--recovery-private-key",
        str(sealing_key.key_path),
        stdin=json.dumps(sealed).encode(),
    )
    assert result.returncode == 1
    assert b"spec.template.data.bad" in result.stderr and b"nosuchfunction" in result.stderr
    assert b"s3cr3t" not in result.stderr
