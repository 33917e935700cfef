"""SecretStore / ClusterSecretStore reconciles: validate each store (spec, client, provider login), write its
``Ready`` condition, and hand the stores that are ready to the objects that use them (the floodgate)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core_sync.kube import ApiError
from external_secrets.providers import ProviderError, ProviderPool
from external_secrets.reconcile.cluster import ClusterCalls, now_rfc3339, object_path
from external_secrets.resolve import ResolveError, StoreRef
from external_secrets.stores import Store, StoreConfigError, denied_message, namespace_allowed, parse_store
from gocompat.duration import parse_lenient as parse_duration

log = logging.getLogger("lockstep.external")
STORE_REVALIDATE_S = 300.0
StoreKey = tuple[str, str | None, str]  # (kind, namespace or None for a cluster store, name)


@dataclass
class StoreState:
    ready: bool = False
    reason: str = ""
    message: str = ""
    checked: float = 0.0
    failures: int = 0
    generation: int = -1


class StoreChecker:
    """The stores the controller has seen, whether each is ready, and who may use it."""

    def __init__(self, calls: ClusterCalls, pool: ProviderPool, on_ready: Callable[[Store], None]) -> None:
        self.calls = calls
        self.pool = pool
        self.on_ready = on_ready  # a store became ready: the objects that failed fast on it may try now
        self.lock = threading.Lock()
        self.stores: dict[StoreKey, dict[str, Any]] = {}
        self.store_state: dict[StoreKey, StoreState] = {}

    @staticmethod
    def store_key(ref: StoreRef, namespace: str) -> StoreKey:
        return (ref.kind, namespace if ref.kind == "SecretStore" else None, ref.name)

    def lookup_store(self, ref: StoreRef, namespace: str) -> Store:
        """The store an object in ``namespace`` may use now, or :class:`ResolveError` (the floodgate)."""
        if ref.kind not in ("SecretStore", "ClusterSecretStore"):
            raise ResolveError(f"secretStoreRef.kind {ref.kind!r} is not SecretStore or ClusterSecretStore")
        key = self.store_key(ref, namespace)
        obj = self.stores.get(key)
        if obj is None:
            raise ResolveError(f'{ref.kind} "{ref.name}" not found')
        state = self.store_state.get(key)
        generation = int((obj.get("metadata") or {}).get("generation") or 0)
        if state is None or state.generation != generation:
            with self.lock:  # many ExternalSecrets may meet a new store at once: validate it once
                state = self.store_state.get(key)
                if state is None or state.generation != generation:
                    self.reconcile_store(key)
                    state = self.store_state.get(key)
        if state is None or not state.ready:
            raise ResolveError(f'{ref.kind} "{ref.name}" is not ready')
        store = parse_store(obj)
        if store.cluster and not namespace_allowed(store, namespace, self.calls.namespace_labels(namespace)):
            raise ResolveError(denied_message(store, namespace))
        return store

    def reconcile_store(self, key: StoreKey) -> float | None:
        obj = self.stores.get(key)
        if obj is None:
            self.store_state.pop(key, None)
            return None
        generation = int((obj.get("metadata") or {}).get("generation") or 0)
        state = self.store_state.setdefault(key, StoreState())
        was_ready = state.ready
        try:
            store = parse_store(obj)
        except StoreConfigError as error:
            self._status(obj, state, False, "InvalidStoreConfiguration", f"invalid store: {error}")
            state.generation = generation
            return None  # only a spec change can fix it
        if store.referent():
            self._status(obj, state, True, "ValidationUnknown", "could not determine validation status")
        else:
            try:
                self.pool.forget(store)
                provider = self.pool.get(store, store.namespace or "default")
            except ProviderError as error:
                self._status(obj, state, False, "InvalidProviderConfig", f"unable to create client: {error}")
            else:
                try:
                    provider.validate()
                except ProviderError as error:
                    self._status(obj, state, False, "ValidationFailed", f"unable to validate store: {error}")
                else:
                    self._status(obj, state, True, "Valid", "store validated")
        state.generation = generation
        state.checked = time.monotonic()
        if state.ready:
            state.failures = 0
            if not was_ready:
                self.on_ready(store)
            interval = parse_duration(obj.get("spec", {}).get("refreshInterval"), STORE_REVALIDATE_S)
            return interval if interval > 0 else STORE_REVALIDATE_S
        state.failures += 1
        return min(self.calls.backoff(state.failures), 60.0)

    def _status(
        self, obj: Mapping[str, Any], state: StoreState, ready: bool, reason: str, message: str
    ) -> None:
        changed = (state.ready, state.reason, state.message) != (ready, reason, message)
        state.ready, state.reason, state.message = ready, reason, message
        current = [c for c in (obj.get("status") or {}).get("conditions") or () if c.get("type") == "Ready"]
        live = current[0] if current else {}
        status_word = "True" if ready else "False"
        if not changed and live.get("status") == status_word and live.get("reason") == reason:
            return
        meta = obj["metadata"]
        condition = {
            "type": "Ready",
            "status": status_word,
            "reason": reason,
            "message": message[:1024],
            "lastTransitionTime": live.get("lastTransitionTime")
            if live.get("status") == status_word
            else now_rfc3339(),
        }
        patch = {"status": {"conditions": [condition], "capabilities": "ReadWrite"}}
        try:
            self.calls.client.merge_patch(
                object_path(obj["kind"], meta.get("namespace"), meta["name"], "status"), patch
            )
        except ApiError as error:
            if not error.not_found:
                log.warning(
                    "could not write store status", extra={"store": meta["name"], "error": str(error)}
                )
        if not ready and changed:
            self.calls.event(obj, obj["kind"], "Warning", reason, message)
