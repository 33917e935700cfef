"""ClusterExternalSecret: one ExternalSecret in every namespace a selector picks (ESO's semantics).

``namespaceSelectors`` (any of them), the older ``namespaceSelector`` and the explicit ``namespaces`` list
pick namespaces; each gets ``externalSecretName`` (default: the CES name) with ``externalSecretSpec`` and
``externalSecretMetadata``, controller-owned by the CES. A namespace that stops matching loses the
ExternalSecret this CES made; one whose ExternalSecret belongs to someone else is reported as failed.
Status lists ``provisionedNamespaces`` and ``failedNamespaces`` like ESO. The plan is pure; ``reconcile``
does the I/O.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from external_secrets.stores import selector_matches

if TYPE_CHECKING:
    from core_sync.kube import KubeClient

GROUP_VERSION = "external-secrets.io/v1"
CES_PATH = "/apis/external-secrets.io/v1/clusterexternalsecrets"
NOT_OWNED = "external secret already exists in namespace"
DEFAULT_REFRESH_S = 3600.0


def selected_namespaces(spec: Mapping[str, Any], namespaces: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of the live namespaces the CES selects, sorted."""
    selectors = list(spec.get("namespaceSelectors") or ())
    if spec.get("namespaceSelector"):
        selectors.append(spec["namespaceSelector"])
    names = set(spec.get("namespaces") or ())
    out = []
    for ns in namespaces:
        meta = ns.get("metadata") or {}
        if meta.get("deletionTimestamp") or (ns.get("status") or {}).get("phase") == "Terminating":
            continue
        labels = meta.get("labels") or {}
        if meta.get("name") in names or any(selector_matches(s, labels) for s in selectors):
            out.append(str(meta["name"]))
    return sorted(out)


def child_name(ces: Mapping[str, Any]) -> str:
    spec = ces.get("spec") or {}
    return str(spec.get("externalSecretName") or ces["metadata"]["name"])


def child(ces: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """The ExternalSecret the CES wants in ``namespace``."""
    spec = ces.get("spec") or {}
    extra = spec.get("externalSecretMetadata") or {}
    meta = ces["metadata"]
    metadata: dict[str, Any] = {
        "name": child_name(ces),
        "namespace": namespace,
        "labels": dict(extra.get("labels") or {}),
        "annotations": dict(extra.get("annotations") or {}),
        "ownerReferences": [
            {
                "apiVersion": GROUP_VERSION,
                "kind": "ClusterExternalSecret",
                "name": meta["name"],
                "uid": meta["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    force = (meta.get("annotations") or {}).get("external-secrets.io/force-sync")
    if force:  # copied to the children so a CES annotation change refreshes them (ESO)
        metadata["annotations"]["external-secrets.io/force-sync"] = force
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "ExternalSecret",
        "metadata": metadata,
        "spec": dict(spec.get("externalSecretSpec") or {}),
    }


def owned_by(es: Mapping[str, Any], ces: Mapping[str, Any]) -> bool:
    uid = ces["metadata"].get("uid")
    return any(r.get("uid") == uid for r in (es.get("metadata") or {}).get("ownerReferences") or ())


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reconcile(client: KubeClient, name: str) -> float | None:
    """Bring every selected namespace's ExternalSecret in line and write the status; the next due time."""
    from core_sync.kube import ApiError

    try:
        ces = client.get(f"{CES_PATH}/{name}")
    except ApiError as error:
        if error.not_found:
            return None  # its ExternalSecrets go with it (owner references)
        raise
    if (ces.get("metadata") or {}).get("deletionTimestamp"):
        return None
    spec = ces.get("spec") or {}
    namespaces = client.get("/api/v1/namespaces").get("items") or []
    wanted = selected_namespaces(spec, namespaces)
    es_name = child_name(ces)
    provisioned: list[str] = []
    failed: list[dict[str, str]] = []
    for namespace in wanted:
        path = f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets"
        body = child(ces, namespace)
        try:
            existing = client.get_or_none(f"{path}/{es_name}")
            if existing is None:
                client.create(path, body)
            elif not owned_by(existing, ces):
                failed.append({"namespace": namespace, "reason": NOT_OWNED})
                continue
            elif _differs(existing, body):
                client.request("PUT", f"{path}/{es_name}", body=_updated(existing, body))
            provisioned.append(namespace)
        except ApiError as error:
            reason = f"could not apply ExternalSecret: {error.reason or error.status}"
            failed.append({"namespace": namespace, "reason": reason})
    previous = (ces.get("status") or {}).get("provisionedNamespaces") or []
    for namespace in sorted(set(previous) - set(wanted)):
        path = f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets/{es_name}"
        existing = client.get_or_none(path)
        if existing is not None and owned_by(existing, ces):
            try:
                client.delete(path)
            except ApiError as error:
                if not error.not_found:
                    failed.append({"namespace": namespace, "reason": f"could not delete: {error.reason}"})
    ready = not failed
    condition = {
        "type": "Ready",
        "status": "True" if ready else "False",
        "reason": "" if ready else "ExternalSecretsNotReady",
        "message": "" if ready else "one or more namespaces failed",
        "lastTransitionTime": _now(),
    }
    old = next(
        (c for c in (ces.get("status") or {}).get("conditions") or () if c.get("type") == "Ready"), None
    )
    if old is not None and old.get("status") == condition["status"]:
        condition["lastTransitionTime"] = old.get("lastTransitionTime", condition["lastTransitionTime"])
    status = {
        "externalSecretName": es_name,
        "provisionedNamespaces": provisioned,
        "failedNamespaces": failed,
        "conditions": [condition],
    }
    client.merge_patch(f"{CES_PATH}/{name}/status", {"status": status})
    from gocompat.duration import parse_lenient

    try:
        return parse_lenient(spec.get("refreshTime"), DEFAULT_REFRESH_S)
    except ValueError:  # an unreadable refreshTime only changes how often namespaces are re-checked
        return DEFAULT_REFRESH_S


def _differs(existing: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    meta, want = existing.get("metadata") or {}, body["metadata"]
    return (
        existing.get("spec") != body["spec"]
        or any((meta.get("labels") or {}).get(k) != v for k, v in want["labels"].items())
        or any((meta.get("annotations") or {}).get(k) != v for k, v in want["annotations"].items())
    )


def _updated(existing: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """``existing`` with the CES's spec (replaced whole) and its labels and annotations (merged in)."""
    meta = dict(existing.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), **body["metadata"]["labels"]}
    meta["annotations"] = {**(meta.get("annotations") or {}), **body["metadata"]["annotations"]}
    return {**existing, "metadata": meta, "spec": body["spec"]}
