"""kill -9 the operator in the middle of applying a revision: after a restart it converges with nothing
lost and nothing duplicated. Its own module: no other operator may run beside this one."""

from __future__ import annotations

import signal
from pathlib import Path

from core_sync.testing import ControlPlane, GitServer
from tests.core_sync.conftest import Apps, Operator, configmap, wait_for

COUNT = 600


def _managed(control_plane: ControlPlane, ns: str) -> list[dict]:  # type: ignore[type-arg]
    listing = control_plane.client.get(
        f"/api/v1/namespaces/{ns}/configmaps", labelSelector="app.kubernetes.io/managed-by=lockstep"
    )
    return list(listing["items"])


def test_kill_9_mid_sync_then_restart_converges(
    apps: Apps, git_server: GitServer, control_plane: ControlPlane, tmp_path: Path
) -> None:
    ns = apps.namespace
    files = {f"deploy/cm-{i:04d}.yaml": configmap(f"cm-{i:04d}", str(i)) for i in range(COUNT)}
    url = git_server.create_repo("big", files)
    first = Operator(
        control_plane, tmp_path / "one", namespaces=(ns,), env={"LOCKSTEP_KUBE_CONCURRENCY": "1"}
    )
    (tmp_path / "one").mkdir()
    first.start()
    try:
        apps.create("big", url, interval="1h")
        seen = wait_for(
            lambda: len(_managed(control_plane, ns)) >= 20, 60, "the apply to start", interval=0.02
        )
        first.kill(signal.SIGKILL)
    finally:
        first.kill(signal.SIGKILL)
    partial = len(_managed(control_plane, ns))
    assert seen and 0 < partial < COUNT, f"not interrupted mid-apply: {partial} of {COUNT} applied"
    assert not (apps.get("big").get("status") or {}).get("lastAppliedRevision")

    second = Operator(control_plane, tmp_path / "two", namespaces=(ns,))
    (tmp_path / "two").mkdir()
    second.start()
    try:
        app = apps.wait_ready("big", timeout=120)
    finally:
        second.kill(signal.SIGTERM)
    objects = _managed(control_plane, ns)
    names = [o["metadata"]["name"] for o in objects]
    assert sorted(names) == sorted(f"cm-{i:04d}" for i in range(COUNT))  # nothing lost, nothing twice
    assert len(app["status"]["inventory"]["entries"]) == COUNT
    assert all(
        o["data"] == {"value": o["metadata"]["name"].removeprefix("cm-").lstrip("0") or "0"} for o in objects
    )
    assert all([m["manager"] for m in o["metadata"]["managedFields"]] == ["lockstep"] for o in objects)
