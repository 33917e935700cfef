"""Writing and deleting an ExternalSecret's target Secret: ``creationPolicy`` (Owner, Merge, Orphan,
None), ownership checks, immutable targets, orphans left under an earlier ``target.name``, and the
``deletionPolicy: Delete`` finalizer."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from core_sync.kube import ApiError
from external_secrets.reconcile.cluster import ClusterCalls
from external_secrets.reconcile.conditions import EsConditions
from external_secrets.reconcile.refresh import EsState, SyncAttempt
from external_secrets.target import (
    CREATED_BY,
    DATA_HASH,
    MANAGED_LABEL,
    created_by,
    data_hash,
    field_manager,
    owned_by_other,
    same_content,
    secret_body,
    secret_data,
    secret_is_valid,
    target_name,
)

FINALIZER = "externalsecrets.external-secrets.io/externalsecret-cleanup"


def owned_by(es: Mapping[str, Any], secret: Mapping[str, Any]) -> bool:
    uid = es["metadata"].get("uid")
    return any(r.get("uid") == uid for r in (secret.get("metadata") or {}).get("ownerReferences") or ())


class SecretWriter:
    """Creates, replaces, merges into and deletes target Secrets; reports through :class:`EsConditions`."""

    def __init__(self, calls: ClusterCalls, conditions: EsConditions) -> None:
        self.calls = calls
        self.conditions = conditions

    def write(
        self, attempt: SyncAttempt, wanted: Any, existing: dict[str, Any] | None, path: str
    ) -> float | None:
        es, state = attempt.es, attempt.state
        meta = es["metadata"]
        creation = ((es.get("spec") or {}).get("target") or {}).get("creationPolicy", "Owner")
        if creation == "None":
            return self.conditions.succeed(attempt)
        if creation == "Merge":
            return self._merge(attempt, wanted, existing, path)
        owner = creation == "Owner"
        if existing is not None and owner and owned_by_other(es, existing):
            return self.conditions.fail(es, state, "target is owned by another ExternalSecret", retry=False)
        body = secret_body(es, wanted, existing, owner=owner)
        if existing is not None:
            if same_content(existing, body):
                return self.conditions.succeed(attempt)
            if existing.get("immutable") and existing.get("data") != body.get("data"):
                return self.conditions.fail(
                    es, state, "could not update secret, target is immutable", retry=False
                )
        manager = field_manager(meta["name"])
        client = self.calls.client
        try:
            if existing is None:
                client.create(f"/api/v1/namespaces/{meta['namespace']}/secrets", body, fieldManager=manager)
            else:
                client.request("PUT", path, body=body, params={"fieldManager": manager})
        except ApiError as error:
            return self._write_failed(es, state, error)
        if owner:
            self.delete_orphans(es, wanted.name)
        self.calls.event(
            es,
            "ExternalSecret",
            "Normal",
            "SecretSynced",
            "secret created" if existing is None else "secret updated",
        )
        return self.conditions.succeed(attempt)

    def _merge(
        self, attempt: SyncAttempt, wanted: Any, existing: dict[str, Any] | None, path: str
    ) -> float | None:
        es, state = attempt.es, attempt.state
        meta = es["metadata"]
        if existing is None:
            return self.conditions.succeed(
                attempt, "SecretMissing", "secret will not be created due to CreationPolicy=Merge"
            )
        merged = {**secret_data(existing), **wanted.data}
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": wanted.name,
                "namespace": meta["namespace"],
                "labels": {**wanted.labels, MANAGED_LABEL: "true"},
                "annotations": {**wanted.annotations, DATA_HASH: data_hash(merged)},
            },
            "data": {k: base64.b64encode(v).decode() for k, v in wanted.data.items()},
        }
        if secret_data(existing) == merged and secret_is_valid(existing):
            return self.conditions.succeed(attempt)
        try:
            self.calls.client.apply(path, body, field_manager=field_manager(meta["name"]))
        except ApiError as error:
            return self._write_failed(es, state, error)
        self.calls.event(es, "ExternalSecret", "Normal", "SecretSynced", "secret updated")
        return self.conditions.succeed(attempt)

    def _write_failed(self, es: dict[str, Any], state: EsState, error: ApiError) -> float | None:
        if error.conflict:
            return 0.5
        return self.conditions.fail(
            es, state, f"could not update secret: {error.reason or error.status}: {error.message[:200]}"
        )

    def delete_orphans(self, es: dict[str, Any], current: str) -> None:
        """Owner: Secrets this ExternalSecret created under an earlier ``target.name`` are deleted (ESO)."""
        meta = es["metadata"]
        selector = f"{CREATED_BY}={created_by(meta['namespace'], meta['name'])}"
        try:
            items = self.calls.client.get(
                f"/api/v1/namespaces/{meta['namespace']}/secrets", labelSelector=selector
            )
        except ApiError:
            return
        for item in items.get("items") or ():
            name = item["metadata"]["name"]
            if name != current and owned_by(es, item):
                self.calls.delete(f"/api/v1/namespaces/{meta['namespace']}/secrets/{name}")
                self.calls.event(es, "ExternalSecret", "Normal", "Deleted", f"deleted orphaned secret {name}")

    def ensure_finalizer(self, es: dict[str, Any]) -> None:
        """``deletionPolicy: Delete`` needs a say before the ExternalSecret goes."""
        meta = es["metadata"]
        target = (es.get("spec") or {}).get("target") or {}
        if target.get("deletionPolicy") == "Delete" and FINALIZER not in (meta.get("finalizers") or ()):
            self.calls.patch_finalizers("ExternalSecret", es, [*(meta.get("finalizers") or ()), FINALIZER])

    def finalize(self, es: dict[str, Any]) -> bool:
        """``deletionPolicy: Delete``: delete the owned target, then drop the finalizer; ``True`` when the
        finalizer was patched away (a conflict leaves it, so the caller looks again)."""
        meta = es["metadata"]
        finalizers = list(meta.get("finalizers") or ())
        if FINALIZER not in finalizers:
            return False
        target = (es.get("spec") or {}).get("target") or {}
        if target.get("deletionPolicy") == "Delete" and target.get("creationPolicy", "Owner") == "Owner":
            path = f"/api/v1/namespaces/{meta['namespace']}/secrets/{target_name(es)}"
            existing = self.calls.client.get_or_none(path)
            if existing is not None and owned_by(es, existing):
                self.calls.delete(path)
        self.calls.patch_finalizers("ExternalSecret", es, [f for f in finalizers if f != FINALIZER])
        return True
