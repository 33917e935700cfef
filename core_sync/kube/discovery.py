"""Kind → REST path, from the API server's discovery documents (one request per group version, cached).

A miss refreshes the group version once, so a CRD applied earlier in the same sync is found.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core_sync.kube.client import ApiError, KubeClient


@dataclass(frozen=True)
class Resource:
    """How to reach one kind: ``/apis/<group>/<version>/[namespaces/<ns>/]<plural>``."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def object_path(self, name: str, namespace: str | None = None) -> str:
        return f"{self.collection_path(namespace)}/{name}"


class UnknownKind(LookupError):
    """The API server serves no such kind (a missing CRD, or a typo in apiVersion/kind)."""


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class Discovery:
    """Caches one discovery document per group version; thread-safe."""

    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self._cache: dict[str, dict[str, Resource]] = {}
        self._lock = threading.Lock()

    def _fetch(self, api_version: str) -> dict[str, Resource]:
        group, version = split_api_version(api_version)
        path = f"/apis/{api_version}" if group else f"/api/{version}"
        try:
            document = self._client.get(path)
        except ApiError as error:
            if error.not_found:
                return {}
            raise
        kinds: dict[str, Resource] = {}
        for item in document.get("resources", []):
            if "/" in item["name"]:  # subresources such as deployments/status
                continue
            kinds[item["kind"]] = Resource(
                group, version, item["kind"], item["name"], bool(item["namespaced"])
            )
        return kinds

    def resource(self, api_version: str, kind: str, *, refresh: bool = True) -> Resource:
        with self._lock:
            kinds = self._cache.get(api_version)
        if kinds is None or (kind not in kinds and refresh):
            kinds = self._fetch(api_version)
            with self._lock:
                self._cache[api_version] = kinds
        if kind not in kinds:
            raise UnknownKind(f"the API server serves no {kind} in {api_version}")
        return kinds[kind]

    def for_object(self, obj: Mapping[str, Any]) -> Resource:
        return self.resource(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))

    def invalidate(self, api_version: str | None = None) -> None:
        with self._lock:
            if api_version is None:
                self._cache.clear()
            else:
                self._cache.pop(api_version, None)
