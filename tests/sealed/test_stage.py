"""The ``sealed`` render stage against the real control plane: keys read from the cluster as Bitnami
stores them, SealedSecrets made by the real kubeseal, the resulting Secrets accepted by the API server."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from core_sync.kube import KubeClient
from core_sync.stages import Stage, StageContext
from core_sync.testing import ControlPlane
from sealed.format.keygen import SealingKeyPair
from sealed.keys import KEY_LABEL, create_key_secret, set_key_state
from sealed.stage import SealedStage
from tests.sealed.conftest import SealingKey, ok, run_kubeseal

KEY_NAMESPACE = "lockstep-system"


def store_key(client: KubeClient, namespace: str, key: SealingKey, label: str = "active") -> str:
    """``key`` stored as the controller stores keys (through the product's key store), then labelled."""
    pair = SealingKeyPair(key.key, key.cert_pem, key.key_pem)
    name = create_key_secret(client, pair, namespace).name
    if label != "active":
        set_key_state(client, name, label, namespace)
    return name


@pytest.fixture
def cluster_key(control_plane: ControlPlane, sealing_key: SealingKey) -> Iterator[SealingKey]:
    """``sealing_key`` stored in lockstep-system as the controller stores it (removed afterwards)."""
    name = store_key(control_plane.client, KEY_NAMESPACE, sealing_key)
    yield sealing_key
    control_plane.client.delete(f"/api/v1/namespaces/{KEY_NAMESPACE}/secrets/{name}")


def kubeseal_sealed(
    kubeseal_bin: str, key: SealingKey, name: str, namespace: str | None, scope: str = "strict"
) -> dict[str, object]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {**metadata, "labels": {"app": name}},
        "type": "Opaque",
        "data": {"password": base64.b64encode(f"pw-{name}".encode()).decode(), "empty": ""},
    }
    args = ["--cert", str(key.cert_path), "--scope", scope]
    if not namespace:
        args += ["--namespace", "placeholder"]  # kubeseal needs one; the strict label is not used below
    sealed = json.loads(ok(run_kubeseal(kubeseal_bin, *args, stdin=json.dumps(secret).encode())))
    if not namespace:
        sealed["metadata"].pop("namespace", None)
    return dict(sealed)


def test_stage_protocol() -> None:
    stage = SealedStage()
    assert isinstance(stage, Stage)
    assert stage.name == "sealed"


def test_no_sealed_secrets_needs_no_cluster() -> None:
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]
    result = SealedStage().render(objects, StageContext(namespace="apps", client=None))
    assert result.objects == objects and result.diagnostics == []


def test_unseals_every_scope_and_api_server_accepts_the_secrets(
    control_plane: ControlPlane, namespace: str, kubeseal_bin: str, cluster_key: SealingKey
) -> None:
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "before", "namespace": namespace},
    }
    objects = [
        configmap,
        kubeseal_sealed(kubeseal_bin, cluster_key, "strict", namespace),
        kubeseal_sealed(kubeseal_bin, cluster_key, "wide", namespace, "namespace-wide"),
        kubeseal_sealed(kubeseal_bin, cluster_key, "global", None, "cluster-wide"),
    ]
    result = SealedStage().render(objects, StageContext(namespace=namespace, client=control_plane.client))
    assert result.errors == []
    assert result.objects[0] is configmap
    secrets = result.objects[1:]
    assert [s["kind"] for s in secrets] == ["Secret"] * 3
    for secret, name in zip(secrets, ["strict", "wide", "global"], strict=True):
        assert secret["metadata"]["name"] == name
        assert secret["metadata"]["namespace"] == namespace
        assert secret["metadata"]["labels"] == {"app": name}
        assert "ownerReferences" not in secret["metadata"]
        assert base64.b64decode(secret["data"]["password"]) == f"pw-{name}".encode()
        path = f"/api/v1/namespaces/{namespace}/secrets/{name}"
        control_plane.client.apply(path, secret, field_manager="lockstep")
        live = control_plane.client.get(path)
        assert base64.b64decode(live["data"]["password"]) == f"pw-{name}".encode()
        assert live["type"] == "Opaque"


def test_undecryptable_sealed_secret_is_an_error_naming_it(
    control_plane: ControlPlane,
    namespace: str,
    kubeseal_bin: str,
    cluster_key: SealingKey,
    other_key: SealingKey,
) -> None:
    good = kubeseal_sealed(kubeseal_bin, cluster_key, "good", namespace)
    foreign = kubeseal_sealed(kubeseal_bin, other_key, "foreign", namespace)  # its key is not in the cluster
    context = StageContext(
        namespace=namespace, client=control_plane.client, sources={id(foreign): "apps/db.yaml"}
    )
    result = SealedStage().render([good, foreign], context)
    assert [d.object for d in result.errors] == [f"SealedSecret/{namespace}/foreign (apps/db.yaml)"]
    message = result.errors[0].message
    assert message.startswith("cannot unseal: no key could decrypt secret (empty, password); tried ")
    assert "pw-foreign" not in message
    assert result.errors[0].reason == "UnsealFailed"
    assert [o["metadata"]["name"] for o in result.objects] == ["good"]


def test_moved_strict_value_fails(
    control_plane: ControlPlane, namespace: str, kubeseal_bin: str, cluster_key: SealingKey
) -> None:
    sealed = kubeseal_sealed(kubeseal_bin, cluster_key, "db", "somewhere-else")
    sealed["metadata"].pop("namespace")  # rendered into the Application's namespace instead
    result = SealedStage().render([sealed], StageContext(namespace=namespace, client=control_plane.client))
    assert len(result.errors) == 1 and "no key could decrypt secret" in result.errors[0].message


def test_only_active_keys_count(control_plane: ControlPlane, namespace: str, kubeseal_bin: str,
                                sealing_key: SealingKey) -> None:  # fmt: skip
    key_namespace = control_plane.create_namespace("keys-")
    store_key(control_plane.client, key_namespace, sealing_key, label="compromised")
    sealed = kubeseal_sealed(kubeseal_bin, sealing_key, "db", namespace)
    context = StageContext(namespace=namespace, client=control_plane.client)
    result = SealedStage(key_namespace=key_namespace).render([sealed], context)
    assert [d.message for d in result.errors] == [
        f"no sealing keys: no usable Secrets labelled {KEY_LABEL}=active in namespace {key_namespace}"
    ]
    store_key(control_plane.client, key_namespace, sealing_key)
    assert SealedStage(key_namespace=key_namespace).render([sealed], context).errors == []


def test_no_cluster_access_is_an_error(kubeseal_bin: str, sealing_key: SealingKey) -> None:
    sealed = kubeseal_sealed(kubeseal_bin, sealing_key, "db", "apps")
    result = SealedStage().render([sealed], StageContext(namespace="apps", client=None))
    assert [(d.object, d.message) for d in result.errors] == [
        ("SealedSecret/apps/db", "no cluster access to read the sealing keys")
    ]
