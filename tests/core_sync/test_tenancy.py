"""Multi-tenancy end to end: the real operator syncs an Application by impersonating its ServiceAccount,
so the real API server's RBAC decides what a tenant can read, create and prune through Lockstep.

Each test runs its own operator (with the flags under test) watching only the test namespaces; no other
operator may run beside it (module-scoped operators of other modules are stopped by then).
"""

from __future__ import annotations

import base64
import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from core_sync.kube import ApiError, KubeClient
from core_sync.tenancy import CrossNamespaceRef, TenancyPolicy, impersonated_user, namespace_refs
from core_sync.testing import ControlPlane, GitServer, OpenBao
from core_sync.testing.credentials import grant
from core_sync.testing.services import git
from tests.core_sync.conftest import Apps, Operator, configmap, live, wait_for
from tests.core_sync.test_secret_stages import _seal_secret, _sealing_key
from tests.external.es_helpers import (
    kv_put,
    make_secret,
    password_external_secret,
    vault_store_object,
    wait_for_store_api,
)

TENANT = "tenant"
SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: stolen\nstringData:\n  k: v\n"
DEPLOYMENT = yaml.safe_dump(
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "miner"},
        "spec": {
            "selector": {"matchLabels": {"app": "miner"}},
            "template": {
                "metadata": {"labels": {"app": "miner"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }
)


# -- the pure rules -------------------------------------------------------------------------------------
def test_service_account_is_the_applications_own_else_the_default() -> None:
    assert TenancyPolicy().service_account({}) is None
    assert TenancyPolicy("fallback").service_account({}) == "fallback"
    assert TenancyPolicy("fallback").service_account({"serviceAccountName": "own"}) == "own"
    assert impersonated_user("team-a", "deployer") == "system:serviceaccount:team-a:deployer"


def test_policy_from_the_operator_flags() -> None:
    from core_sync.operator import build_parser
    from core_sync.operator_settings import OperatorSettings

    parse = build_parser("lockstep operator").parse_args
    flags = ["--default-service-account", "d", "--no-cross-namespace-refs"]
    assert OperatorSettings.from_args(parse(flags)).tenancy() == TenancyPolicy("d", True)
    assert OperatorSettings.from_args(parse([])).tenancy() == TenancyPolicy(None, False)


def test_every_reference_leaving_the_namespace_is_found() -> None:
    spec = {
        "destination": {"namespace": "b", "kubeconfigSecretRef": {"name": "k", "namespace": "c"}},
        "dependsOn": [{"name": "x"}, {"name": "y", "namespace": "d"}],
        "source": {"secretRef": {"name": "git", "namespace": "e"}},
        "decryption": {"sops": {"secretRefs": [{"name": "s", "namespace": "f"}]}},
    }
    found = dict(namespace_refs(spec))
    assert found == {
        "spec.destination.namespace": "b",
        "spec.destination.kubeconfigSecretRef.namespace": "c",
        "spec.dependsOn[1].namespace": "d",
        "spec.source.secretRef.namespace": "e",
        "spec.decryption.sops.secretRefs[0].namespace": "f",
    }
    with pytest.raises(CrossNamespaceRef, match=r"spec\.dependsOn\[1\]\.namespace 'd'"):
        TenancyPolicy(no_cross_namespace_refs=True).check_refs("a", spec)
    TenancyPolicy().check_refs("a", spec)  # allowed unless the flag is set
    TenancyPolicy(no_cross_namespace_refs=True).check_refs("b", {"destination": {"namespace": "b"}})


# -- end to end -----------------------------------------------------------------------------------------
def _tenant_may_manage_configmaps(control_plane: ControlPlane, ns: str) -> None:
    """ServiceAccount ``tenant`` in ``ns`` may manage ConfigMaps in ``ns`` and nothing else."""
    client = control_plane.client
    client.create(
        f"/api/v1/namespaces/{ns}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": TENANT}},
    )
    everything = ["get", "list", "watch", "create", "update", "patch", "delete"]
    _grant(
        control_plane,
        ns,
        "configmaps",
        [{"apiGroups": [""], "resources": ["configmaps"], "verbs": everything}],
    )


@pytest.fixture
def other_namespace(control_plane: ControlPlane) -> Iterator[str]:
    name = control_plane.create_namespace("other-")
    yield name
    with contextlib.suppress(ApiError):
        control_plane.client.delete(f"/api/v1/namespaces/{name}")


def _start(control_plane: ControlPlane, workdir: Path, namespaces: tuple[str, ...], *flags: str) -> Operator:
    workdir.mkdir()
    watch = tuple(arg for ns in namespaces for arg in ("--namespace", ns))
    operator = Operator(control_plane, workdir, args=(*watch, *flags))
    operator.start()
    return operator


def _refused_with(apps: Apps, name: str, *needles: str) -> dict:  # type: ignore[type-arg]
    def refused() -> dict | None:  # type: ignore[type-arg]
        cond = apps.condition(name)
        if cond and cond["status"] == "False" and all(n in cond["message"] for n in needles):
            return cond
        return None

    return wait_for(refused, 30, f"Application {name} refused naming {needles}")


def _cm(control_plane: ControlPlane, ns: str, name: str) -> dict | None:  # type: ignore[type-arg]
    return live(control_plane.client, f"/api/v1/namespaces/{ns}/configmaps/{name}")


def test_tenant_applies_only_what_its_service_account_may(
    apps: Apps, git_server: GitServer, control_plane: ControlPlane, other_namespace: str, tmp_path: Path
) -> None:
    ns = apps.namespace
    _tenant_may_manage_configmaps(control_plane, ns)
    operator = _start(control_plane, tmp_path / "op", (ns,))
    try:
        url = git_server.create_repo("tenant", {"deploy/a.yaml": configmap("a", "1")})
        apps.create("team", url, interval="1s", serviceAccountName=TENANT)
        apps.wait_ready("team")
        assert _cm(control_plane, ns, "a")["data"] == {"value": "1"}  # type: ignore[index]
        user = impersonated_user(ns, TENANT)
        writes = [  # the audit log records the operator's user and the one it impersonated
            w
            for w in control_plane.write_requests(namespaces=(ns,))
            if w["objectRef"].get("resource") == "configmaps" and w["objectRef"].get("name") == "a"
        ]
        assert writes and all((w.get("impersonatedUser") or {}).get("username") == user for w in writes)
        # drift is corrected as the tenant too
        control_plane.client.merge_patch(
            f"/api/v1/namespaces/{ns}/configmaps/a", {"data": {"value": "edited"}}
        )
        wait_for(
            lambda: (_cm(control_plane, ns, "a") or {}).get("data") == {"value": "1"}, 20, "drift reverted"
        )
        corrections = [
            w
            for w in control_plane.write_requests(namespaces=(ns,))
            if w["objectRef"].get("name") == "a" and w not in writes and w["verb"] == "patch"
        ]
        assert any((w.get("impersonatedUser") or {}).get("username") == user for w in corrections)

        other_cm = configmap("elsewhere", "1").replace(
            "metadata:\n", f"metadata:\n  namespace: {other_namespace}\n"
        )
        forbidden = [
            ("deploy/secret.yaml", SECRET, "Secret/", "secrets"),
            ("deploy/deploy.yaml", DEPLOYMENT, "Deployment/", "deployments"),
            ("deploy/other.yaml", other_cm, f"ConfigMap/{other_namespace}/elsewhere", other_namespace),
        ]
        for path, manifest, names_object, names_resource in forbidden:
            # the revision drops a, changes nothing else allowed, adds b and one forbidden object
            git_server.commit(
                "tenant", {"deploy/b.yaml": configmap("b", "1"), path: manifest}, remove=("deploy/a.yaml",)
            )
            cond = _refused_with(apps, "team", names_object, "forbidden", names_resource)
            assert user in cond["message"]
            assert _cm(control_plane, ns, "b") is None  # all or nothing: nothing applied
            assert _cm(control_plane, ns, "a") is not None  # nothing pruned
            assert _cm(control_plane, other_namespace, "elsewhere") is None
            assert live(control_plane.client, f"/api/v1/namespaces/{ns}/secrets/stolen") is None
            assert live(control_plane.client, f"/apis/apps/v1/namespaces/{ns}/deployments/miner") is None
            git_server.commit(
                "tenant", {"deploy/a.yaml": configmap("a", "1")}, remove=(path, "deploy/b.yaml")
            )
            apps.wait_ready("team", revision=git_server_head(git_server, "tenant"))

        sha = git_server.commit("tenant", {"deploy/b.yaml": configmap("b", "2")}, remove=("deploy/a.yaml",))
        apps.wait_ready("team", revision=sha)
        assert _cm(control_plane, ns, "a") is None  # pruned as the tenant, which may delete ConfigMaps
        assert _cm(control_plane, ns, "b")["data"] == {"value": "2"}  # type: ignore[index]
    finally:
        operator.kill(signal.SIGTERM)


def git_server_head(git_server: GitServer, name: str) -> str:
    return git("--git-dir", str(git_server.root / f"{name}.git"), "rev-parse", "refs/heads/main")


def test_default_service_account_flag_confines_applications_naming_none(
    apps: Apps, git_server: GitServer, control_plane: ControlPlane, tmp_path: Path
) -> None:
    ns = apps.namespace
    _tenant_may_manage_configmaps(control_plane, ns)
    operator = _start(control_plane, tmp_path / "op", (ns,), "--default-service-account", TENANT)
    try:
        url = git_server.create_repo(
            "defaulted", {"deploy/a.yaml": configmap("a", "1"), "deploy/secret.yaml": SECRET}
        )
        apps.create("plain", url, interval="1s")  # names no ServiceAccount
        cond = _refused_with(apps, "plain", "Secret/", "forbidden", impersonated_user(ns, TENANT))
        assert cond["reason"] == "ValidationFailed"
        assert _cm(control_plane, ns, "a") is None
        sha = git_server.commit("defaulted", remove=("deploy/secret.yaml",))
        apps.wait_ready("plain", revision=sha)
        assert _cm(control_plane, ns, "a") is not None
    finally:
        operator.kill(signal.SIGTERM)


def test_no_cross_namespace_refs_flag_refuses_other_namespaces(
    apps: Apps, git_server: GitServer, control_plane: ControlPlane, other_namespace: str, tmp_path: Path
) -> None:
    ns = apps.namespace
    operator = _start(control_plane, tmp_path / "op", (ns,), "--no-cross-namespace-refs")
    try:
        url = git_server.create_repo("xns", {"deploy/a.yaml": configmap("a", "1")})
        apps.create("away", url, interval="1s", destination={"namespace": other_namespace})
        apps.create("dep", url, interval="1s", dependsOn=[{"name": "x", "namespace": other_namespace}])
        apps.create("home", url, interval="1s", destination={"namespace": ns})
        apps.wait_ready("home")
        for name, field in (("away", "spec.destination.namespace"), ("dep", "spec.dependsOn[0].namespace")):
            cond = _refused_with(apps, name, field, other_namespace, "--no-cross-namespace-refs")
            assert cond["reason"] == "AccessDenied"
            stalled = apps.condition(name, "Stalled")
            assert stalled is not None and stalled["status"] == "True"
        assert _cm(control_plane, other_namespace, "a") is None
        wait_for(
            lambda: any(e["message"].startswith("AccessDenied:") for e in apps.events("SyncFailed")),
            10,
            "an AccessDenied event",
        )
    finally:
        operator.kill(signal.SIGTERM)


def _grant(control_plane: ControlPlane, ns: str, name: str, rules: list[dict[str, Any]]) -> None:
    grant(control_plane.client, ns, {"kind": "ServiceAccount", "name": TENANT, "namespace": ns}, name, rules)


def test_render_stages_read_as_the_tenant_except_the_sealing_keys(
    apps: Apps,
    git_server: GitServer,
    control_plane: ControlPlane,
    openbao: OpenBao,
    other_namespace: str,
    tmp_path: Path,
) -> None:
    """A tenant's SealedSecret is unsealed (the keys are the operator's to read), its ExternalSecrets
    render with its own store; an ExternalSecret aimed at another namespace's store is refused at render
    — the operator never reads the other tenant's store or credentials for it."""
    ns, victim, client = apps.namespace, other_namespace, control_plane.client
    _tenant_may_manage_configmaps(control_plane, ns)
    everything = ["get", "list", "watch", "create", "update", "patch", "delete"]
    _grant(
        control_plane,
        ns,
        "secrets-and-stores",
        [
            {"apiGroups": [""], "resources": ["secrets"], "verbs": everything},
            {"apiGroups": ["external-secrets.io"], "resources": ["secretstores"], "verbs": everything},
        ],
    )
    cert = _sealing_key(control_plane, tmp_path)
    sealed = _seal_secret(cert, ns, "api", {"token": b"sealed-for-tenant"})
    kv_put(openbao, f"{ns}/db", {"password": "tenant-pw"})
    kv_put(openbao, f"{victim}/db", {"password": "victim-pw"})
    for where in (ns, victim):
        make_secret(client, where, "vault-token", {"token": openbao.token})
    wait_for_store_api(client)
    client.create(
        f"/apis/external-secrets.io/v1/namespaces/{victim}/secretstores", vault_store_object(openbao)
    )

    url = git_server.create_repo(
        "stages",
        {
            "deploy/api.sealed.yaml": sealed,
            "deploy/store.yaml": yaml.safe_dump(vault_store_object(openbao)),
            "deploy/es.yaml": yaml.safe_dump(password_external_secret("db", f"{ns}/db")),
        },
    )
    operator = _start(control_plane, tmp_path / "op", (ns,))
    try:
        apps.create(
            "stages",
            url,
            interval="1s",
            serviceAccountName=TENANT,
            decryption={"external": {"mode": "render"}},
        )
        apps.wait_ready("stages", timeout=40)
        assert _decoded(client, ns, "api") == {"token": "sealed-for-tenant"}
        assert _decoded(client, ns, "db") == {"password": "tenant-pw"}

        git_server.commit(
            "stages",
            {
                "deploy/steal.yaml": yaml.safe_dump(
                    password_external_secret("steal", f"{victim}/db", namespace=victim)
                )
            },
        )
        cond = _refused_with(
            apps, "stages", f"ExternalSecret/{victim}/steal", 'SecretStore "vault"', "Forbidden"
        )
        assert cond["reason"] == "RenderFailed"
        assert "victim-pw" not in cond["message"]
        assert live(client, f"/api/v1/namespaces/{victim}/secrets/steal") is None
    finally:
        operator.kill(signal.SIGTERM)


def _decoded(client: KubeClient, ns: str, name: str) -> dict[str, str]:
    secret = client.get(f"/api/v1/namespaces/{ns}/secrets/{name}")
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
