"""deploy/: the kustomize base and the Helm chart are accepted by a real API server, render the same objects,
and the operator running with the installed ServiceAccount's own token syncs Applications (as the
ServiceAccount it impersonates) while being refused what it does not need."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import yaml

from core_sync.kube import ApiError, KubeClient, KubeConfig
from core_sync.testing import ControlPlane, GitServer, binaries
from tests.core_sync.conftest import Apps, Operator, configmap, live, wait_for

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "chart"
NS = "lockstep-system"
Obj = dict[str, Any]


def _run(args: list[str], control_plane: ControlPlane | None = None, stdin: str | None = None) -> str:
    result = subprocess.run(
        args,
        env=control_plane.env() if control_plane else None,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{' '.join(args)}: {result.stderr}"
    return result.stdout


def _kustomize() -> str:
    return _run([str(binaries.kubectl()), "kustomize", str(DEPLOY)])


def _helm_template(*sets: str) -> str:
    flags = [arg for s in sets for arg in ("--set", s)]
    return _run([str(binaries.helm()), "template", "lockstep", str(CHART), "--include-crds", *flags])


def _objects(text: str) -> dict[tuple[str, str, str], Obj]:
    objects: dict[tuple[str, str, str], Obj] = {}
    for doc in yaml.safe_load_all(text):
        if doc:
            meta = doc["metadata"]
            objects[(doc["kind"], meta.get("namespace", ""), meta["name"])] = doc
    return objects


def _kinds(objects: dict[tuple[str, str, str], Obj]) -> set[str]:
    return {kind for kind, _, _ in objects}


# -- rendering -------------------------------------------------------------------------------------------
def test_helm_binary_is_the_pinned_version() -> None:
    out = _run([str(binaries.helm()), "version", "--short"])
    assert out.strip() == binaries.pinned_versions()["HELM_VERSION"]


def test_kustomize_and_helm_render_the_same_objects() -> None:
    kustomized, templated = _objects(_kustomize()), _objects(_helm_template())
    assert sorted(kustomized) == sorted(templated)
    for key, obj in kustomized.items():
        assert templated[key] == obj, f"{key} differs between deploy/ and deploy/chart"
    assert _kinds(kustomized) >= {
        "Namespace",
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
    }
    crds = {name for kind, _, name in kustomized if kind == "CustomResourceDefinition"}
    shipped = _objects("---\n".join(p.read_text() for p in sorted((ROOT / "crds").glob("*.yaml"))))
    assert crds == {name for _, _, name in shipped}


def test_deployment_is_hardened_and_probed() -> None:
    deployment = _objects(_kustomize())[("Deployment", NS, "lockstep-operator")]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "lockstep"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert "--default-service-account=lockstep-apply" in container["args"]


def test_services_expose_the_certificate_endpoint_and_scrapeable_metrics() -> None:
    objects = _objects(_kustomize())
    sealed = objects[("Service", NS, "lockstep-sealed-secrets")]
    metrics = objects[("Service", NS, "lockstep-metrics")]
    assert [p["port"] for p in sealed["spec"]["ports"]] == [8080]
    assert metrics["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert metrics["metadata"]["annotations"]["prometheus.io/port"] == "8080"


def test_operator_role_has_no_wildcard_write() -> None:
    role = _objects(_kustomize())[("ClusterRole", "", "lockstep-operator")]
    for rule in role["rules"]:
        if "*" in rule.get("resources", []) or "*" in rule.get("apiGroups", []):
            assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
    assert {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]} in role["rules"]


def test_chart_values_switch_the_service_monitor_and_the_default_service_account() -> None:
    monitored = _objects(_helm_template("metrics.serviceMonitor.enabled=true"))
    monitor = monitored[("ServiceMonitor", NS, "lockstep")]
    assert monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "metrics"
    strict = _objects(_helm_template("defaultServiceAccount.name="))
    assert ("ServiceAccount", NS, "lockstep-apply") not in strict
    assert ("ClusterRole", "", "lockstep-apply") not in strict
    args = strict[("Deployment", NS, "lockstep-operator")]["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]
    assert not any(a.startswith("--default-service-account") for a in args)


# -- against the real API server -------------------------------------------------------------------------
@pytest.fixture
def system_namespace(control_plane: ControlPlane) -> ControlPlane:
    """lockstep-system exists: a server-side dry run does not create the Namespace it would apply, so the
    namespaced objects beside it are refused on a cluster where it was never made (kubectl's own limit)."""
    with contextlib.suppress(ApiError):
        control_plane.client.create(
            "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
        )
    return control_plane


def test_kustomize_base_is_accepted_by_server_side_dry_run(system_namespace: ControlPlane) -> None:
    control_plane = system_namespace
    out = _run(
        [str(binaries.kubectl()), "apply", "--server-side", "--dry-run=server", "-k", str(DEPLOY)],
        control_plane,
    )
    assert "deployment.apps/lockstep-operator serverside-applied (server dry run)" in out
    assert "clusterrole.rbac.authorization.k8s.io/lockstep-operator serverside-applied" in out


def test_helm_chart_is_accepted_by_server_side_dry_run(system_namespace: ControlPlane) -> None:
    control_plane = system_namespace
    out = _run(
        [str(binaries.kubectl()), "apply", "--server-side", "--dry-run=server", "-f", "-"],
        control_plane,
        stdin=_helm_template(),
    )
    assert "deployment.apps/lockstep-operator serverside-applied (server dry run)" in out
    assert "customresourcedefinition.apiextensions.k8s.io/applications.lockstep.dev serverside-applied" in out


@pytest.fixture
def installed(control_plane: ControlPlane) -> ControlPlane:
    """deploy/ applied for real (nothing runs the Deployment: there is no kubelet)."""
    _run(
        [
            str(binaries.kubectl()),
            "apply",
            "--server-side",
            "--field-manager=install-test",
            "-k",
            str(DEPLOY),
        ],
        control_plane,
    )
    return control_plane


def _service_account_kubeconfig(control_plane: ControlPlane, path: Path) -> Path:
    """A kubeconfig holding a TokenRequest token of lockstep-system/lockstep: the Deployment's identity."""
    answer = control_plane.client.create(
        f"/api/v1/namespaces/{NS}/serviceaccounts/lockstep/token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600},
        },
    )
    config = yaml.safe_load(control_plane.kubeconfig.read_text())
    config["users"] = [{"name": "lockstep", "user": {"token": answer["status"]["token"]}}]
    for context in config["contexts"]:
        context["context"]["user"] = "lockstep"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


@pytest.fixture
def as_operator(installed: ControlPlane, tmp_path: Path) -> KubeClient:
    return KubeClient(
        KubeConfig.from_file(_service_account_kubeconfig(installed, tmp_path / "sa-kubeconfig"))
    )


def test_operator_identity_is_the_service_account(as_operator: KubeClient) -> None:
    review = as_operator.create(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )
    assert review["status"]["userInfo"]["username"] == f"system:serviceaccount:{NS}:lockstep"


def _forbidden(call: Any) -> None:
    with pytest.raises(ApiError) as raised:
        call()
    assert raised.value.status == 403, raised.value


def test_operator_identity_is_refused_what_it_does_not_need(as_operator: KubeClient, namespace: str) -> None:
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "lockstep-escalation"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "lockstep", "namespace": NS}],
    }
    _forbidden(lambda: as_operator.create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", binding))
    deployment = yaml.safe_load(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: direct}\nspec:\n"
        "  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n"
        "    spec: {containers: [{name: c, image: busybox}]}\n"
    )
    _forbidden(lambda: as_operator.create(f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment))
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "direct"}}
    _forbidden(lambda: as_operator.create(f"/api/v1/namespaces/{namespace}/configmaps", cm))
    _forbidden(lambda: as_operator.delete(f"/api/v1/namespaces/{namespace}"))
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "r"},
        "rules": [],
    }
    _forbidden(
        lambda: as_operator.create(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles", role)
    )
    # what it does need: reading everything, writing Secrets (SealedSecret/ExternalSecret targets)
    assert as_operator.get("/apis/apps/v1/deployments")["kind"] == "DeploymentList"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "target"}, "stringData": {"k": "v"}}
    as_operator.create(f"/api/v1/namespaces/{namespace}/secrets", secret)


@pytest.fixture
def tenant_namespace(control_plane: ControlPlane) -> Iterator[str]:
    name = control_plane.create_namespace("tenant-")
    yield name
    with contextlib.suppress(ApiError):
        control_plane.client.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture
def deployed_operator(installed: ControlPlane, tmp_path: Path, tenant_namespace: str) -> Iterator[Operator]:
    """`lockstep operator` with the Deployment's arguments and only the Deployment's credentials."""
    kubeconfig = _service_account_kubeconfig(installed, tmp_path / "sa-kubeconfig")
    deployment = _objects(_kustomize())[("Deployment", NS, "lockstep-operator")]
    args = [
        a for a in deployment["spec"]["template"]["spec"]["containers"][0]["args"][1:] if "--http" not in a
    ]
    operator = Operator(
        installed,
        tmp_path / "operator",
        env={"KUBECONFIG": str(kubeconfig)},
        args=(
            "--controllers",
            ",".join(["application", *(ep.name for ep in entry_points(group="lockstep.controllers"))]),
            "--namespace",
            NS,
            "--namespace",
            tenant_namespace,
            *args,
            *("--key-size", "2048"),  # a 4096-bit key takes long on a busy 2-core test machine
        ),
    )
    operator.workdir.mkdir()
    operator.start()
    yield operator
    operator.kill(signal.SIGTERM)


def _cert(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url + "/v1/cert.pem", timeout=2) as response:  # noqa: S310 - loopback
            return str(response.read().decode())
    except OSError:
        return None


def test_deployed_operator_syncs_as_the_default_service_account_and_refuses_unbacked_tenants(
    deployed_operator: Operator, git_server: GitServer, control_plane: ControlPlane, tenant_namespace: str
) -> None:
    client = control_plane.client
    admin_apps, tenant_apps = Apps(client, NS), Apps(client, tenant_namespace)
    try:
        workload = configmap("installed", "1")
        url = git_server.create_repo("installed", {"deploy/cm.yaml": workload})
        admin_apps.create("installed", url, interval="1s", destination={"namespace": tenant_namespace})
        admin_apps.wait_ready("installed", timeout=60)
        made = live(client, f"/api/v1/namespaces/{tenant_namespace}/configmaps/installed")
        assert made is not None and made["data"] == {"value": "1"}
        operator_user, applier = (
            f"system:serviceaccount:{NS}:lockstep",
            f"system:serviceaccount:{NS}:lockstep-apply",
        )
        writes = [
            w
            for w in control_plane.write_requests(namespaces=(tenant_namespace,), user=operator_user)
            if w["objectRef"].get("resource") == "configmaps" and w["objectRef"].get("name") == "installed"
        ]
        assert writes and all((w.get("impersonatedUser") or {}).get("username") == applier for w in writes)

        # the SealedSecret controller's key manager works with these rights: it serves a certificate
        cert = wait_for(lambda: _cert(deployed_operator.url), 120, "/v1/cert.pem from the deployed operator")
        assert cert.startswith("-----BEGIN CERTIFICATE-----")

        # an Application elsewhere without a ServiceAccount of its own: <ns>:lockstep-apply does not exist
        url = git_server.create_repo("unbacked", {"deploy/cm.yaml": configmap("unbacked", "1")})
        tenant_apps.create("unbacked", url, interval="1s")
        cond = tenant_apps.wait_failed("unbacked", timeout=60)
        assert f"system:serviceaccount:{tenant_namespace}:lockstep-apply" in cond["message"]
        assert live(client, f"/api/v1/namespaces/{tenant_namespace}/configmaps/unbacked") is None
    finally:
        admin_apps.cleanup()
        tenant_apps.cleanup()


def _may(client: KubeClient, verb: str, resource: str, group: str = "", subresource: str = "") -> bool:
    review = client.create(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {
                    "verb": verb,
                    "group": group,
                    "resource": resource,
                    "subresource": subresource,
                    "namespace": "team-a",
                }
            },
        },
    )
    return bool(review["status"]["allowed"])


def test_operator_may_notify_and_nothing_more(as_operator: KubeClient) -> None:
    """The notification controller reads Notifiers, Events and the address Secrets and writes only the
    Notifier's status: it cannot create, edit or delete a Notifier (a tenant's object)."""
    for verb in ("get", "list", "watch"):
        assert _may(as_operator, verb, "notifiers", "lockstep.dev")
        assert _may(as_operator, verb, "events")
    assert _may(as_operator, "get", "secrets")
    assert _may(as_operator, "patch", "notifiers", "lockstep.dev", "status")
    for verb in ("create", "update", "patch", "delete"):
        assert not _may(as_operator, verb, "notifiers", "lockstep.dev"), verb
