"""One ExternalSecret refresh: decide whether it is due, fetch and resolve its data through the stores,
apply ``deletionPolicy`` to missing data, render the target, and hand it to :class:`SecretWriter`.

The failure rule: any error before the write (provider down, missing key, bad property, template error,
store not ready) leaves the target Secret untouched, byte for byte; the ExternalSecret goes Ready=False
with a reason and is retried with backoff (1 s doubling to ``max_backoff``). Messages and events carry
spec paths, key names and provider error text, never values.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import Any

from external_secrets.cache import ProviderCache
from external_secrets.providers import AuthError, ProviderError, ProviderPool
from external_secrets.reconcile.cluster import ClusterCalls
from external_secrets.reconcile.conditions import EsConditions
from external_secrets.reconcile.refresh import (
    EsState,
    SyncAttempt,
    next_refresh,
    should_refresh,
    state_from_status,
)
from external_secrets.reconcile.secret_write import SecretWriter, owned_by
from external_secrets.reconcile.store_check import StoreChecker
from external_secrets.resolve import ResolveError, StoreRef, resolve, stores_of
from external_secrets.source import ProviderSource
from external_secrets.target import build_target, secret_is_valid, synced_resource_version, target_name
from external_secrets.templating import render
from gocompat.duration import parse_lenient as parse_duration


def safe_store_refs(obj: Mapping[str, Any]) -> list[StoreRef]:
    try:
        return stores_of(obj.get("spec") or {})
    except ResolveError:
        return []


class ExternalSecretSync:
    """Refreshes ExternalSecrets; ``externalsecrets`` is what the watch last reported."""

    def __init__(
        self,
        calls: ClusterCalls,
        stores: StoreChecker,
        pool: ProviderPool,
        cache: ProviderCache,
    ) -> None:
        self.calls = calls
        self.stores = stores
        self.pool = pool
        self.cache = cache
        self.conditions = EsConditions(calls)
        self.writer = SecretWriter(calls, self.conditions)
        self.externalsecrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.es_state: dict[tuple[str, str], EsState] = {}

    def users_of(self, store: Any) -> list[tuple[str, str]]:
        """The ExternalSecrets that name ``store``."""
        return [
            (namespace, name)
            for (namespace, name), es in list(self.externalsecrets.items())
            if any(
                r.name == store.name
                and r.kind == store.kind
                and (store.cluster or namespace == store.namespace)
                for r in safe_store_refs(es)
            )
        ]

    def reconcile_es(self, key: tuple[str, str]) -> float | None:
        es = self.externalsecrets.get(key)
        if es is None:
            self.es_state.pop(key, None)
            return None
        meta = es["metadata"]
        state = self.es_state.get(key)
        if state is None or state.uid != meta.get("uid"):
            state = self.es_state[key] = state_from_status(es)
        if meta.get("deletionTimestamp"):
            # a finalizer patch that met a newer resourceVersion is retried; the deletion cancels this
            return 1.0 if self.writer.finalize(es) else None
        spec = es.get("spec") or {}
        target = spec.get("target") or {}
        creation = target.get("creationPolicy", "Owner")
        self.writer.ensure_finalizer(es)
        try:
            interval = parse_duration(spec.get("refreshInterval"), 3600.0)
        except ValueError as error:
            return self.conditions.fail(es, state, f"spec.refreshInterval: {error}", retry=False)
        policy = spec.get("refreshPolicy") or "Periodic"
        current_version = synced_resource_version(es)
        path = f"/api/v1/namespaces/{meta['namespace']}/secrets/{target_name(es)}"
        existing = self.calls.client.get_or_none(path)
        valid = (
            creation in ("Orphan", "None")
            or (creation == "Merge" and existing is None)
            or secret_is_valid(existing)
        )
        if valid and not should_refresh(state, policy, interval, current_version):
            return next_refresh(state, policy, interval)
        started = time.time()
        namespace = meta["namespace"]
        source = ProviderSource(
            namespace,
            lambda ref: self.stores.lookup_store(ref, namespace),
            self.pool,
            self.cache,
            max_age=interval if interval > 0 else 60.0,
            read_generator=lambda kind, name: self.calls.read_generator(namespace, kind, name),
        )
        try:
            with contextlib.suppress(ProviderError, ResolveError):  # the fetches below report it per entry
                source.prefetch(spec)
            resolved = resolve(spec, source, render)
        except ResolveError as error:
            if isinstance(error.cause, AuthError):
                for store_ref in safe_store_refs(es):
                    with contextlib.suppress(ResolveError):
                        self.pool.forget(self.stores.lookup_store(store_ref, namespace))
            return self.conditions.fail(es, state, f"could not get secret data from provider: {error}")
        except ProviderError as error:
            return self.conditions.fail(es, state, f"could not get secret data from provider: {error}")
        for where in resolved.missing:
            self.calls.event(
                es,
                "ExternalSecret",
                "Normal",
                "MissingProviderSecret",
                f"secret does not exist at provider using {where}",
            )
        deletion = target.get("deletionPolicy", "Retain")
        attempt = SyncAttempt(es, state, started, current_version, policy, interval)
        if not resolved.data and resolved.missing and deletion == "Delete":
            if existing is not None and creation == "Owner" and owned_by(es, existing):
                self.calls.delete(path)
            return self.conditions.succeed(
                attempt, "SecretDeleted", "secret deleted due to DeletionPolicy=Delete"
            )
        if not resolved.data and deletion == "Retain" and existing is not None:
            return self.conditions.succeed(
                attempt, "SecretSynced", "secret retained due to DeletionPolicy=Retain"
            )
        try:
            wanted = build_target(
                es,
                resolved.data,
                render,
                lambda kind, name: self.calls.read_source(namespace, kind, name),
            )
        except ResolveError as error:
            return self.conditions.fail(es, state, f"could not apply template: {error}")
        return self.writer.write(attempt, wanted, existing, path)
