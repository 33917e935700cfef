"""The ApplicationSet controller on a fleet: the guide's clusters-generator set over three control planes.

The session control plane is the hub (operator, ApplicationSet, cluster Secrets) and one of the clusters;
two more control planes are started here. A real ``lockstep operator`` runs the ApplicationSet and
Application controllers; the Applications it generates deploy a ConfigMap from a real git daemon to each
selected cluster.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core_sync.kube import ApiError, KubeClient
from core_sync.testing import ControlPlane
from tests.core_sync.conftest import Operator, configmap, live, wait_for

pytestmark = pytest.mark.integration
API = "/apis/lockstep.dev/v1alpha1"


@pytest.fixture(scope="module")
def remotes() -> Iterator[list[ControlPlane]]:
    planes = [ControlPlane(), ControlPlane()]
    try:
        for plane in planes:
            plane.start()
        yield planes
    finally:
        for plane in planes:
            plane.stop()


@pytest.fixture(scope="module")
def fleet_operator(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Operator]:
    running = Operator(
        control_plane,
        tmp_path_factory.mktemp("fleet"),
        args=("--controllers", "application,applicationset"),
    )
    running.start()
    yield running
    running.kill()
    print(running.log_path.read_text()[-3000:])


def register(client: KubeClient, namespace: str, name: str, plane: ControlPlane, env: str) -> None:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{name}-cluster", "labels": {"lockstep.dev/cluster": "true", "env": env}},
        "data": {
            "name": b64(name.encode()),
            "server": b64(plane.server.encode()),
            "value": b64(plane.kubeconfig.read_bytes()),
        },
    }
    client.create(f"/api/v1/namespaces/{namespace}/secrets", secret)


def app_names(client: KubeClient, namespace: str) -> list[str]:
    items = client.get(f"{API}/namespaces/{namespace}/applications")["items"]
    return sorted(a["metadata"]["name"] for a in items)


def ready(client: KubeClient, namespace: str, name: str) -> bool:
    try:
        app = client.get(f"{API}/namespaces/{namespace}/applications/{name}")
    except ApiError:
        return False
    conditions = (app.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_clusters_generator_over_three_control_planes(
    fleet_operator: Operator,
    remotes: list[ControlPlane],
    control_plane: ControlPlane,
    namespace: str,
    git_server: Any,
    lockstep_storage: None,
    tmp_path: Path,
) -> None:
    hub = control_plane.client
    url = git_server.create_repo("fleet", {"deploy/cm.yaml": configmap("fleet-config", "v1")})
    east, west = remotes
    register(hub, namespace, "east", east, "production")
    register(hub, namespace, "west", west, "production")
    register(hub, namespace, "lab", control_plane, "staging")
    appset = {
        "apiVersion": "lockstep.dev/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "my-app-set"},
        "spec": {
            "generators": [{"clusters": {"selector": {"matchLabels": {"env": "production"}}}}],
            "template": {
                "metadata": {"name": "my-app-{{name}}", "labels": {"cluster": "{{name}}"}},
                "spec": {
                    "source": {"repoURL": url, "targetRevision": "main", "path": "deploy"},
                    "destination": {
                        "namespace": "production",
                        "kubeconfigSecretRef": {"name": "{{secretName}}"},
                    },
                    "syncOptions": ["CreateNamespace=true"],
                    "interval": "1h",
                },
            },
        },
    }
    hub.create(f"{API}/namespaces/{namespace}/applicationsets", appset)
    try:
        wait_for(lambda: app_names(hub, namespace) == ["my-app-east", "my-app-west"], 30, "two Applications")
        owner = hub.get(f"{API}/namespaces/{namespace}/applications/my-app-east")["metadata"][
            "ownerReferences"
        ]
        assert owner[0]["kind"] == "ApplicationSet" and owner[0]["name"] == "my-app-set"
        for name, plane in (("my-app-east", east), ("my-app-west", west)):
            wait_for(lambda name=name: ready(hub, namespace, name), 60, f"{name} Ready")
            made = live(plane.client, "/api/v1/namespaces/production/configmaps/fleet-config")
            assert made is not None and made["data"] == {"value": "v1"}

        # a newly registered production cluster gets its Application within seconds (watch, not poll)
        began = time.monotonic()
        register(hub, namespace, "hub", control_plane, "production")
        wait_for(lambda: "my-app-hub" in app_names(hub, namespace), 10, "Application for the new cluster")
        print(f"new cluster -> Application: {time.monotonic() - began:.2f} s")
        wait_for(lambda: ready(hub, namespace, "my-app-hub"), 60, "my-app-hub Ready")
        assert live(hub, "/api/v1/namespaces/production/configmaps/fleet-config") is not None

        # a parameter change updates the generated Applications
        hub.merge_patch(
            f"{API}/namespaces/{namespace}/applicationsets/my-app-set",
            {"spec": {"template": {"metadata": {"labels": {"cluster": "c-{{name}}"}}}}},
        )

        def relabelled() -> bool:
            app = hub.get(f"{API}/namespaces/{namespace}/applications/my-app-west")
            return bool(app["metadata"]["labels"].get("cluster") == "c-west")

        wait_for(relabelled, 15, "template change applied")

        # an element that disappears deletes its Application (policy sync)
        hub.delete(f"/api/v1/namespaces/{namespace}/secrets/west-cluster")
        wait_for(lambda: "my-app-west" not in app_names(hub, namespace), 30, "my-app-west deleted")
        status = hub.get(f"{API}/namespaces/{namespace}/applicationsets/my-app-set")["status"]
        assert status["conditions"][0]["status"] == "True"
        assert status["applications"] == ["my-app-east", "my-app-hub"]
    finally:
        for name in app_names(hub, namespace):
            path = f"{API}/namespaces/{namespace}/applications/{name}"
            hub.merge_patch(path, {"metadata": {"finalizers": None}})
            hub.delete(path)
        hub.delete(f"{API}/namespaces/{namespace}/applicationsets/my-app-set")


def test_bad_template_is_reported_and_changes_nothing(
    fleet_operator: Operator, control_plane: ControlPlane, namespace: str, lockstep_storage: None
) -> None:
    hub = control_plane.client
    appset = {
        "apiVersion": "lockstep.dev/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "broken"},
        "spec": {
            "generators": [{"list": {"elements": [{"team": "a"}]}}],
            "template": {
                "metadata": {"name": "app-{{region}}"},
                "spec": {"source": {"repoURL": "git://127.0.0.1:1/x.git"}},
            },
        },
    }
    hub.create(f"{API}/namespaces/{namespace}/applicationsets", appset)

    def failed() -> dict[str, Any] | None:
        status = hub.get(f"{API}/namespaces/{namespace}/applicationsets/broken").get("status") or {}
        conditions = status.get("conditions") or []
        return conditions[0] if conditions and conditions[0]["status"] == "False" else None

    condition = wait_for(failed, 15, "Ready=False")
    assert "{{region}} is not a parameter" in condition["message"]
    assert app_names(hub, namespace) == []
