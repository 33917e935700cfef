"""Provider clients per store, kept for a while so logins and boto3 clients are reused across reconciles."""

from __future__ import annotations

import threading
import time

from external_secrets.providers.base import (
    CALLS,
    AuthError,
    FetchKey,
    FindQuery,
    NoSecretError,
    Provider,
    ProviderError,
    ProviderUnavailable,
    RemoteSecret,
)
from external_secrets.providers.kube_access import ClientKubeAccess, KubeAccess
from external_secrets.stores import Store

__all__ = [
    "CALLS",
    "AuthError",
    "ClientKubeAccess",
    "FetchKey",
    "FindQuery",
    "KubeAccess",
    "NoSecretError",
    "Provider",
    "ProviderError",
    "ProviderPool",
    "ProviderUnavailable",
    "RemoteSecret",
    "open_provider",
]


def open_provider(store: Store, es_namespace: str, kube: KubeAccess, *, reuse: bool = True) -> Provider:
    """A fresh provider client for ``store`` (credentials resolved for ``es_namespace`` if referent);
    ``reuse=False`` shares no client or credentials with other calls."""
    if store.provider == "vault":
        from external_secrets.providers.vault import VaultProvider

        return VaultProvider(store, es_namespace, kube)
    if store.provider == "aws-secrets-manager":
        from external_secrets.providers.aws_secrets_manager import SecretsManagerProvider

        return SecretsManagerProvider(store, es_namespace, kube, reuse=reuse)
    if store.provider == "aws-parameter-store":
        from external_secrets.providers.aws_parameter_store import ParameterStoreProvider

        return ParameterStoreProvider(store, es_namespace, kube, reuse=reuse)
    raise ProviderError(f"{store.ref}: provider {store.provider!r} not supported")


def scope(store: Store, es_namespace: str) -> str:
    """What a provider client (and a cached value) is valid for: the store, its generation, and the
    namespace when credentials are resolved per ExternalSecret namespace."""
    suffix = f"@{es_namespace}" if store.referent() else ""
    return f"{store.ref}#{store.uid}#{store.generation}{suffix}"


class ProviderPool:
    """Provider clients by :func:`scope`; each lives ``ttl`` seconds so credential changes are picked up."""

    def __init__(self, kube: KubeAccess, ttl: float = 300.0, *, reuse: bool = True) -> None:
        self.kube = kube
        self.ttl = ttl
        self.reuse = reuse
        self._lock = threading.Lock()
        self._clients: dict[str, tuple[float, Provider]] = {}

    def get(self, store: Store, es_namespace: str) -> Provider:
        key = scope(store, es_namespace)
        now = time.monotonic()
        with self._lock:
            entry = self._clients.get(key)
            if entry is not None and now - entry[0] < self.ttl:
                return entry[1]
        provider = open_provider(store, es_namespace, self.kube, reuse=self.reuse)
        with self._lock:
            self._clients[key] = (now, provider)
        return provider

    def forget(self, store: Store) -> None:
        """Drop every client of ``store`` (after an auth failure or a spec change)."""
        with self._lock:
            for key in [k for k in self._clients if k.startswith(store.ref + "#")]:
                del self._clients[key]
