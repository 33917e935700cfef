"""Fault tests: the control plane fails while the real operator is applying a revision, or a secret
provider is down while the engine renders; then it comes back. Each converges with nothing lost and
nothing duplicated, and the last good Secret is kept byte for byte while the provider is away.

This module runs its own control plane (overriding the session one), so stopping kube-apiserver or etcd
never disturbs other tests. The other faults have their own tests: the operator killed mid-sync
(tests/core_sync/test_crash.py), the git server down (test_application.py::
test_git_server_down_keeps_state_and_recovers), OpenBao and moto down
(tests/external/test_controller.py::test_provider_down_keeps_secret_and_recovers,
test_moto_down_keeps_secret_and_recovers).
"""

from __future__ import annotations

import base64
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from core_sync.reconciler import UNREACHABLE
from core_sync.testing import ControlPlane, GitServer, OpenBao
from tests.core_sync.conftest import Apps, Operator, configmap, wait_for
from tests.external.es_helpers import kv_put, make_secret, password_external_secret, vault_store_object

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
COUNT = 150


@pytest.fixture(scope="module")
def control_plane() -> Iterator[ControlPlane]:
    """A private control plane for this module: its components are stopped and started by the tests."""
    with ControlPlane(audit=True) as plane:
        plane.install_crds(REPO / "crds")
        yield plane


def _managed(control_plane: ControlPlane, ns: str) -> list[dict[str, Any]]:
    listing = control_plane.client.get(
        f"/api/v1/namespaces/{ns}/configmaps", labelSelector="app.kubernetes.io/managed-by=lockstep"
    )
    return list(listing["items"])


def _interrupt_apply(
    apps: Apps,
    git_server: GitServer,
    control_plane: ControlPlane,
    tmp_path: Path,
    stop: Callable[[], None],
    start: Callable[[], None],
    down_for: float = 3.0,
) -> str:
    """Start a slow apply, stop a component mid-apply for ``down_for`` seconds, start it, then check
    that the Application converges to exactly the revision's objects; returns the operator's log."""
    ns = apps.namespace
    files = {f"deploy/cm-{i:03d}.yaml": configmap(f"cm-{i:03d}", str(i)) for i in range(COUNT)}
    url = git_server.create_repo("faults", files)
    (tmp_path / "op").mkdir()
    operator = Operator(control_plane, tmp_path / "op", env={"LOCKSTEP_KUBE_CONCURRENCY": "1"})
    operator.start()
    try:
        apps.create("faulty", url, interval="1h")
        wait_for(lambda: len(_managed(control_plane, ns)) >= 10, 60, "the apply to start", interval=0.02)
        applied_before = len(_managed(control_plane, ns))
        stop()
        try:
            time.sleep(down_for)
            assert operator.process is not None and operator.process.poll() is None, "operator died"
        finally:
            start()
        app = apps.wait_ready("faulty", timeout=60)
        assert operator.process is not None and operator.process.poll() is None, "operator died"
    finally:
        operator.kill(signal.SIGTERM)
    assert applied_before < COUNT, "the component was not stopped mid-apply"
    objects = _managed(control_plane, ns)
    names = sorted(o["metadata"]["name"] for o in objects)
    assert names == [f"cm-{i:03d}" for i in range(COUNT)]  # nothing lost, nothing twice
    assert all(o["data"] == {"value": str(int(o["metadata"]["name"][3:]))} for o in objects)
    assert len(app["status"]["inventory"]["entries"]) == COUNT
    log = operator.log_path.read_text()
    assert "Traceback" not in log, log[-3000:]
    return log


def test_apiserver_restarted_mid_apply_converges(
    apps: Apps, git_server: GitServer, control_plane: ControlPlane, tmp_path: Path
) -> None:
    plane = control_plane
    log = _interrupt_apply(apps, git_server, plane, tmp_path, plane.stop_apiserver, plane.start_apiserver)
    assert UNREACHABLE in log, "the outage did not interrupt the reconcile"  # it failed, then retried


def test_apiserver_down_longer_than_kopfs_retries_is_waited_out(
    apps: Apps, git_server: GitServer, control_plane: ControlPlane, tmp_path: Path
) -> None:
    """kopf alone gives up after 8 retries (54 s) and the operator exits with tracebacks; an API server
    down for longer (an upgrade, a partition) must be waited out and the sync resumed."""
    plane = control_plane
    log = _interrupt_apply(
        apps, git_server, plane, tmp_path, plane.stop_apiserver, plane.start_apiserver, down_for=62.0
    )
    assert "escalating" not in log and "Request attempt #9 failed; will retry" in log


def test_etcd_restarted_mid_apply_converges(
    apps: Apps, git_server: GitServer, control_plane: ControlPlane, tmp_path: Path
) -> None:
    # the API server holds requests while etcd is away: the apply stalls, then resumes
    plane = control_plane
    _interrupt_apply(apps, git_server, plane, tmp_path, plane.stop_etcd, plane.start_etcd)


def test_provider_down_during_render_keeps_the_last_good_secret(
    apps: Apps, git_server: GitServer, control_plane: ControlPlane, openbao: OpenBao, tmp_path: Path
) -> None:
    """ExternalSecrets rendered by the engine (``mode: render``): OpenBao down → the revision is not
    applied, the Secret stays byte for byte, nothing else moves; OpenBao back → it converges."""
    ns, client = apps.namespace, control_plane.client
    kv_put(openbao, f"{ns}/db", {"password": "first"})
    make_secret(client, ns, "vault-token", {"token": openbao.token})
    url = git_server.create_repo(
        "render",
        {
            "deploy/store.yaml": yaml.safe_dump(vault_store_object(openbao)),
            "deploy/es.yaml": yaml.safe_dump(password_external_secret("db-creds", f"{ns}/db")),
            "deploy/cm.yaml": configmap("plain", "1"),
        },
    )
    secret_path = f"/api/v1/namespaces/{ns}/secrets/db-creds"
    (tmp_path / "op").mkdir()
    operator = Operator(control_plane, tmp_path / "op")
    operator.start()
    try:
        apps.create("render", url, interval="1s", decryption={"external": {"mode": "render"}})
        apps.wait_ready("render", timeout=30)
        good = client.get(secret_path)
        assert base64.b64decode(good["data"]["password"]) == b"first"
        openbao.stop()
        try:
            sha = git_server.commit("render", {"deploy/cm.yaml": configmap("plain", "2")})
            cond = wait_for(
                lambda: (c := apps.condition("render")) and c["status"] == "False" and c,
                30,
                "the render to fail while OpenBao is down",
            )
            assert cond["reason"] == "RenderFailed" and "ExternalSecret" in cond["message"]
            time.sleep(2)  # several failed reconciles
            kept = client.get(secret_path)
            assert kept["data"] == good["data"]
            assert kept["metadata"]["resourceVersion"] == good["metadata"]["resourceVersion"]
            plain = client.get(f"/api/v1/namespaces/{ns}/configmaps/plain")
            assert plain["data"] == {"value": "1"}  # nothing of the new revision applied
        finally:
            openbao.start()
        kv_put(openbao, f"{ns}/db", {"password": "second"})  # the dev server forgot everything
        apps.wait_ready("render", revision=sha, timeout=30)
    finally:
        operator.kill(signal.SIGTERM)
    assert base64.b64decode(client.get(secret_path)["data"]["password"]) == b"second"
    assert client.get(f"/api/v1/namespaces/{ns}/configmaps/plain")["data"] == {"value": "2"}
