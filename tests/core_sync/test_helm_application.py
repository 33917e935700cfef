"""Applications whose path holds a Helm chart, synced by the real operator with the real helm, from a real
Git server into the real API server."""

from __future__ import annotations

import base64
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyrage
import pytest

from core_sync.testing import ControlPlane, GitServer
from tests.core_sync.conftest import Apps, Operator, live, wait_for
from tests.core_sync.helm_charts import chart_files, encrypted_values, helm_env, no_files_written


@pytest.fixture(scope="module")
def helm_operator(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Operator]:
    """The operator with the pinned helm and a temp directory of its own (watched by the tests)."""
    workdir = tmp_path_factory.mktemp("helm-operator")
    (workdir / "tmp").mkdir()
    running = Operator(control_plane, workdir, env=helm_env({"TMPDIR": str(workdir / "tmp")}))
    running.start()
    yield running
    running.kill(signal.SIGTERM)


def _create(
    apps: Apps, name: str, url: str, path: str, helm: dict[str, Any] | None = None, **spec: Any
) -> None:
    source: dict[str, Any] = {"repoURL": url, "targetRevision": "main", "path": path}
    if helm is not None:
        source["helm"] = helm
    body = {
        "apiVersion": "lockstep.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": apps.namespace},
        "spec": {"source": source, "interval": "1h", **spec},
    }
    apps.created.append(name)
    apps.client.create(apps.base, body)


def _configmap(control_plane: ControlPlane, namespace: str, name: str) -> dict[str, Any] | None:
    return live(control_plane.client, f"/api/v1/namespaces/{namespace}/configmaps/{name}")


def test_chart_with_encrypted_inline_and_parameter_values(
    control_plane: ControlPlane,
    helm_operator: Operator,
    apps: Apps,
    git_server: GitServer,
    age_identity: pyrage.x25519.Identity,
    tmp_path: Path,
) -> None:
    namespace = apps.namespace
    secret = "db-password-only-in-memory"
    files = {
        **chart_files("deploy/web/", crds=False),
        "deploy/secrets.enc.yaml": encrypted_values(
            tmp_path, str(age_identity.to_public()), f"db:\n  password: {secret}\n"
        ),
    }
    url = git_server.create_repo("helm-app", files)
    helm = {
        "releaseName": "shop",
        "valuesFiles": ["../secrets.enc.yaml"],
        "values": "greeting: inline\nreplicas: 2\n",
        "valuesObject": {"sub": {"color": "green"}},
        "parameters": [{"name": "replicas", "value": "5", "forceString": True}],
        "skipCrds": False,
        "ignoreMissingValueFiles": False,
    }
    temp = helm_operator.workdir / "tmp"
    with no_files_written(temp) as written:
        _create(
            apps, "shop", url, "deploy/web", helm, decryption={"sops": {"secretRef": {"name": "sops-age"}}}
        )
        app = apps.wait_ready("shop", timeout=60)
    assert written == []  # the decrypted values went to helm through pipes, never through a file
    assert app["spec"]["source"]["helm"] == helm  # the API server kept every field (the CRD's schema)
    db = live(control_plane.client, f"/api/v1/namespaces/{namespace}/secrets/shop-db")
    assert db is not None and base64.b64decode(db["data"]["password"]).decode() == secret
    config = _configmap(control_plane, namespace, "shop-config")
    assert config is not None
    assert config["data"] == {
        "greeting": "inline",
        "kube": control_plane.client.get("/version")["gitVersion"],
        "namespace": namespace,
        "replicas": "5",  # parameters win over inline values, inline values over values files
        "lockstepApi": "true",
    }
    sub = _configmap(control_plane, namespace, "shop-sub")
    assert sub is not None and sub["data"] == {"color": "green"}
    # the plaintext is nowhere on the operator's disk (log, git cache, temp) nor in status or events
    for path in helm_operator.workdir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert secret.encode() not in path.read_bytes(), path
    events = control_plane.client.get(f"/api/v1/namespaces/{namespace}/events")["items"]
    assert secret not in str(app.get("status")) + str(events)


def test_template_error_applies_nothing_then_drift_and_prune(
    control_plane: ControlPlane, helm_operator: Operator, apps: Apps, git_server: GitServer
) -> None:
    namespace = apps.namespace
    files = chart_files("deploy/web/", crds=False)
    url = git_server.create_repo("helm-errors", files)
    _create(apps, "web", url, "deploy/web")  # release name: the Application's name
    apps.wait_ready("web", timeout=60)
    names = ("web-config", "web-extra", "web-sub")
    before = {n: _configmap(control_plane, namespace, n) for n in names}
    assert all(before.values())

    broken = git_server.commit(
        "helm-errors",
        {
            "deploy/web/templates/config.yaml": files["deploy/web/templates/config.yaml"].replace(
                "| quote }}\n  kube", "| nosuchfunction }}\n  kube"
            ),
            "deploy/web/templates/new.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-new\n",
        },
        remove=("deploy/web/templates/extra.yaml",),
    )
    apps.patch_spec("web", {"interval": "1s"})
    failed = apps.wait_failed("web", timeout=60)
    assert failed["reason"] == "BuildFailed", failed
    assert "deploy/web/Chart.yaml" in failed["message"] and "nosuchfunction" in failed["message"], failed
    assert apps.get("web")["status"]["lastAttemptedRevision"] == broken
    # nothing applied, nothing pruned: every object exactly as before
    after = {n: _configmap(control_plane, namespace, n) for n in names}
    assert {n: o["metadata"]["resourceVersion"] for n, o in after.items() if o} == {
        n: o["metadata"]["resourceVersion"] for n, o in before.items() if o
    }
    assert _configmap(control_plane, namespace, "web-new") is None

    fixed = git_server.commit(
        "helm-errors", {"deploy/web/templates/config.yaml": files["deploy/web/templates/config.yaml"]}
    )
    apps.wait_ready("web", revision=fixed, timeout=60)
    assert _configmap(control_plane, namespace, "web-extra") is None  # its template left the chart: pruned
    assert _configmap(control_plane, namespace, "web-new") is not None

    control_plane.client.merge_patch(
        f"/api/v1/namespaces/{namespace}/configmaps/web-config",
        {"data": {"greeting": "edited by hand"}},
        fieldManager="kubectl-edit",
    )

    def corrected() -> bool:
        config = _configmap(control_plane, namespace, "web-config")
        return config is not None and config["data"]["greeting"] == "hello"

    wait_for(corrected, 30, "drift on a chart object corrected")


def test_helm_settings_on_a_plain_path_and_undecryptable_values_fail_clearly(
    control_plane: ControlPlane,
    helm_operator: Operator,
    apps: Apps,
    git_server: GitServer,
    age_identity: pyrage.x25519.Identity,
    tmp_path: Path,
) -> None:
    files = {
        **chart_files("deploy/web/", crds=False),
        "deploy/secrets.enc.yaml": encrypted_values(
            tmp_path, str(age_identity.to_public()), "db:\n  password: kept-secret\n"
        ),
        "plain/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
    }
    url = git_server.create_repo("helm-failures", files)
    _create(apps, "plain", url, "plain", {"valuesFiles": ["values.yaml"]})
    _create(apps, "nokey", url, "deploy/web", {"valuesFiles": ["../secrets.enc.yaml"]})  # no spec.decryption
    plain = apps.wait_failed("plain", timeout=60)
    assert (
        plain["reason"] == "BuildFailed"
        and "plain: Helm settings are given but there is no Chart.yaml" in (plain["message"])
    ), plain
    nokey = apps.wait_failed("nokey", timeout=60)
    assert nokey["reason"] == "DecryptFailed", nokey
    assert "deploy/secrets.enc.yaml" in nokey["message"] and "secretRef is not set" in nokey["message"]
    for name in ("plain", "nokey-config", "nokey-db"):
        assert _configmap(control_plane, apps.namespace, name) is None  # nothing applied
