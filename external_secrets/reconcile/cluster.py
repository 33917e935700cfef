"""The small cluster calls every reconcile job shares: object paths, events, deletes, finalizers, reads of
generators and template sources, namespace labels (cached briefly), and the retry backoff."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core_sync.events import post_event
from core_sync.kube import ApiError, KubeClient
from external_secrets.generators import GENERATOR_GROUP
from external_secrets.resolve import ResolveError
from external_secrets.target import secret_data

log = logging.getLogger("lockstep.external")
GROUP, VERSION = "external-secrets.io", "v1"
# kind -> (API version, plural)
KINDS = {
    "ExternalSecret": (VERSION, "externalsecrets"),
    "SecretStore": (VERSION, "secretstores"),
    "ClusterSecretStore": (VERSION, "clustersecretstores"),
    "PushSecret": ("v1alpha1", "pushsecrets"),
}


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_path(kind: str, namespace: str | None, name: str, sub: str = "") -> str:
    version, plural = KINDS[kind]
    base = f"/apis/{GROUP}/{version}"
    path = f"{base}/namespaces/{namespace}/{plural}/{name}" if namespace else f"{base}/{plural}/{name}"
    return path + (f"/{sub}" if sub else "")


class ClusterCalls:
    """Best-effort and read-only calls on one :class:`KubeClient`, shared by the reconcile jobs."""

    def __init__(self, client: KubeClient, max_backoff: float) -> None:
        self.client = client
        self.max_backoff = max_backoff
        self._namespaces: dict[str, tuple[float, dict[str, str]]] = {}

    def backoff(self, failures: int) -> float:
        return min(2.0 ** max(failures - 1, 0), self.max_backoff) * random.uniform(1.0, 1.2)  # noqa: S311

    def event(self, obj: Mapping[str, Any], kind: str, type_: str, reason: str, message: str) -> None:
        """An Event about ``obj`` as an object of ``kind`` in this API group (best effort, never raises)."""
        version = KINDS.get(kind, (VERSION, ""))[0]
        involved = {"apiVersion": f"{GROUP}/{version}", "kind": kind, "metadata": obj.get("metadata") or {}}
        post_event(
            self.client,
            involved,
            reason,
            message,
            warning=type_ == "Warning",
            component="lockstep-external-secrets",
        )

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        cached = self._namespaces.get(namespace)
        if cached and time.monotonic() - cached[0] < 10:
            return cached[1]
        labels = dict(
            (self.client.get(f"/api/v1/namespaces/{namespace}").get("metadata") or {}).get("labels") or {}
        )
        self._namespaces[namespace] = (time.monotonic(), labels)
        return labels

    def delete(self, path: str) -> None:
        try:
            self.client.delete(path)
        except ApiError as error:
            if not error.not_found:
                raise

    def patch_finalizers(self, kind: str, obj: Mapping[str, Any], finalizers: list[str]) -> None:
        meta = obj["metadata"]
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta.get("resourceVersion")}}
        try:
            self.client.merge_patch(object_path(kind, meta["namespace"], meta["name"]), patch)
        except ApiError as error:
            if not (error.not_found or error.conflict):
                raise

    def read_generator(self, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
        """A generator object (``Password`` → ``passwords``) in the ExternalSecret's namespace."""
        path = f"/apis/{GENERATOR_GROUP}/v1alpha1/namespaces/{namespace}/{kind.lower()}s/{name}"
        try:
            return self.client.get_or_none(path)
        except ApiError as error:
            raise ResolveError(
                f"cannot read {kind} {namespace}/{name}: {error.reason or error.status}"
            ) from None

    def read_source(self, namespace: str, kind: str, name: str) -> dict[str, str]:
        """A template source (``templateFrom``'s ConfigMap or Secret) as text."""
        plural = "configmaps" if kind == "ConfigMap" else "secrets"
        obj = self.client.get_or_none(f"/api/v1/namespaces/{namespace}/{plural}/{name}")
        if obj is None:
            raise ResolveError(f"template source {kind} {namespace}/{name} not found")
        if kind == "ConfigMap":
            return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
        return {k: v.decode("utf-8", "surrogateescape") for k, v in secret_data(obj).items()}
