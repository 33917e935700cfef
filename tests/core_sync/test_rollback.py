"""Rollback end to end: real git server, real API server, real `lockstep operator`, the real CLI.

Three commits each carry a ConfigMap value and a SOPS-encrypted Secret; rolling back to the first must put
the first commit's values live (the Secret decrypted again from that commit's file), stay there while new
commits arrive, and follow the branch again only after `lockstep resume`.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pyrage

from core_sync.testing import ControlPlane, GitServer
from core_sync.testing.oracles import sops_encrypt
from tests.core_sync.conftest import Apps, Operator, configmap, run_cli, wait_for


def _files(value: str, password: str, recipient: str, tmp_path: Path) -> dict[str, str]:
    plain = tmp_path / f"secret-{value}.yaml"
    plain.write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {password}\n"
    )
    return {"deploy/cm.yaml": configmap("web", value), "deploy/db.enc.yaml": sops_encrypt(plain, recipient)}


def _live(control_plane: ControlPlane, ns: str) -> tuple[str, str]:
    client = control_plane.client
    cm = client.get(f"/api/v1/namespaces/{ns}/configmaps/web")["data"]["value"]
    secret = client.get(f"/api/v1/namespaces/{ns}/secrets/db")["data"]["password"]
    return cm, base64.b64decode(secret).decode()


def test_rollback_to_the_first_of_three_commits_then_resume(
    operator: Operator,
    apps: Apps,
    git_server: GitServer,
    control_plane: ControlPlane,
    age_identity: pyrage.x25519.Identity,
    tmp_path: Path,
) -> None:
    ns, env = apps.namespace, control_plane.env()
    recipient = str(age_identity.to_public())
    url = git_server.create_repo("rollback", _files("one", "pw-first-3f9a", recipient, tmp_path))
    apps.create("web", url, interval="1s", decryption={"sops": {"secretRef": {"name": "sops-age"}}})
    first = apps.wait_ready("web", timeout=60)["status"]["lastAppliedRevision"]
    second = git_server.commit("rollback", _files("two", "pw-second-77c1", recipient, tmp_path))
    apps.wait_ready("web", revision=second, timeout=60)
    third = git_server.commit("rollback", _files("three", "pw-third-0b2e", recipient, tmp_path))
    app = apps.wait_ready("web", revision=third, timeout=60)
    assert _live(control_plane, ns) == ("three", "pw-third-0b2e")
    history = app["status"]["history"]
    assert [(e["id"], e["revision"]) for e in history] == [(1, first), (2, second), (3, third)]
    assert all(e["deployedAt"] for e in history)

    # a revision that is not in the history: a clear error, nothing written
    version = apps.get("web")["metadata"]["resourceVersion"]
    bad = run_cli("rollback", f"{ns}/web", "deadbeef", env=env)
    assert bad.returncode == 2, bad
    assert "not in the deployment history" in bad.stderr and "Traceback" not in bad.stderr
    assert f"Application {ns}/web" in bad.stderr and "nothing was changed" in bad.stderr
    assert apps.get("web")["metadata"]["resourceVersion"] == version
    assert "rollback" not in apps.get("web")["spec"]

    done = run_cli("rollback", f"{ns}/web", first[:10], "--wait", "--timeout", "60s", env=env)
    assert done.returncode == 0, done.stderr
    assert first[:12] in done.stdout and f"lockstep resume {ns}/web" in done.stdout
    assert _live(control_plane, ns) == ("one", "pw-first-3f9a")
    app = apps.get("web")
    assert app["spec"]["rollback"] == {"revision": first, "historyId": 1}
    assert app["status"]["lastAppliedRevision"] == first
    assert [e["revision"] for e in app["status"]["history"]] == [first, second, third, first]
    assert "rolled back" in apps.condition("web")["message"]  # type: ignore[index]
    assert any(f"{first[:12]} (rollback)" in e["message"] for e in apps.events("Synced"))
    managers = {m["manager"] for m in app["metadata"]["managedFields"]}
    assert "lockstep-rollback" in managers  # the pin has its own field manager
    for secret in ("pw-first-3f9a", "pw-second-77c1", "pw-third-0b2e"):
        assert secret not in str(app)  # history and status hold revisions only

    # automatic sync stays suspended: a new commit is not applied, though reconciles go on
    fourth = git_server.commit("rollback", _files("four", "pw-fourth-a1d0", recipient, tmp_path))
    synced_at = app["status"]["lastSyncTime"]
    time.sleep(1.1)  # lastSyncTime has one-second resolution
    wait_for(
        lambda: apps.get("web")["status"]["lastSyncTime"] != synced_at, 30, "a reconcile after the new commit"
    )
    assert apps.get("web")["status"]["lastAppliedRevision"] == first
    assert _live(control_plane, ns) == ("one", "pw-first-3f9a")

    resumed = run_cli("resume", f"{ns}/web", env=env)
    assert resumed.returncode == 0, resumed.stderr
    app = apps.wait_ready("web", revision=fourth, timeout=60)
    assert "rollback" not in app["spec"]
    assert _live(control_plane, ns) == ("four", "pw-fourth-a1d0")
    assert "rolled back" not in apps.condition("web")["message"]  # type: ignore[index]


def test_rollback_refuses_without_history_or_application(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns, env = apps.namespace, control_plane.env()
    missing = run_cli("rollback", f"{ns}/nothing-here", env=env)
    assert missing.returncode == 2 and f"Application {ns}/nothing-here not found" in missing.stderr
    url = git_server.create_repo("single", {"deploy/cm.yaml": configmap("only", "1")})
    apps.create("single", url, interval="1h")
    apps.wait_ready("single")
    only = run_cli("rollback", f"{ns}/single", env=env)
    assert only.returncode == 2 and "no previous revision" in only.stderr, only.stderr
    assert "rollback" not in apps.get("single")["spec"]
    apps.patch_spec("single", {"suspend": True})
    suspended = run_cli("rollback", f"{ns}/single", "1", env=env)
    assert suspended.returncode == 2 and "is suspended" in suspended.stderr
