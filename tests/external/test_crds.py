"""The external-secrets.io/v1 CRDs against a real kube-apiserver.

ESO's documented manifests must apply unchanged and read back exactly as written. The API server may not
add defaults (the Argo CD drift of ESO #6797) or drop fields Lockstep does not model. Invalid values must
still be rejected.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from core_sync.kube import ApiError
from core_sync.testing import binaries
from core_sync.testing.control_plane import ControlPlane

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "crds" / "external-secrets.yaml"
EXAMPLES = ROOT / "examples" / "external-secrets"
GROUP = "external-secrets.io"
PLURALS = {
    "ExternalSecret": "externalsecrets",
    "SecretStore": "secretstores",
    "ClusterSecretStore": "clustersecretstores",
}
CRD_BASE = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


@pytest.fixture(scope="module")
def plane(control_plane: ControlPlane) -> Iterator[ControlPlane]:
    """The session control plane with this file's CRDs installed (idempotent if already there)."""
    control_plane.install_crds(CRDS)
    yield control_plane


def object_path(obj: dict[str, Any], namespace: str) -> str:
    kind, name = obj["kind"], obj["metadata"]["name"]
    if kind == "Secret":
        return f"/api/v1/namespaces/{namespace}/secrets/{name}"
    if kind == "ClusterSecretStore":
        return f"/apis/{GROUP}/v1/clustersecretstores/{name}"
    return f"/apis/{GROUP}/v1/namespaces/{namespace}/{PLURALS[kind]}/{name}"


def prepare(doc: dict[str, Any], namespace: str) -> dict[str, Any]:
    obj = copy.deepcopy(doc)
    if obj["kind"] != "ClusterSecretStore":
        obj["metadata"]["namespace"] = namespace
    return obj


def example_docs() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for file in sorted(EXAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(file.read_text()):
            if doc:
                docs.append((f"{file.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return docs


EXAMPLE_DOCS = example_docs()


def assert_reads_back_as_written(live: dict[str, Any], written: dict[str, Any]) -> None:
    # a core Secret's type defaults to Opaque (Kubernetes' own rule); everything else must be untouched
    fields = ("spec", "data") if written["kind"] == "Secret" else ("spec", "data", "type")
    for field in fields:
        assert live.get(field) == written.get(field), f"{field} changed on the server"
    for meta in ("labels", "annotations"):
        assert live["metadata"].get(meta) == written["metadata"].get(meta)
    if "status" not in written and written["kind"] != "Secret":
        assert "status" not in live, "the server added a status"


def walk(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        yield path, schema
        for key, value in schema.items():
            yield from walk(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from walk(value, f"{path}[{i}]")


# -- the CRD documents themselves -----------------------------------------------------------------------


def test_crds_declare_no_defaults() -> None:
    for doc in yaml.safe_load_all(CRDS.read_text()):
        for path, node in walk(doc["spec"]["versions"]):
            assert "default" not in node, f"{doc['metadata']['name']}: default at {path}"


def test_examples_cover_the_documented_providers() -> None:
    providers = {
        (doc["spec"]["provider"].get("aws", {}).get("service"), "vault" in doc["spec"]["provider"])
        for _, doc in EXAMPLE_DOCS
        if doc["kind"] in ("SecretStore", "ClusterSecretStore")
    }
    assert ("SecretsManager", False) in providers
    assert ("ParameterStore", False) in providers
    assert (None, True) in providers


def test_crds_are_established_with_eso_names(plane: ControlPlane) -> None:
    expected = {
        "externalsecrets": ("ExternalSecret", "Namespaced", ["es"]),
        "secretstores": ("SecretStore", "Namespaced", ["ss"]),
        "clustersecretstores": ("ClusterSecretStore", "Cluster", ["css"]),
    }
    for plural, (kind, scope, short) in expected.items():
        crd = plane.client.get(f"{CRD_BASE}/{plural}.{GROUP}")
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions["Established"] == "True"
        assert conditions.get("NonStructuralSchema") is None
        assert crd["spec"]["names"]["kind"] == kind
        assert crd["spec"]["names"]["shortNames"] == short
        assert crd["spec"]["names"]["categories"] == ["external-secrets"]
        assert crd["spec"]["scope"] == scope
        versions = [(v["name"], v["served"], v["storage"]) for v in crd["spec"]["versions"]]
        assert versions == [("v1", True, True), ("v1beta1", True, False)]  # v1beta1: the pre-2025 manifests
        assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}
    discovery = plane.client.get(f"/apis/{GROUP}/v1")
    by_name = {r["name"]: r for r in discovery["resources"]}
    assert by_name["externalsecrets"]["shortNames"] == ["es"]
    assert by_name["externalsecrets"]["categories"] == ["external-secrets"]
    assert "externalsecrets/status" in by_name


# -- ESO's documented manifests ---------------------------------------------------------------------------


@pytest.mark.parametrize("doc", [d for _, d in EXAMPLE_DOCS], ids=[i for i, _ in EXAMPLE_DOCS])
def test_documented_manifest_applies_unchanged(
    plane: ControlPlane, namespace: str, doc: dict[str, Any]
) -> None:
    obj = prepare(doc, namespace)
    path = object_path(obj, namespace)
    applied = plane.client.apply(path, obj, field_manager="test")
    assert_reads_back_as_written(applied, obj)
    assert_reads_back_as_written(plane.client.get(path), obj)
    # applying the same manifest again is a no-op: nothing was defaulted that the manifest now "removes"
    again = plane.client.apply(path, obj, field_manager="test")
    assert again["metadata"]["resourceVersion"] == applied["metadata"]["resourceVersion"]


def test_omitted_optional_fields_stay_omitted(plane: ControlPlane, namespace: str) -> None:
    es = {
        "apiVersion": f"{GROUP}/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "minimal", "namespace": namespace},
        "spec": {"data": [{"secretKey": "k", "remoteRef": {"key": "path/to/secret"}}]},
    }
    live = plane.client.apply(object_path(es, namespace), es, field_manager="test")
    assert live["spec"] == es["spec"]  # no refreshInterval, target, strategies or policies injected
    store = {
        "apiVersion": f"{GROUP}/v1",
        "kind": "SecretStore",
        "metadata": {"name": "minimal", "namespace": namespace},
        "spec": {
            "provider": {
                "vault": {
                    "server": "http://127.0.0.1:8200",
                    "auth": {"appRole": {"roleId": "r", "secretRef": {"name": "s", "key": "k"}}},
                }
            }
        },
    }
    live = plane.client.apply(object_path(store, namespace), store, field_manager="test")
    assert live["spec"] == store["spec"]  # no version v2, no approle path injected


def test_unknown_fields_are_preserved(plane: ControlPlane, namespace: str) -> None:
    es = {
        "apiVersion": f"{GROUP}/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "future", "namespace": namespace},
        "spec": {
            "secretStoreRef": {"name": "s"},
            "someFutureField": {"nested": ["a", {"b": 1}]},
            "target": {"manifest": {"apiVersion": "v1", "kind": "ConfigMap"}, "futureTargetOption": True},
            "data": [
                {
                    "secretKey": "k",
                    "remoteRef": {"key": "x", "nullBytePolicy": "Fail", "futureRefOption": "y"},
                    "futureItemOption": 3,
                }
            ],
            "dataFrom": [
                {
                    "find": {"name": {"regexp": ".*"}, "futureFind": "z"},
                    "rewrite": [{"merge": {"into": "all"}}],
                }
            ],
        },
    }
    live = plane.client.apply(object_path(es, namespace), es, field_manager="test")
    assert live["spec"] == es["spec"]
    store = {
        "apiVersion": f"{GROUP}/v1",
        "kind": "SecretStore",
        "metadata": {"name": "gcp", "namespace": namespace},
        "spec": {
            "provider": {"gcpsm": {"projectID": "p", "auth": {"workloadIdentity": {"clusterName": "c"}}}},
            "futureStoreOption": {"x": 1},
        },
    }
    live = plane.client.apply(object_path(store, namespace), store, field_manager="test")
    assert live["spec"] == store["spec"]


@pytest.mark.parametrize(
    ("kind", "spec", "fragment"),
    [
        ("ExternalSecret", {"target": {"creationPolicy": "Sometimes"}}, "spec.target.creationPolicy"),
        ("ExternalSecret", {"target": {"deletionPolicy": "Never"}}, "spec.target.deletionPolicy"),
        ("ExternalSecret", {"refreshInterval": 0}, "spec.refreshInterval"),
        ("ExternalSecret", {"refreshPolicy": "Hourly"}, "spec.refreshPolicy"),
        ("ExternalSecret", {"data": [{"secretKey": "bad/key", "remoteRef": {"key": "k"}}]}, "secretKey"),
        ("ExternalSecret", {"data": [{"secretKey": "k", "remoteRef": {"property": "p"}}]}, "key"),
        (
            "ExternalSecret",
            {"data": [{"secretKey": "k", "remoteRef": {"key": "k", "decodingStrategy": "Hex"}}]},
            "decodingStrategy",
        ),
        ("ExternalSecret", {"target": {"template": {"engineVersion": "v1"}}}, "engineVersion"),
        ("SecretStore", {"provider": {"vault": {"server": "s", "version": "v3"}}}, "version"),
        ("SecretStore", {"provider": {"vault": {"path": "secret"}}}, "server"),
        ("SecretStore", {"provider": {"aws": {"service": "S3", "region": "r"}}}, "service"),
        ("SecretStore", {"provider": {"aws": {"region": "r"}, "vault": {"server": "s"}}}, "provider"),
        (
            "SecretStore",
            {"provider": {"vault": {"server": "s", "auth": {"kubernetes": {"mountPath": "k"}}}}},
            "role",
        ),
    ],
)
def test_invalid_values_are_rejected(
    plane: ControlPlane, namespace: str, kind: str, spec: dict[str, Any], fragment: str
) -> None:
    obj = {
        "apiVersion": f"{GROUP}/v1",
        "kind": kind,
        "metadata": {"name": "bad", "namespace": namespace},
        "spec": spec,
    }
    collection = object_path(obj, namespace).rsplit("/", 1)[0]
    with pytest.raises(ApiError) as caught:
        plane.client.create(collection, obj)
    assert caught.value.status == 422
    assert fragment in str(caught.value)


def test_cluster_secret_store_conditions_and_int_or_string_interval(plane: ControlPlane) -> None:
    css = {
        "apiVersion": f"{GROUP}/v1",
        "kind": "ClusterSecretStore",
        "metadata": {"name": "conditions-check"},
        "spec": {
            "refreshInterval": "5m",
            "conditions": [
                {
                    "namespaceSelector": {
                        "matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]
                    }
                }
            ],
            "provider": {"aws": {"service": "SecretsManager", "region": "eu-central-1"}},
        },
    }
    path = object_path(css, "")
    try:
        assert plane.client.apply(path, css, field_manager="test")["spec"] == css["spec"]
        bad = copy.deepcopy(css)
        bad["spec"]["conditions"] = [{"namespaces": ["Not_A_Namespace"]}]
        with pytest.raises(ApiError) as caught:
            plane.client.apply(path, bad, field_manager="test")
        assert caught.value.status == 422
    finally:
        plane.client.delete(path)


def test_status_is_a_subresource(plane: ControlPlane, namespace: str) -> None:
    es = {
        "apiVersion": f"{GROUP}/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "with-status", "namespace": namespace},
        "spec": {"secretStoreRef": {"name": "s"}, "data": [{"secretKey": "k", "remoteRef": {"key": "x"}}]},
        "status": {"refreshTime": "2026-01-01T00:00:00Z"},
    }
    path = object_path(es, namespace)
    live = plane.client.apply(path, es, field_manager="test")
    assert "status" not in live  # the main resource ignores status
    status = {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "SecretSynced",
                "message": "secret synced",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
        "refreshTime": "2026-01-01T00:00:00Z",
        "syncedResourceVersion": "1-abc",
        "binding": {"name": "with-status"},
    }
    patched = plane.client.merge_patch(path + "/status", {"status": status})
    assert patched["status"] == status
    assert patched["spec"] == es["spec"]


def test_printer_columns_match_eso(plane: ControlPlane, namespace: str) -> None:
    obj = prepare(
        dict(
            EXAMPLE_DOCS[
                [i for i, _ in EXAMPLE_DOCS].index("aws-secrets-manager.yaml:ExternalSecret/example")
            ][1]
        ),
        namespace,
    )
    path = object_path(obj, namespace)
    plane.client.apply(path, obj, field_manager="test")
    plane.client.merge_patch(
        path + "/status",
        {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "SecretSyncedError"}]}},
    )
    status, body = plane.client.raw(
        "GET", f"/apis/{GROUP}/v1/namespaces/{namespace}/externalsecrets", accept=TABLE
    )
    assert status == 200
    table = json.loads(body)
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns == ["Name", "StoreType", "Store", "Refresh Interval", "Status", "Ready", "Last Sync"]
    row = dict(zip(columns, table["rows"][0]["cells"], strict=True))
    assert row["Store"] == "aws-secretsmanager"
    assert row["StoreType"] == "SecretStore"
    assert row["Refresh Interval"] == "1h0m0s"
    assert row["Status"] == "SecretSyncedError"
    assert row["Ready"] == "False"
    status, body = plane.client.raw(
        "GET", f"/apis/{GROUP}/v1/namespaces/{namespace}/secretstores", accept=TABLE
    )
    assert [c["name"] for c in json.loads(body)["columnDefinitions"]] == [
        "Name",
        "AGE",
        "Status",
        "Capabilities",
        "Ready",
    ]


def test_kubectl_resolves_short_names_and_category(plane: ControlPlane, namespace: str) -> None:
    for doc in (d for _, d in EXAMPLE_DOCS if d["kind"] in ("ExternalSecret", "SecretStore")):
        obj = prepare(doc, namespace)
        plane.client.apply(object_path(obj, namespace), obj, field_manager="test")
    kubectl = str(binaries.kubectl())
    env = plane.env()

    def names(resource: str) -> set[str]:
        out = subprocess.run(
            [kubectl, "get", resource, "-n", namespace, "-o", "name"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        return set(out.split())

    assert "externalsecret.external-secrets.io/vault-example" in names("es")
    assert "secretstore.external-secrets.io/vault-backend" in names("ss")
    both = names("external-secrets")
    assert "externalsecret.external-secrets.io/example" in both
    assert "secretstore.external-secrets.io/parameterstore" in both


def test_selectable_fields(plane: ControlPlane, namespace: str) -> None:
    for doc in (d for _, d in EXAMPLE_DOCS if d["kind"] == "ExternalSecret"):
        obj = prepare(doc, namespace)
        plane.client.apply(object_path(obj, namespace), obj, field_manager="test")
    listed = plane.client.get(
        f"/apis/{GROUP}/v1/namespaces/{namespace}/externalsecrets",
        fieldSelector="spec.secretStoreRef.name=vault-backend",
    )
    assert [item["metadata"]["name"] for item in listed["items"]] == ["vault-example"]
