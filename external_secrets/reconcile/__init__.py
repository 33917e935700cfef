"""Reconciling ExternalSecrets and (Cluster)SecretStores against the cluster (sync; runs in worker threads).

:class:`Reconciler` is the one type the controller holds; each job lives in its own module, as Flux splits
its resource manager by verb:

- :mod:`.cluster`: shared cluster calls (paths, events, deletes, finalizers, reads), backoff;
- :mod:`.store_check`: store validation, store ``Ready``, who may use a store;
- :mod:`.refresh`: when an ExternalSecret is due (pure);
- :mod:`.externalsecret`: one ExternalSecret refresh (fetch, resolve, deletionPolicy, render);
- :mod:`.secret_write`: the target Secret (creationPolicy, ownership, orphans, finalizer);
- :mod:`.conditions`: the ExternalSecret's ``status`` and events;
- :mod:`.pushsecret`: one PushSecret reconcile (source, template, push, stale deletes, status).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core_sync.kube import KubeClient
from external_secrets.cache import ProviderCache
from external_secrets.providers import ClientKubeAccess, ProviderPool
from external_secrets.reconcile.cluster import ClusterCalls
from external_secrets.reconcile.externalsecret import ExternalSecretSync
from external_secrets.reconcile.pushsecret import PushSecretSync
from external_secrets.reconcile.store_check import StoreChecker, StoreKey
from external_secrets.resolve import StoreRef
from external_secrets.stores import Store

__all__ = ["Reconciler"]


class Reconciler:
    """ExternalSecret and store reconciles over one :class:`KubeClient`."""

    def __init__(
        self,
        client: KubeClient,
        *,
        cache: ProviderCache | None = None,
        max_backoff: float = 420.0,
        poke: Callable[[tuple[str, ...], float], None] | None = None,
    ) -> None:
        self.client = client
        self.access = ClientKubeAccess(client)
        self.pool = ProviderPool(self.access)
        self.cache = cache or ProviderCache()
        self.poke = poke or (lambda key, delay: None)
        self.calls = ClusterCalls(client, max_backoff)
        self.store_checker = StoreChecker(self.calls, self.pool, self._poke_users_of)
        self.es_sync = ExternalSecretSync(self.calls, self.store_checker, self.pool, self.cache)
        # what the watches last reported, shared with the jobs that read them
        self.stores: dict[StoreKey, dict[str, Any]] = self.store_checker.stores
        self.store_state = self.store_checker.store_state
        self.externalsecrets = self.es_sync.externalsecrets
        self.es_state = self.es_sync.es_state
        self.push_sync = PushSecretSync(self.calls, self.store_checker, self.pool)
        self.pushsecrets = self.push_sync.pushsecrets

    def reconcile_store(self, key: StoreKey) -> float | None:
        return self.store_checker.reconcile_store(key)

    def reconcile_es(self, key: tuple[str, str]) -> float | None:
        return self.es_sync.reconcile_es(key)

    def reconcile_push(self, key: tuple[str, str]) -> float | None:
        return self.push_sync.reconcile_push(key)

    def lookup_store(self, ref: StoreRef, namespace: str) -> Store:
        return self.store_checker.lookup_store(ref, namespace)

    def _poke_users_of(self, store: Store) -> None:
        """A store became ready: ExternalSecrets and PushSecrets that failed fast on it may try now."""
        for namespace, name in self.es_sync.users_of(store):
            self.poke(("es", namespace, name), 0.0)
        for namespace, name in list(self.pushsecrets):
            if store.cluster or namespace == store.namespace:
                self.poke(("ps", namespace, name), 0.0)
