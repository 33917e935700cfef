"""The test control plane is a real kube-apiserver + etcd: SSA, watches, CRDs, kubectl, cleanup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from core_sync.kube import ApiError
from core_sync.testing import BinaryNotFound, ControlPlane, binaries
from core_sync.testing.control_plane import _load_documents

ROOT = Path(__file__).resolve().parents[2]


def test_version_is_the_pinned_release(control_plane: ControlPlane) -> None:
    version = control_plane.client.get("/version")
    assert version["gitVersion"] == binaries.pinned_versions()["KUBERNETES_VERSION"]
    assert version["minor"] == "36"


def test_server_side_apply_and_watch(control_plane: ControlPlane, namespace: str) -> None:
    client = control_plane.client
    path = f"/api/v1/namespaces/{namespace}/configmaps/demo"
    events: list[tuple[str, str]] = []
    listening = threading.Event()

    def watch() -> None:
        listening.set()
        for event in client.watch(f"/api/v1/namespaces/{namespace}/configmaps", timeout_seconds=10):
            if event["type"] == "BOOKMARK":
                continue
            events.append((event["type"], event["object"]["data"]["colour"]))
            if len(events) == 2:
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    listening.wait()
    time.sleep(0.3)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "demo"}, "data": {"colour": "blue"}}
    applied = client.apply(path, body, field_manager="lockstep-test")
    assert applied["data"] == {"colour": "blue"}
    managers = {m["manager"]: m["operation"] for m in applied["metadata"]["managedFields"]}
    assert managers == {"lockstep-test": "Apply"}
    client.apply(path, {**body, "data": {"colour": "green"}}, field_manager="lockstep-test")
    watcher.join(15)
    assert events == [("ADDED", "blue"), ("MODIFIED", "green")]


def test_dry_run_apply_writes_nothing(control_plane: ControlPlane, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps/ghost"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ghost"}, "data": {"a": "1"}}
    control_plane.client.apply(path, body, field_manager="lockstep-test", dry_run=True)
    with pytest.raises(ApiError) as missing:
        control_plane.client.get(path)
    assert missing.value.not_found


def test_project_crds_are_established_and_custom_objects_round_trip(
    control_plane: ControlPlane, namespace: str
) -> None:
    names = control_plane.install_crds(ROOT / "crds")  # idempotent: the session already installed them
    assert "applications.lockstep.dev" in names
    app = {
        "apiVersion": "lockstep.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "guestbook", "namespace": namespace},
        "spec": {"source": {"repoURL": "git://127.0.0.1/none.git", "path": "deploy"}, "prune": True},
    }
    base = f"/apis/lockstep.dev/v1alpha1/namespaces/{namespace}/applications"
    control_plane.client.create(base, app)
    stored = control_plane.client.get(f"{base}/guestbook")
    assert stored["spec"] == app["spec"]
    with pytest.raises(ApiError) as invalid:
        control_plane.client.create(base, {**app, "metadata": {"name": "bad"}, "spec": {"source": {}}})
    assert invalid.value.status == 422
    assert "repoURL" in invalid.value.message


def test_kubectl_from_the_wheel_talks_to_it(control_plane: ControlPlane, namespace: str) -> None:
    out = subprocess.run(
        [str(binaries.kubectl()), "get", "namespace", namespace, "-o", "json"],
        env=control_plane.env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout)["metadata"]["name"] == namespace


def test_the_official_client_reads_the_kubeconfig(control_plane: ControlPlane, namespace: str) -> None:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(str(control_plane.kubeconfig)))
    assert api.read_namespace(namespace).metadata.name == namespace


def test_missing_binary_names_the_build_script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCKSTEP_CACHE", str(tmp_path))
    with pytest.raises(BinaryNotFound, match="scripts/build-control-plane"):
        ControlPlane().start()


def test_crd_loader_reads_every_document(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("kind: A\n---\nkind: B\n---\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.json").write_text('{"kind": "C"}')
    assert [d["kind"] for d in _load_documents(tmp_path)] == ["A", "B", "C"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_killed_harness_leaves_no_processes_behind(tmp_path: Path) -> None:
    """SIGKILL the Python process that owns a control plane: etcd and kube-apiserver must die with it."""
    script = textwrap.dedent(
        """
        import sys, time
        from core_sync.testing import ControlPlane
        cp = ControlPlane()
        cp.start()
        print(cp.etcd.pid, cp.apiserver.pid, flush=True)
        time.sleep(120)
        """
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    line = owner.stdout.readline()
    pids = [int(p) for p in line.split()]
    assert len(pids) == 2 and all(_alive(p) for p in pids), line
    owner.send_signal(signal.SIGKILL)
    owner.wait(10)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), f"leaked processes: {pids}"
