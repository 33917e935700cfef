"""Nothing a reader of the cluster or of `lockstep diff` sees lets them test guesses of a secret offline.

The no-op digest annotation (``v1:<salt>:<HMAC(salt, object)>``) publishes its salt, so it is kept off
every secret-bearing object (Secrets, and a ConfigMap the SOPS stage decrypted); diff never shows it.
A re-sync of an unchanged revision still writes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from pathlib import Path
from typing import Any

import pyrage
import yaml

from core_sync.inventory import AppRef, stamp
from core_sync.masking import DIGEST_ANNOTATION
from core_sync.testing import ControlPlane, GitServer
from core_sync.testing.oracles import sops_encrypt
from tests.core_sync.conftest import configmap
from tests.core_sync.test_engine_cli import lockstep

PASSWORD = "correct-horse-battery"
SECRET = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: {PASSWORD}\n"
SOPS_CONFIGMAP = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sops-cm\ndata:\n  token: sops-token-value\n"
)
SALTED = re.compile(r"v1:[0-9a-f]{32}:[0-9a-f]{64}")


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def _repo(tmp_path: Path, git_server: GitServer, name: str) -> tuple[str, dict[str, str]]:
    identity = pyrage.x25519.Identity.generate()
    plain = tmp_path / "sops-cm.yaml"
    plain.write_text(SOPS_CONFIGMAP)
    files = {
        "deploy/secret.yaml": SECRET,
        "deploy/cm.yaml": configmap("plain", "1"),
        "deploy/sops-cm.yaml": sops_encrypt(plain, str(identity.to_public()), encrypted_regex="^data$"),
    }
    env = {
        **os.environ,
        "SOPS_AGE_KEY": str(identity),
        "LOCKSTEP_CACHE": str(tmp_path / "cache"),
    }
    return git_server.create_repo(name, files), env


def test_secret_bearing_objects_carry_no_digest_and_noop_resync_writes_nothing(
    control_plane: ControlPlane, namespace: str, git_server: GitServer, tmp_path: Path
) -> None:
    url, env = _repo(tmp_path, git_server, "digest")
    env = {**env, "KUBECONFIG": str(control_plane.kubeconfig)}
    sync = ["sync", "--repo", url, "--path", "deploy", "-n", namespace]
    first = lockstep(*sync, env=env)
    assert first.returncode == 0, first.stderr
    client = control_plane.client
    secret = client.get(f"/api/v1/namespaces/{namespace}/secrets/creds")
    decrypted = client.get(f"/api/v1/namespaces/{namespace}/configmaps/sops-cm")
    plain = client.get(f"/api/v1/namespaces/{namespace}/configmaps/plain")
    assert decrypted["data"] == {"token": "sops-token-value"}
    for holder in (secret, decrypted):
        assert DIGEST_ANNOTATION not in _annotations(holder)
        assert not SALTED.search(json.dumps(holder))  # no salted MAC anywhere on the object
    assert SALTED.fullmatch(_annotations(plain)[DIGEST_ANNOTATION])  # the fast path stays for the rest

    before = control_plane.write_requests(namespaces=[namespace])
    again = lockstep(*sync, env=env)
    assert again.returncode == 0 and "3 unchanged" in again.stdout, again.stdout + again.stderr
    assert control_plane.write_requests(namespaces=[namespace]) == before


def test_diff_of_a_secret_change_shows_no_digest_salt_or_value(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    env = control_plane.env()
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "secret.yaml").write_text(SECRET)
    (deploy / "cm.yaml").write_text(configmap("plain", "1"))
    created = lockstep("diff", str(deploy), "-n", namespace, env=env)
    assert created.returncode == 1
    assert DIGEST_ANNOTATION not in created.stdout and not SALTED.search(created.stdout)
    client = control_plane.client
    for obj in (SECRET, configmap("plain", "1")):  # the live state, as a sync would have left it
        body = stamp(yaml.safe_load(obj), AppRef(namespace, "lockstep-diff"))
        kind = "secrets" if body["kind"] == "Secret" else "configmaps"
        name = body["metadata"]["name"]
        client.apply(f"/api/v1/namespaces/{namespace}/{kind}/{name}", body, field_manager="lockstep")
    (deploy / "secret.yaml").write_text(SECRET.replace(PASSWORD, "new-password-value"))
    (deploy / "cm.yaml").write_text(configmap("plain", "2"))
    changed = lockstep("diff", str(deploy), "-n", namespace, env=env)
    assert changed.returncode == 1, changed.stderr
    assert "Secret" in changed.stdout or "creds" in changed.stdout
    for leak in (PASSWORD, "new-password-value", DIGEST_ANNOTATION, "desired-digest"):
        assert leak not in changed.stdout
    for value in (PASSWORD, "new-password-value"):
        assert base64.b64encode(value.encode()).decode() not in changed.stdout
    assert not SALTED.search(changed.stdout) and not re.search(r"\b[0-9a-f]{32}\b", changed.stdout)


def test_an_old_style_digest_on_a_live_secret_is_removed(
    control_plane: ControlPlane, namespace: str, git_server: GitServer, tmp_path: Path
) -> None:
    """Secrets synced by an earlier version carry a salted HMAC that a word list can test; the next sync
    drops it (one write), and from then on re-syncs write nothing."""
    url = git_server.create_repo("old-digest", {"deploy/secret.yaml": SECRET})
    env = {**control_plane.env(), "LOCKSTEP_CACHE": str(tmp_path / "cache")}
    desired = stamp(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": namespace},
            "stringData": {"password": PASSWORD},
        },
        AppRef(namespace, "cli"),
    )
    salt = "00" * 16
    mac = hmac.new(
        bytes.fromhex(salt),
        json.dumps(desired, sort_keys=True, separators=(",", ":")).encode(),
        hashlib.sha256,
    ).hexdigest()
    desired["metadata"]["annotations"][DIGEST_ANNOTATION] = f"v1:{salt}:{mac}"
    path = f"/api/v1/namespaces/{namespace}/secrets/creds"
    control_plane.client.apply(path, desired, field_manager="lockstep")
    assert DIGEST_ANNOTATION in _annotations(control_plane.client.get(path))

    sync = ["sync", "--repo", url, "--path", "deploy", "-n", namespace]
    first = lockstep(*sync, env=env)
    assert first.returncode == 0 and "1 configured" in first.stdout, first.stdout + first.stderr
    assert DIGEST_ANNOTATION not in _annotations(control_plane.client.get(path))
    before = control_plane.write_requests(namespaces=[namespace])
    again = lockstep(*sync, env=env)
    assert "1 unchanged" in again.stdout, again.stdout + again.stderr
    assert control_plane.write_requests(namespaces=[namespace]) == before


def test_diff_masks_a_changed_sops_configmap(
    control_plane: ControlPlane, namespace: str, git_server: GitServer, tmp_path: Path
) -> None:
    """A ConfigMap the SOPS stage decrypted is masked in diff like a Secret, live side included."""
    url, env = _repo(tmp_path, git_server, "sops-diff")
    env = {**env, "KUBECONFIG": str(control_plane.kubeconfig)}
    sync = ["sync", "--repo", url, "--path", "deploy", "-n", namespace, "--name", "lockstep-diff"]
    synced = lockstep(*sync, env=env)  # the name diff uses by default: only the token differs
    assert synced.returncode == 0, synced.stderr
    deploy = tmp_path / "changed"
    deploy.mkdir()
    plain = tmp_path / "changed-plain.yaml"
    plain.write_text(SOPS_CONFIGMAP.replace("sops-token-value", "rotated-token-value"))
    recipient = str(pyrage.x25519.Identity.from_str(env["SOPS_AGE_KEY"]).to_public())
    (deploy / "sops-cm.yaml").write_text(sops_encrypt(plain, recipient, encrypted_regex="^data$"))
    diff = lockstep("diff", str(deploy), "-n", namespace, env=env)
    assert diff.returncode == 1, diff.stderr
    assert "sops-cm" in diff.stdout and "token" in diff.stdout and "++++" in diff.stdout
    for leak in ("sops-token-value", "rotated-token-value", DIGEST_ANNOTATION):
        assert leak not in diff.stdout
