"""A :class:`~external_secrets.resolve.DataSource` over provider clients, optionally through the shared cache.

The controller passes the shared :class:`~external_secrets.cache.ProviderCache`; the render stage passes
none, so each call fetches fresh and nothing outlives it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from external_secrets.cache import ProviderCache
from external_secrets.providers import FetchKey, FindQuery, Provider, ProviderPool, RemoteSecret
from external_secrets.providers import scope as provider_scope
from external_secrets.resolve import StoreRef, requests_of
from external_secrets.stores import Store

LookupStore = Callable[[StoreRef], Store]


class ProviderSource:
    """Fetches for one ExternalSecret (one namespace), each store looked up through ``lookup``."""

    def __init__(
        self,
        namespace: str,
        lookup: LookupStore,
        pool: ProviderPool,
        cache: ProviderCache | None = None,
        max_age: float = 0.0,
    ) -> None:
        self.namespace = namespace
        self.lookup = lookup
        self.pool = pool
        self.cache = cache
        self.max_age = max_age
        self._local: dict[tuple[str, Any], Any] = {}  # de-duplicates within one resolve when uncached

    def _provider(self, ref: StoreRef) -> tuple[Store, Provider, str]:
        store = self.lookup(ref)
        return store, self.pool.get(store, self.namespace), provider_scope(store, self.namespace)

    def get(self, store_ref: StoreRef, ref: FetchKey) -> RemoteSecret:
        store, provider, scope = self._provider(store_ref)
        if self.cache is None:
            key = (scope, ref)
            if key not in self._local:
                self._local[key] = provider.fetch(ref)
            value: RemoteSecret = self._local[key]
            return value
        return self.cache.get(scope, store.ref, ref, self.max_age, provider.fetch)

    def find(self, store_ref: StoreRef, query: FindQuery) -> dict[str, RemoteSecret]:
        store, provider, scope = self._provider(store_ref)
        if self.cache is None:
            return provider.find(query)
        return self.cache.find(scope, store.ref, query, self.max_age, lambda: provider.find(query))

    def prefetch(self, spec: Mapping[str, Any]) -> None:
        """Batch the spec's single fetches per store where the provider has a batch API (AWS)."""
        if self.cache is None:
            return
        by_store: dict[StoreRef, list[FetchKey]] = {}
        for store_ref, ref in requests_of(spec):
            by_store.setdefault(store_ref, []).append(ref)
        for store_ref, refs in by_store.items():
            if len(refs) < 2:
                continue
            store, provider, scope = self._provider(store_ref)
            if not provider.name.startswith("aws"):
                continue
            batch: Callable[[Sequence[FetchKey]], Any] = provider.fetch_many
            self.cache.prefetch(scope, store.ref, refs, self.max_age, batch)
