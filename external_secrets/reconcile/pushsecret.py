"""One PushSecret reconcile: read the source Secret (or run the generator), apply the template, push each
``spec.data`` entry to every selected store, delete what is no longer pushed (``deletionPolicy: Delete``),
and write ``Ready`` (ESO's reasons ``Synced`` / ``Errored``) and ``syncedPushSecrets``.

Failures leave the remote secrets as they are and retry with backoff; messages name stores, remote keys
and Secret keys, never values.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from core_sync.kube import ApiError
from external_secrets.providers import ProviderError, ProviderPool
from external_secrets.providers.base import Pusher
from external_secrets.push import (
    FINALIZER,
    PushRef,
    PushSpec,
    PushSpecError,
    SyncedMap,
    entry_value,
    parse_push,
    stale,
    store_key,
    synced_patch,
)
from external_secrets.reconcile.cluster import ClusterCalls
from external_secrets.reconcile.conditions import report_failure, write_ready
from external_secrets.reconcile.refresh import JITTER
from external_secrets.reconcile.store_check import StoreChecker
from external_secrets.resolve import ResolveError, StoreRef
from external_secrets.source import ProviderSource
from external_secrets.stores import Store, selector_matches
from external_secrets.target import build_target, secret_data, synced_resource_version
from external_secrets.templating import render

log = logging.getLogger("lockstep.external")
SYNCED, ERRORED = "Synced", "Errored"  # ESO's PushSecret condition reasons
DONE = "PushSecret synced successfully"


class PushFailed(Exception):
    """A push step failed; ``synced`` is what was pushed before it (kept in status, as ESO does)."""

    def __init__(self, message: str, synced: SyncedMap | None = None) -> None:
        super().__init__(message)
        self.synced = synced


@dataclass
class PushState:
    """What the controller remembers about one PushSecret between reconciles (no values)."""

    uid: str = ""
    failures: int = 0
    last_push: float = 0.0
    synced_version: str = ""
    ready: tuple[str, str, str] | None = None
    synced: SyncedMap | None = None  # status.syncedPushSecrets as last written (the watch may lag)


class PushSecretSync:
    """Reconciles PushSecrets; ``pushsecrets`` is what the watch last reported."""

    def __init__(self, calls: ClusterCalls, stores: StoreChecker, pool: ProviderPool) -> None:
        self.calls = calls
        self.stores = stores
        self.pool = pool
        self.pushsecrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.state: dict[tuple[str, str], PushState] = {}

    def reconcile_push(self, key: tuple[str, str]) -> float | None:
        ps = self.pushsecrets.get(key)
        if ps is None:
            self.state.pop(key, None)
            return None
        meta = ps["metadata"]
        state = self.state.get(key)
        if state is None or state.uid != meta.get("uid"):
            state = self.state[key] = PushState(uid=str(meta.get("uid", "")))
        if meta.get("deletionTimestamp"):
            return self._finalize(ps, state)
        try:
            spec = parse_push(ps)
        except PushSpecError as error:
            return self._fail(ps, state, str(error), retry=False)
        if self._finalizer_changed(ps, spec):
            return 0.5  # look again once the watch has the new metadata (a conflict is retried too)
        version = synced_resource_version(ps)
        if state.synced_version == version and spec.interval > 0:
            due = state.last_push + spec.interval - time.time()
            if due > 0:
                return due
        elif state.synced_version == version and state.last_push:
            return None  # refreshInterval 0: push once per spec change
        started = time.time()
        old = self._last_synced(ps, state)
        try:
            synced = self._push(ps, spec)
            if spec.deletion_policy == "Delete":
                self._delete_stale(ps, old, synced)
        except PushFailed as error:
            merged = _merge(error.synced, old) if error.synced is not None else None
            return self._fail(ps, state, str(error), synced=merged)
        state.failures, state.last_push, state.synced_version = 0, started, version
        message = DONE + (
            ". Existing secrets in providers unchanged." if spec.update_policy == "IfNotExists" else ""
        )
        state.synced = synced
        extra = {
            "syncedPushSecrets": synced_patch(old, synced),
            "refreshTime": datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "syncedResourceVersion": version,
        }
        first = state.ready != ("True", SYNCED, message)
        write_ready(self.calls, "PushSecret", ps, state, ("True", SYNCED, message), extra)
        if first:
            self.calls.event(ps, "PushSecret", "Normal", SYNCED, message)
        if spec.interval <= 0:
            return None
        return spec.interval * random.uniform(1.0, 1.0 + JITTER)  # noqa: S311

    # -- the push ----------------------------------------------------------------------------------
    def _source(self, ps: dict[str, Any], spec: PushSpec) -> dict[str, bytes]:
        namespace = ps["metadata"]["namespace"]
        if spec.generator is not None:
            source = ProviderSource(
                namespace,
                lambda ref: self.stores.lookup_store(ref, namespace),
                self.pool,
                None,
                read_generator=lambda kind, name: self.calls.read_generator(namespace, kind, name),
            )
            try:
                data = source.generate(spec.generator)
            except ResolveError as error:
                raise PushFailed(f"spec.selector.generatorRef: {error}") from None
        else:
            path = f"/api/v1/namespaces/{namespace}/secrets/{spec.secret_name}"
            try:
                secret = self.calls.client.get_or_none(path)
            except ApiError as error:
                raise PushFailed(f"could not get source secret: {error.reason or error.status}") from None
            if secret is None:
                raise PushFailed(
                    f"could not get source secret: Secret {namespace}/{spec.secret_name} not found"
                )
            data = secret_data(secret)
        if not spec.template:
            return data
        templated = {"metadata": ps["metadata"], "spec": {"target": {"template": spec.template}}}
        try:
            return build_target(
                templated, data, render, lambda kind, name: self.calls.read_source(namespace, kind, name)
            ).data
        except ResolveError as error:
            raise PushFailed(
                f"could not apply template: {str(error).replace('spec.target.', 'spec.')}"
            ) from None

    def _targets(self, ps: dict[str, Any], spec: PushSpec) -> list[Store]:
        """The ready stores ``spec.secretStoreRefs`` names or selects, each once."""
        namespace = ps["metadata"]["namespace"]
        refs: list[StoreRef] = []
        for selector in spec.stores:
            if selector.name:
                refs.append(StoreRef(selector.name, selector.kind))
                continue
            for (kind, store_ns, name), obj in sorted(self.stores.stores.items(), key=str):
                labels = (obj.get("metadata") or {}).get("labels") or {}
                if kind != selector.kind or (kind == "SecretStore" and store_ns != namespace):
                    continue
                if selector_matches(selector.labels or {}, labels):
                    refs.append(StoreRef(name, kind))
        out: dict[str, Store] = {}
        for ref in refs:
            try:
                store = self.stores.lookup_store(ref, namespace)
            except ResolveError as error:
                raise PushFailed(str(error)) from None
            out.setdefault(store.ref, store)
        return list(out.values())

    def _pusher(self, store: Store, namespace: str) -> Pusher:
        try:
            provider = self.pool.get(store, namespace)
        except ProviderError as error:
            raise PushFailed(f"could not get secrets client for store {store.name}: {error}") from None
        if not hasattr(provider, "push"):
            raise PushFailed(f"{store.ref}: provider {store.provider!r} does not support PushSecret")
        return cast(Pusher, provider)

    def _push(self, ps: dict[str, Any], spec: PushSpec) -> SyncedMap:
        namespace = ps["metadata"]["namespace"]
        data = self._source(ps, spec)
        synced: SyncedMap = {}
        for store in self._targets(ps, spec):
            entries = synced.setdefault(store_key(store.kind, store.name), {})
            pusher = self._pusher(store, namespace)
            for entry in spec.entries:
                try:
                    value = entry_value(entry, data)
                    if spec.update_policy == "IfNotExists" and pusher.exists(entry.ref):
                        entries[entry.ref.status_ref] = dict(entry.spec)
                        continue
                    pusher.push(entry.ref, value, entry.spec.get("metadata"))
                except PushSpecError as error:
                    raise PushFailed(f"set secret failed: {error}", synced) from None
                except ProviderError as error:
                    self._forget_on_auth(store, error)
                    where = entry.secret_key or "(whole secret)"
                    raise PushFailed(
                        f"set secret failed: could not write remote ref {where} to target secretstore "
                        f"{store.name}: {error}",
                        synced,
                    ) from None
                entries[entry.ref.status_ref] = dict(entry.spec)
        return synced

    def _delete_stale(self, ps: dict[str, Any], old: SyncedMap, new: SyncedMap) -> None:
        """``deletionPolicy: Delete``: remove from the providers what was pushed before and is not now."""
        namespace = ps["metadata"]["namespace"]
        for key, ref in stale(old, new):
            self._delete_one(namespace, key, ref, new)

    def _delete_one(self, namespace: str, key: str, ref: PushRef, synced: SyncedMap) -> None:
        kind, _, name = key.partition("/")
        try:
            store = self.stores.lookup_store(StoreRef(name, kind), namespace)
        except ResolveError as error:
            raise PushFailed(
                "Failed to Delete Secrets from Provider: could not get secrets client for store "
                f"{key}: {error}",
                synced,
            ) from None
        try:
            self._pusher(store, namespace).delete(ref)
        except ProviderError as error:
            self._forget_on_auth(store, error)
            raise PushFailed(f"Failed to Delete Secrets from Provider: {error}", synced) from None

    def _forget_on_auth(self, store: Store, error: ProviderError) -> None:
        from external_secrets.providers import AuthError

        if isinstance(error, AuthError):
            self.pool.forget(store)

    # -- lifecycle ---------------------------------------------------------------------------------
    def _finalizer_changed(self, ps: dict[str, Any], spec: PushSpec) -> bool:
        """Only ``deletionPolicy: Delete`` holds the PushSecret back on deletion (ESO's finalizer)."""
        finalizers = list(ps["metadata"].get("finalizers") or ())
        if spec.deletion_policy == "Delete" and FINALIZER not in finalizers:
            self.calls.patch_finalizers("PushSecret", ps, [*finalizers, FINALIZER])
            return True
        if spec.deletion_policy != "Delete" and FINALIZER in finalizers:
            self.calls.patch_finalizers("PushSecret", ps, [f for f in finalizers if f != FINALIZER])
            return True
        return False

    def _finalize(self, ps: dict[str, Any], state: PushState) -> float | None:
        """Deleted with our finalizer: delete every pushed remote secret, then let the object go."""
        meta = ps["metadata"]
        finalizers = list(meta.get("finalizers") or ())
        if FINALIZER not in finalizers:
            return None
        old = self._last_synced(ps, state)
        try:
            for key, ref in stale(old, {}):
                self._delete_one(meta["namespace"], key, ref, {})
        except PushFailed as error:
            return self._fail(ps, state, str(error))
        state.synced = {}
        self.calls.patch_finalizers("PushSecret", ps, [f for f in finalizers if f != FINALIZER])
        return 1.0  # a patch that met a newer resourceVersion is retried; the object's deletion cancels this

    @staticmethod
    def _last_synced(ps: Mapping[str, Any], state: PushState) -> SyncedMap:
        return state.synced if state.synced is not None else _synced(ps)

    def _fail(
        self, ps: dict[str, Any], state: PushState, message: str, *, retry: bool = True, synced: Any = None
    ) -> float | None:
        extra = {}
        if synced is not None:
            extra = {"syncedPushSecrets": synced_patch(self._last_synced(ps, state), synced)}
            state.synced = synced
        return report_failure(
            self.calls, "PushSecret", ps, state, (ERRORED, message), retry=retry, extra=extra
        )


def _synced(ps: Mapping[str, Any]) -> SyncedMap:
    raw = (ps.get("status") or {}).get("syncedPushSecrets") or {}
    return {str(k): {str(r): dict(e or {}) for r, e in (v or {}).items()} for k, v in raw.items()}


def _merge(new: SyncedMap, old: SyncedMap) -> SyncedMap:
    """ESO's ``mergeSecretState``: after a failure, status keeps what was pushed before and now."""
    out = {k: dict(v) for k, v in new.items()}
    for key, entries in old.items():
        out.setdefault(key, {}).update(entries)
    return out
