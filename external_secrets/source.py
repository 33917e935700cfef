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
from external_secrets.resolve import ResolveError, StoreRef, requests_of
from external_secrets.stores import Store

LookupStore = Callable[[StoreRef], Store]
ReadGenerator = Callable[[str, str], Mapping[str, Any] | None]  # (kind, name) in the ES namespace -> object


class ProviderSource:
    """Fetches for one ExternalSecret (one namespace), each store looked up through ``lookup``."""

    def __init__(
        self,
        namespace: str,
        lookup: LookupStore,
        pool: ProviderPool,
        cache: ProviderCache | None = None,
        max_age: float = 0.0,
        read_generator: ReadGenerator | None = None,
    ) -> None:
        self.namespace = namespace
        self.read_generator = read_generator
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

    def generate(self, generator_ref: Mapping[str, Any]) -> dict[str, bytes]:
        """Run the generator named by ``generatorRef`` (a fresh value every call, as in ESO; never cached)."""
        from external_secrets.generators import GENERATOR_GROUP, SUPPORTED_KINDS, GeneratorError, generate

        kind, name = str(generator_ref.get("kind", "")), str(generator_ref.get("name", ""))
        api_version = str(generator_ref.get("apiVersion") or f"{GENERATOR_GROUP}/v1alpha1")
        if not api_version.startswith(GENERATOR_GROUP + "/"):
            raise ResolveError(f"generatorRef.apiVersion {api_version!r} is not in {GENERATOR_GROUP}")
        if kind not in SUPPORTED_KINDS:
            raise ResolveError(f"generator kind {kind!r} is not supported ({', '.join(SUPPORTED_KINDS)} is)")
        if self.read_generator is None:  # render mode: a generated value would change on every render
            raise ResolveError("generators run only in the controller, not when rendering manifests")
        obj = self.read_generator(kind, name)
        if obj is None:
            raise ResolveError(f"{kind} {self.namespace}/{name} not found")
        try:
            return generate(kind, obj.get("spec") or {})
        except GeneratorError as error:
            raise ResolveError(f"{kind} {self.namespace}/{name}: {error}") from None

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
