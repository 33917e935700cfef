"""ClusterExternalSecret through the real operator: selection by labels and names, status, clean-up."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from es_helpers import wait_for

from core_sync.kube import ApiError
from external_secrets.cluster_external_secret import NOT_OWNED, child, selected_namespaces

CES_PATH = "/apis/external-secrets.io/v1/clusterexternalsecrets"
ES_SPEC = {
    "refreshInterval": "1h",
    "secretStoreRef": {"name": "shared", "kind": "ClusterSecretStore"},
    "target": {"name": "db"},
    "data": [{"secretKey": "password", "remoteRef": {"key": "db", "property": "password"}}],
}


def _ns(name: str, labels: dict[str, str], phase: str = "Active") -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}, "status": {"phase": phase}}


def test_selection_rules() -> None:
    namespaces = [
        _ns("a", {"team": "a"}),
        _ns("b", {"team": "b"}),
        _ns("c", {"env": "prod"}),
        _ns("gone", {"team": "a"}, phase="Terminating"),
    ]
    spec = {
        "namespaceSelectors": [
            {"matchLabels": {"team": "a"}},
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]},
        ],
        "namespaces": ["b"],
    }
    assert selected_namespaces(spec, namespaces) == ["a", "b", "c"]
    assert selected_namespaces({"namespaceSelector": {"matchLabels": {"team": "b"}}}, namespaces) == ["b"]
    ces = {
        "metadata": {"name": "db", "uid": "u1", "annotations": {"external-secrets.io/force-sync": "7"}},
        "spec": {"externalSecretSpec": ES_SPEC, "externalSecretMetadata": {"labels": {"x": "y"}}},
    }
    es = child(ces, "a")
    assert es["metadata"]["name"] == "db" and es["metadata"]["labels"] == {"x": "y"}
    assert es["metadata"]["annotations"]["external-secrets.io/force-sync"] == "7"
    assert es["metadata"]["ownerReferences"][0]["uid"] == "u1" and es["spec"] == ES_SPEC


@pytest.fixture
def labelled_namespaces(kube: Any) -> Iterator[list[str]]:
    names = [f"ces-{secrets.token_hex(3)}" for _ in range(3)]
    for name, team in zip(names, ("blue", "blue", "red"), strict=True):
        kube.create(
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"team": team}}},
        )
    yield names
    for name in names:
        with contextlib.suppress(ApiError):
            kube.delete(f"/api/v1/namespaces/{name}")


def _status(kube: Any, name: str) -> dict[str, Any]:
    return dict(kube.get(f"{CES_PATH}/{name}").get("status") or {})


def _es(kube: Any, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return dict(kube.get(f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets/{name}"))
    except ApiError as error:
        if error.not_found:
            return None
        raise


def test_cluster_external_secret_provisions_selected_namespaces(
    operator: Any, kube: Any, labelled_namespaces: list[str]
) -> None:
    blue1, blue2, red = labelled_namespaces
    ces_name = f"ces-{secrets.token_hex(3)}"
    # an ExternalSecret of the same name that the CES does not own: reported, never overwritten
    kube.create(
        f"/apis/external-secrets.io/v1/namespaces/{blue2}/externalsecrets",
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": "shared-db"},
            "spec": {**ES_SPEC, "target": {"name": "mine"}},
        },
    )
    kube.create(
        CES_PATH,
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ClusterExternalSecret",
            "metadata": {"name": ces_name},
            "spec": {
                "externalSecretName": "shared-db",
                "externalSecretMetadata": {"labels": {"from": "ces"}},
                "namespaceSelectors": [{"matchLabels": {"team": "blue"}}],
                "externalSecretSpec": ES_SPEC,
            },
        },
    )
    status = wait_for(
        lambda: _status(kube, ces_name).get("conditions") and _status(kube, ces_name),
        what="ClusterExternalSecret status",
    )
    assert status["provisionedNamespaces"] == [blue1]
    assert status["failedNamespaces"] == [{"namespace": blue2, "reason": NOT_OWNED}]
    assert status["conditions"][0]["status"] == "False"
    created = _es(kube, blue1, "shared-db")
    assert created is not None and created["spec"]["target"] == {"name": "db"}
    assert created["metadata"]["labels"]["from"] == "ces"
    assert _es(kube, red, "shared-db") is None
    assert _es(kube, blue2, "shared-db")["spec"]["target"] == {"name": "mine"}  # type: ignore[index]

    # the conflict goes away, red joins, blue1 leaves: status and ExternalSecrets follow
    kube.delete(f"/apis/external-secrets.io/v1/namespaces/{blue2}/externalsecrets/shared-db")
    kube.merge_patch(f"/api/v1/namespaces/{red}", {"metadata": {"labels": {"team": "blue"}}})
    kube.merge_patch(f"/api/v1/namespaces/{blue1}", {"metadata": {"labels": {"team": "green"}}})
    wait_for(
        lambda: _status(kube, ces_name).get("provisionedNamespaces") == sorted([blue2, red]),
        what="re-selection after namespace label changes",
    )
    status = _status(kube, ces_name)
    assert status["failedNamespaces"] == [] and status["conditions"][0]["status"] == "True"
    wait_for(lambda: _es(kube, blue1, "shared-db") is None, what="ExternalSecret removed from blue1")
    assert _es(kube, red, "shared-db") is not None

    # a spec change reaches every child
    kube.merge_patch(CES_PATH + f"/{ces_name}", {"spec": {"externalSecretSpec": {"refreshInterval": "5m"}}})
    wait_for(
        lambda: all(
            (_es(kube, ns, "shared-db") or {}).get("spec", {}).get("refreshInterval") == "5m"
            for ns in (blue2, red)
        ),
        what="spec change propagated",
    )
    kube.delete(f"{CES_PATH}/{ces_name}")
