"""More of the Application contract: health and wait, dependsOn, suspend, webhooks, CRDs with their
custom resources in one revision, CreateNamespace, and a remote cluster through a kubeconfig Secret."""

from __future__ import annotations

import base64
import json

from core_sync.testing import ControlPlane, GitServer
from tests.core_sync.conftest import Apps, Operator, configmap, live, wait_for

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27}]
"""

CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.demo.lockstep.dev
spec:
  group: demo.lockstep.dev
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, properties: {size: {type: integer}}}
"""
WIDGET = "apiVersion: demo.lockstep.dev/v1\nkind: Widget\nmetadata:\n  name: small\nspec:\n  size: 3\n"


def _roll_out(control_plane: ControlPlane, ns: str, name: str) -> None:
    """Write the status a Deployment controller would after a finished rollout (no controllers run here)."""
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/{name}"
    generation = control_plane.client.get(path)["metadata"]["generation"]
    status = {
        "observedGeneration": generation,
        "replicas": 1,
        "updatedReplicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "conditions": [
            {"type": "Available", "status": "True"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    }
    control_plane.client.merge_patch(path + "/status", {"status": status})


def test_wait_gates_ready_on_health(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    url = git_server.create_repo("health", {"deploy/web.yaml": DEPLOYMENT})
    apps.create("health", url, interval="1s", wait=True, timeout="2s")
    cond = apps.wait_failed("health", timeout=20)
    assert cond["reason"] == "HealthCheckFailed" and f"Deployment.apps/{ns}/web" in cond["message"]
    _roll_out(control_plane, ns, "web")
    app = apps.wait_ready("health", timeout=30)
    web = next(r for r in app["status"]["resources"] if r["name"] == "web")
    assert web["health"] == "Current"


def test_depends_on_waits_for_the_dependency(operator: Operator, apps: Apps, git_server: GitServer) -> None:
    base = git_server.create_repo("base", {"deploy/a.yaml": configmap("base", "1")})
    top = git_server.create_repo("top", {"deploy/a.yaml": configmap("top", "1")})
    apps.create("top", top, interval="1s", dependsOn=[{"name": "base"}])
    cond = apps.wait_failed("top")
    assert cond["reason"] == "DependencyNotReady"
    apps.create("base", base, interval="1s")
    apps.wait_ready("base")
    apps.wait_ready("top", timeout=40)


def test_suspend_holds_new_revisions(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    url = git_server.create_repo("susp", {"deploy/a.yaml": configmap("a", "1")})
    apps.create("susp", url, interval="1s")
    first = apps.wait_ready("susp")["status"]["lastAppliedRevision"]
    apps.patch_spec("susp", {"suspend": True})
    sha = git_server.commit("susp", {"deploy/a.yaml": configmap("a", "2")})
    wait_for(lambda: apps.get("susp")["metadata"]["generation"] == 2, 5, "suspend recorded")
    import time

    time.sleep(3)
    assert apps.get("susp")["status"]["lastAppliedRevision"] == first
    assert control_plane.client.get(f"/api/v1/namespaces/{ns}/configmaps/a")["data"] == {"value": "1"}
    apps.patch_spec("susp", {"suspend": False})
    apps.wait_ready("susp", revision=sha)


def test_push_webhook_triggers_a_reconcile(operator: Operator, apps: Apps, git_server: GitServer) -> None:
    url = git_server.create_repo("hook", {"deploy/a.yaml": configmap("a", "1")})
    app = apps.create("hook", url, interval="1h")
    apps.client.merge_patch(
        f"{apps.base}/hook", {"metadata": {"annotations": {"lockstep.dev/hook-token": "s3cr3t-hook"}}}
    )
    apps.wait_ready("hook")
    sha = git_server.commit("hook", {"deploy/a.yaml": configmap("a", "2")})
    answer = wait_for(
        lambda: json.loads(operator.post_hook("s3cr3t-hook"))["triggered"], 10, "hook registered"
    )
    assert answer == 1
    apps.wait_ready("hook", revision=sha, timeout=10)
    assert app["metadata"]["name"] == "hook"


def test_crd_and_its_custom_resources_in_one_revision(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    url = git_server.create_repo("crd", {"deploy/widget.yaml": WIDGET, "deploy/z-crd.yaml": CRD})
    apps.create("crd", url, interval="1h")
    apps.wait_ready("crd")
    widget = control_plane.client.get(f"/apis/demo.lockstep.dev/v1/namespaces/{ns}/widgets/small")
    assert widget["spec"] == {"size": 3}


def test_sync_waves_order_the_apply(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    files = {
        "deploy/late.yaml": configmap("late", "1", **{"lockstep.dev/sync-wave": "2"}),
        "deploy/early.yaml": configmap("early", "1", **{"argocd.argoproj.io/sync-wave": "-1"}),
        "deploy/middle.yaml": configmap("middle", "1"),
    }
    url = git_server.create_repo("waves", files)
    apps.create("waves", url, interval="1h")
    apps.wait_ready("waves")
    versions = {
        n: int(
            control_plane.client.get(f"/api/v1/namespaces/{ns}/configmaps/{n}")["metadata"]["resourceVersion"]
        )
        for n in ("early", "middle", "late")
    }
    assert versions["early"] < versions["middle"] < versions["late"]


def test_create_namespace_and_remote_cluster_kubeconfig(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    target = f"{apps.namespace}-dest"
    kubeconfig = control_plane.kubeconfig.read_bytes()
    control_plane.client.create(
        f"/api/v1/namespaces/{apps.namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "remote"},
            "data": {"value": base64.b64encode(kubeconfig).decode()},
        },
    )
    url = git_server.create_repo("remote", {"deploy/a.yaml": configmap("a", "remote")})
    apps.create(
        "remote",
        url,
        interval="1h",
        syncOptions=["CreateNamespace=true"],
        destination={"namespace": target, "kubeconfigSecretRef": {"name": "remote"}},
    )
    apps.wait_ready("remote")
    made = live(control_plane.client, f"/api/v1/namespaces/{target}/configmaps/a")
    assert made is not None and made["data"] == {"value": "remote"}


def test_namespace_and_its_objects_in_one_revision(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    target = f"{apps.namespace}-made"
    namespace = f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {target}\n"
    inside = configmap("inside", "1").replace("metadata:\n", f"metadata:\n  namespace: {target}\n", 1)
    url = git_server.create_repo("nsmade", {"deploy/a-cm.yaml": inside, "deploy/z-ns.yaml": namespace})
    apps.create("nsmade", url, interval="1h")
    apps.wait_ready("nsmade")
    made = live(control_plane.client, f"/api/v1/namespaces/{target}/configmaps/inside")
    assert made is not None and made["data"] == {"value": "1"}


def test_prune_last_waits_for_health_before_pruning(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    url = git_server.create_repo("plast", {"deploy/old.yaml": configmap("old", "1")})
    apps.create("plast", url, interval="1s", timeout="2s", syncOptions=["PruneLast=true"])
    apps.wait_ready("plast")
    git_server.commit("plast", {"deploy/web.yaml": DEPLOYMENT}, remove=("deploy/old.yaml",))
    cond = apps.wait_failed("plast", timeout=20)
    assert cond["reason"] == "HealthCheckFailed"
    assert live(control_plane.client, f"/api/v1/namespaces/{ns}/configmaps/old") is not None  # not pruned yet
    ids = [e["id"] for e in apps.get("plast")["status"]["inventory"]["entries"]]
    assert f"{ns}_old__ConfigMap" in ids and f"{ns}_web_apps_Deployment" in ids
    _roll_out(control_plane, ns, "web")
    apps.wait_ready("plast", timeout=30)
    assert live(control_plane.client, f"/api/v1/namespaces/{ns}/configmaps/old") is None
