"""``lockstep keys list | cert | backup | restore | usage | retire`` against a real API server; kubeseal reads
our backups (``--recovery-private-key``) as the oracle for Bitnami's backup format."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from core_sync.kube import ApiError
from core_sync.testing.control_plane import ControlPlane
from tests.keys.conftest import (
    AgeKey,
    Keys,
    build_repo,
    key_secret,
    kubeseal_unseal,
    lockstep,
    wait_for_sealed_secrets_api,
)

SECRETS = "/api/v1/namespaces/{ns}/secrets"


@pytest.fixture
def key_namespace(control_plane: ControlPlane, sealing_keys: Keys) -> Iterator[str]:
    """A fresh controller namespace holding the old and the new key Secret."""
    wait_for_sealed_secrets_api(control_plane)
    namespace = control_plane.create_namespace("keys-")
    for key, age in ((sealing_keys.old, "2026-10-01T00:00:00Z"), (sealing_keys.new, "2026-11-10T00:00:00Z")):
        body = key_secret(key, age, namespace)
        body["metadata"].pop("creationTimestamp")  # type: ignore[union-attr]
        control_plane.client.create(SECRETS.format(ns=namespace), body)
    yield namespace


def keys_cmd(
    control_plane: ControlPlane, namespace: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return lockstep(
        "keys", *args, "--controller-namespace", namespace,
        env={"KUBECONFIG": str(control_plane.kubeconfig), **(env or {})},
    )  # fmt: skip


def test_list_and_cert(control_plane: ControlPlane, key_namespace: str, sealing_keys: Keys) -> None:
    listed = keys_cmd(control_plane, key_namespace, "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)["keys"]}
    assert set(rows) == {sealing_keys.old.name, sealing_keys.new.name}
    assert rows[sealing_keys.new.name]["sealing"] and not rows[sealing_keys.old.name]["sealing"]
    assert rows[sealing_keys.old.name]["fingerprint"] == sealing_keys.old.pair.fingerprint
    assert all(r["state"] == "active" and r["expiry"].startswith("20") for r in rows.values())
    text = keys_cmd(control_plane, key_namespace, "list")
    assert sealing_keys.new.name in text.stdout and "EXPIRY" in text.stdout
    cert = keys_cmd(control_plane, key_namespace, "cert", "--from-keys")
    assert cert.returncode == 0 and cert.stdout.encode() == sealing_keys.new.pair.cert_pem


def test_backup_restore_round_trip_plain(
    control_plane: ControlPlane, key_namespace: str, sealing_keys: Keys, tmp_path: Path, repo: Path
) -> None:
    backup = tmp_path / "keys.yaml"
    done = keys_cmd(control_plane, key_namespace, "backup", "-o", str(backup))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    document = yaml.safe_load(backup.read_text())
    assert document["kind"] == "List" and len(document["items"]) == 2
    assert all(
        "uid" not in i["metadata"] and "resourceVersion" not in i["metadata"] for i in document["items"]
    )
    # Bitnami's format: kubeseal opens a file sealed by the old key with our backup as its key file
    sealed = (repo / "apps" / "db0.json").read_bytes()
    assert kubeseal_unseal(sealed, backup).returncode == 0
    # every saved key is stamped, so the runbook's preflight knows a backup newer than the newest key exists
    client = control_plane.client
    for item in client.get(SECRETS.format(ns=key_namespace))["items"]:
        assert "lockstep.dev/backed-up-at" in item["metadata"]["annotations"]
    client.delete(f"{SECRETS.format(ns=key_namespace)}/{sealing_keys.old.name}")
    restored = keys_cmd(control_plane, key_namespace, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "restored 1 key(s)" in restored.stderr and "1 already present" in restored.stderr
    listed = json.loads(keys_cmd(control_plane, key_namespace, "list", "-o", "json").stdout)["keys"]
    assert {r["fingerprint"] for r in listed} == {
        sealing_keys.old.pair.fingerprint,
        sealing_keys.new.pair.fingerprint,
    }


def test_backup_restore_round_trip_age(
    control_plane: ControlPlane,
    key_namespace: str,
    sealing_keys: Keys,
    tmp_path: Path,
    age_keys: tuple[AgeKey, AgeKey],
) -> None:
    a, b = age_keys
    backup = tmp_path / "keys.age"
    done = keys_cmd(control_plane, key_namespace, "backup", "-o", str(backup), "--age-recipient", a.recipient)
    assert done.returncode == 0, done.stderr
    data = backup.read_bytes()
    assert data.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    assert b"PRIVATE KEY" not in data and b"tls.key" not in data
    for key in (sealing_keys.old, sealing_keys.new):
        control_plane.client.delete(f"{SECRETS.format(ns=key_namespace)}/{key.name}")
    wrong = keys_cmd(control_plane, key_namespace, "restore", str(backup), "--age-identity", str(b.file))
    assert wrong.returncode == 1 and "no age identity given can decrypt the backup" in wrong.stderr
    none = keys_cmd(control_plane, key_namespace, "restore", str(backup))
    assert none.returncode == 1 and "no age identity was found" in none.stderr
    restored = keys_cmd(
        control_plane, key_namespace, "restore", str(backup), env={"SOPS_AGE_KEY_FILE": str(a.file)}
    )
    assert restored.returncode == 0, restored.stderr
    assert "restored 2 key(s)" in restored.stderr
    listed = json.loads(keys_cmd(control_plane, key_namespace, "list", "-o", "json").stdout)["keys"]
    assert {r["fingerprint"] for r in listed} == {
        sealing_keys.old.pair.fingerprint,
        sealing_keys.new.pair.fingerprint,
    }
    again = keys_cmd(control_plane, key_namespace, "restore", str(backup), "--age-identity", str(a.file))
    assert again.returncode == 0 and "2 already present" in again.stderr


def test_restore_refuses_a_different_key_under_the_same_name(
    control_plane: ControlPlane, key_namespace: str, sealing_keys: Keys, tmp_path: Path
) -> None:
    backup = tmp_path / "swapped.yaml"
    items = [key_secret(sealing_keys.new, "2026-11-10T00:00:00Z", key_namespace)]
    items[0]["metadata"]["name"] = sealing_keys.old.name  # type: ignore[index]
    backup.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    done = keys_cmd(control_plane, key_namespace, "restore", str(backup))
    assert done.returncode == 1 and "exists with a different key" in done.stderr


def stamp_secret(control_plane: ControlPlane, namespace: str, name: str, fingerprint: str) -> None:
    """A Secret as the controller leaves it after unsealing: the opening key's fingerprint annotated."""
    control_plane.client.create(
        SECRETS.format(ns=namespace),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "annotations": {"lockstep.dev/sealing-key": fingerprint}},
            "data": {"k": "dg=="},
        },
    )


def test_usage_and_retire(
    control_plane: ControlPlane, key_namespace: str, sealing_keys: Keys, repo: Path, namespace: str
) -> None:
    stamp_secret(control_plane, namespace, "db", sealing_keys.old.pair.fingerprint)
    usage = keys_cmd(control_plane, key_namespace, "usage", "--repo", str(repo / "apps"), "-o", "json")
    assert usage.returncode == 0, usage.stderr
    rows = {r["name"]: r for r in json.loads(usage.stdout)["keys"]}
    assert rows[sealing_keys.old.name]["repos"] == 20  # opened by trial decryption with the cluster's keys
    assert rows[sealing_keys.old.name]["cluster"] >= 1
    assert f"{namespace}/db" in rows[sealing_keys.old.name]["cluster_secrets"]
    assert rows[sealing_keys.new.name]["repos"] == 0

    refused = keys_cmd(
        control_plane, key_namespace, "retire", sealing_keys.old.name, "--repo", str(repo), "--yes"
    )
    assert refused.returncode == 1
    assert (
        "refusing to retire" in refused.stderr and "20 SealedSecret(s) in the directories" in refused.stderr
    )
    newest = keys_cmd(control_plane, key_namespace, "retire", sealing_keys.new.name, "--yes")
    assert newest.returncode == 1 and "seals new secrets" in newest.stderr

    rotated = lockstep(
        "keys", "rotate", "--repo", str(repo), "--offline", "--keys", str(sealing_keys.backup), "--yes",
        env={"SOPS_AGE_KEY_FILE": os.environ.get("UNUSED", "/nonexistent")},
    )  # fmt: skip
    assert rotated.returncode == 1  # the SOPS files have no identity here; SealedSecrets are done
    still = keys_cmd(
        control_plane, key_namespace, "retire", sealing_keys.old.name, "--repo", str(repo), "--yes"
    )
    assert still.returncode == 1 and "in the cluster still need it" in still.stderr
    assert "directories" not in still.stderr
    control_plane.client.delete(f"{SECRETS.format(ns=namespace)}/db")
    retired = keys_cmd(
        control_plane,
        key_namespace,
        "retire",
        sealing_keys.old.name,
        "--repo",
        str(repo),
        "--yes",
        "--allow-unknown",
    )
    assert retired.returncode == 0, retired.stderr
    with pytest.raises(ApiError):
        control_plane.client.get(f"{SECRETS.format(ns=key_namespace)}/{sealing_keys.old.name}")


def test_online_preflight_names_every_problem(
    control_plane: ControlPlane, key_namespace: str, repo: Path
) -> None:
    (repo / "apps" / "db1.json").write_text("{}\n")
    done = keys_cmd(
        control_plane,
        key_namespace,
        "rotate",
        "--repo",
        str(repo),
        "--yes",
        "--controller-url",
        "http://127.0.0.1:9",
    )
    assert done.returncode == 1
    assert "controller http://127.0.0.1:9 not reachable" in done.stderr
    assert "no backup newer than the newest key" in done.stderr
    assert "working tree not clean" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def repo(tmp_path: Path, sealing_keys: Keys, age_keys: tuple[AgeKey, AgeKey]) -> Iterator[Path]:
    path = build_repo(tmp_path, sealing_keys, age_keys)
    yield path
    shutil.rmtree(path, ignore_errors=True)
