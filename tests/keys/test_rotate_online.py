"""The runbook through the controller: a real ``lockstep operator`` serving /v1/cert.pem, /v1/rotate and
/v1/verify; a new key made in the cluster; kubeseal (``--recovery-unseal`` with the new key from the
cluster) and sops as oracles."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from core_sync.kube import ApiError
from core_sync.testing.control_plane import ControlPlane
from sealed.keys import list_keys
from tests.keys.conftest import (
    AgeKey,
    Keys,
    build_repo,
    key_secret,
    kubeseal,
    kubeseal_unseal,
    lockstep,
    secret,
    tree_bytes,
    wait_for_sealed_secrets_api,
)
from tests.sealed.operator import SealedOperator, wait_for

SECRETS = "/api/v1/namespaces/{ns}/secrets"


@pytest.fixture
def operator(control_plane: ControlPlane, sealing_keys: Keys, tmp_path: Path) -> Iterator[SealedOperator]:
    wait_for_sealed_secrets_api(control_plane)
    key_ns = control_plane.create_namespace("keys-")
    body = key_secret(sealing_keys.old, "", key_ns)
    body["metadata"].pop("creationTimestamp")  # type: ignore[union-attr]
    control_plane.client.create(SECRETS.format(ns=key_ns), body)
    watched = control_plane.create_namespace("w-")
    process = SealedOperator(
        control_plane, tmp_path, key_ns, (watched,), "--key-renew-period", "0", "--rate-limit", "50",
        "--rate-limit-burst", "50",
    )  # fmt: skip
    process.start()
    yield process
    process.stop()


def key_namespace_of(operator: SealedOperator) -> str:
    argv = operator.process.argv
    return str(argv[argv.index("--key-namespace") + 1])


def test_online_runbook_makes_a_new_key_and_reseals_through_the_controller(
    control_plane: ControlPlane,
    operator: SealedOperator,
    sealing_keys: Keys,
    age_keys: tuple[AgeKey, AgeKey],
    tmp_path: Path,
) -> None:
    a = age_keys[0]
    repo = build_repo(tmp_path, sealing_keys, age_keys)
    key_ns = key_namespace_of(operator)
    env = {"KUBECONFIG": str(control_plane.kubeconfig), "SOPS_AGE_KEY_FILE": str(a.file)}
    url = ("--controller-url", operator.url, "--controller-namespace", key_ns)
    assert operator.get("/v1/cert.pem")[1] == sealing_keys.old.pair.cert_pem

    refused = lockstep("keys", "rotate", "--repo", str(repo), *url, "--yes", env=env)
    assert refused.returncode == 1 and "no backup newer than the newest key" in refused.stderr
    backup = lockstep("keys", "backup", "-o", str(tmp_path / "keys.yaml"), *url, env=env)
    assert backup.returncode == 0, backup.stderr

    before = tree_bytes(repo)
    dry = lockstep("keys", "rotate", "--repo", str(repo), *url, "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "a new active key will be created" in dry.stdout
    assert tree_bytes(repo) == before and len(list_keys(control_plane.client, key_ns)) == 1

    done = lockstep("keys", "rotate", "--repo", str(repo), *url, "--yes", "-o", "json", env=env)
    assert done.returncode == 0, done.stderr + done.stdout
    report = json.loads(done.stdout)
    assert report["key_created"] and report["mode"] == "controller"
    assert report["summary"] == {"rotated": 23}
    assert all(f["verified"] for f in report["files"])

    keys = list_keys(control_plane.client, key_ns)
    assert len(keys) == 2
    new = next(k for k in keys if k.fingerprint != sealing_keys.old.pair.fingerprint)
    assert new.name == report["target_key"] and new.fingerprint == report["target_fingerprint"]
    assert operator.get("/v1/cert.pem")[1] == new.cert_pem
    events = control_plane.client.get(f"/api/v1/namespaces/{key_ns}/events")["items"]
    rotated = [e for e in events if e["reason"] == "KeyRotated" and e["involvedObject"]["name"] == new.name]
    assert len(rotated) == 1 and "lockstep keys rotate" in rotated[0]["message"]  # what Notifiers send on
    new_key_file = tmp_path / "new.key"
    assert new.key is not None
    from sealed.format.keygen import private_key_pem

    new_key_file.write_bytes(private_key_pem(new.key.key))
    for path in sorted((repo / "apps").iterdir()):
        data = path.read_bytes()
        for document in yaml.safe_load_all(data):
            if document and document.get("kind") == "SealedSecret":
                body = json.dumps(document).encode()
                assert kubeseal_unseal(body, new_key_file).returncode == 0, path
                assert kubeseal_unseal(body, sealing_keys.old.key).returncode != 0, path
    # usage, by trial decryption with the cluster's keys: no file in the repo needs the old key any more
    usage = lockstep("keys", "usage", "--repo", str(repo), *url, "-o", "json", env=env)
    rows = {r["fingerprint"]: r for r in json.loads(usage.stdout)["keys"]}
    assert rows[sealing_keys.old.pair.fingerprint]["repos"] == 0
    assert rows[new.fingerprint]["repos"] == 20


def test_compromised_key_reseals_relabels_and_lists_secrets_to_change(
    control_plane: ControlPlane,
    operator: SealedOperator,
    sealing_keys: Keys,
    age_keys: tuple[AgeKey, AgeKey],
    tmp_path: Path,
) -> None:
    repo = build_repo(tmp_path, sealing_keys, age_keys)
    key_ns = key_namespace_of(operator)
    watched = operator.process.argv[operator.process.argv.index("-n") + 1]
    sealed = json.loads(
        kubeseal("--cert", str(sealing_keys.old.cert), "-o", "json", stdin=secret("db", watched, {"pw": "x"}))
    )
    control_plane.client.create(f"/apis/bitnami.com/v1alpha1/namespaces/{watched}/sealedsecrets", sealed)
    try:
        _compromised(control_plane, operator, sealing_keys, age_keys, repo, key_ns, watched)
    finally:  # the control plane is shared: leave no Secret that names the session's old key
        control_plane.client.delete(f"/apis/bitnami.com/v1alpha1/namespaces/{watched}/sealedsecrets/db")
        with contextlib.suppress(ApiError):
            control_plane.client.delete(f"/api/v1/namespaces/{watched}/secrets/db")


def _compromised(
    control_plane: ControlPlane,
    operator: SealedOperator,
    sealing_keys: Keys,
    age_keys: tuple[AgeKey, AgeKey],
    repo: Path,
    key_ns: str,
    watched: str,
) -> None:
    wait_for(
        lambda: _annotation(control_plane, watched, "db") == sealing_keys.old.pair.fingerprint,
        what="the controller to unseal db and record its key",
    )
    env = {"KUBECONFIG": str(control_plane.kubeconfig), "SOPS_AGE_KEY_FILE": str(age_keys[0].file)}
    url = ("--controller-url", operator.url, "--controller-namespace", key_ns)
    done = lockstep(
        "keys",
        "compromised",
        sealing_keys.old.name,
        "--repo",
        str(repo),
        *url,
        "--yes",
        "-o",
        "json",
        env=env,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    report = json.loads(done.stdout)
    assert report["key_created"] and report["summary"] == {"rotated": 23}
    assert report["compromised"]["change_at_source"] == [f"{watched}/db"]
    assert report["compromised"]["fingerprint"] == sealing_keys.old.pair.fingerprint
    states = {k.name: k.state for k in list_keys(control_plane.client, key_ns)}
    assert states[sealing_keys.old.name] == "compromised"
    assert sorted(states.values()) == ["active", "compromised"]
    assert operator.get("/v1/cert.pem")[1] != sealing_keys.old.pair.cert_pem


def _annotation(control_plane: ControlPlane, namespace: str, name: str) -> str:
    try:
        found = control_plane.client.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
    except ApiError:
        return ""
    return str((found["metadata"].get("annotations") or {}).get("lockstep.dev/sealing-key", ""))


def test_a_run_killed_right_after_making_its_key_adopts_that_key(
    control_plane: ControlPlane,
    operator: SealedOperator,
    sealing_keys: Keys,
    age_keys: tuple[AgeKey, AgeKey],
    tmp_path: Path,
) -> None:
    repo = build_repo(tmp_path, sealing_keys, age_keys)
    key_ns = key_namespace_of(operator)
    env = {"KUBECONFIG": str(control_plane.kubeconfig), "SOPS_AGE_KEY_FILE": str(age_keys[0].file)}
    args = ("keys", "rotate", "--repo", str(repo), "--controller-url", operator.url)
    args += ("--controller-namespace", key_ns, "--no-backup-check", "--yes", "-o", "json")
    killed = lockstep(*args, env={**env, "LOCKSTEP_ROTATE_FAULT": "kill-after-key:1"})
    assert killed.returncode == -9, killed.stderr
    made = [
        k
        for k in list_keys(control_plane.client, key_ns)
        if k.fingerprint != sealing_keys.old.pair.fingerprint
    ]
    assert len(made) == 1
    done = lockstep(*args, env=env)
    assert done.returncode == 0, done.stderr + done.stdout
    report = json.loads(done.stdout)
    assert report["target_fingerprint"] == made[0].fingerprint and report["resumed"] == [str(repo)]
    assert len(list_keys(control_plane.client, key_ns)) == 2  # no second new key
    assert report["summary"] == {"rotated": 23}
