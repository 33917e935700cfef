"""Reconciling ExternalSecrets and (Cluster)SecretStores against the cluster (sync; runs in worker threads).

The failure rule: any error before the write (provider down, missing key, bad property, template error,
store not ready) leaves the target Secret untouched, byte for byte; the ExternalSecret goes Ready=False
with a reason and is retried with backoff (1 s doubling to ``max_backoff``). Messages and events carry
spec paths, key names and provider error text, never values.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core_sync.events import post_event
from core_sync.kube import ApiError, KubeClient
from external_secrets.cache import ProviderCache
from external_secrets.generators import GENERATOR_GROUP
from external_secrets.providers import AuthError, ClientKubeAccess, ProviderError, ProviderPool
from external_secrets.resolve import ResolveError, StoreRef, resolve, stores_of
from external_secrets.source import ProviderSource
from external_secrets.stores import Store, StoreConfigError, denied_message, namespace_allowed, parse_store
from external_secrets.target import (
    CREATED_BY,
    DATA_HASH,
    MANAGED_LABEL,
    build_target,
    created_by,
    data_hash,
    field_manager,
    owned_by_other,
    same_content,
    secret_body,
    secret_data,
    secret_is_valid,
    synced_resource_version,
    target_name,
)
from external_secrets.templating import render
from gocompat.duration import parse_lenient as parse_duration

log = logging.getLogger("lockstep.external")
GROUP, VERSION = "external-secrets.io", "v1"
FINALIZER = "externalsecrets.external-secrets.io/externalsecret-cleanup"
PLURALS = {
    "ExternalSecret": "externalsecrets",
    "SecretStore": "secretstores",
    "ClusterSecretStore": "clustersecretstores",
}
JITTER = 0.1  # refreshes land in [interval, interval * 1.1): spreads a mass creation over later cycles
STORE_REVALIDATE_S = 300.0


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_path(kind: str, namespace: str | None, name: str, sub: str = "") -> str:
    base = f"/apis/{GROUP}/{VERSION}"
    path = (
        f"{base}/namespaces/{namespace}/{PLURALS[kind]}/{name}"
        if namespace
        else f"{base}/{PLURALS[kind]}/{name}"
    )
    return path + (f"/{sub}" if sub else "")


@dataclass
class EsState:
    """What the controller remembers about one ExternalSecret between reconciles (no values)."""

    uid: str = ""
    failures: int = 0
    last_refresh: float = 0.0  # wall clock of the last successful sync
    synced_version: str = ""
    ready: tuple[str, str, str] | None = None  # (status, reason, message) last written


@dataclass(frozen=True)
class SyncAttempt:
    """One sync of an ExternalSecret under way: what a success records in status and state, and what
    decides when the next refresh is due."""

    es: dict[str, Any]
    state: EsState
    started: float  # wall clock when the fetch began: the status' refreshTime
    version: str  # the ExternalSecret's resourceVersion being synced
    policy: str
    interval: float


@dataclass
class StoreState:
    ready: bool = False
    reason: str = ""
    message: str = ""
    checked: float = 0.0
    failures: int = 0
    generation: int = -1


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
        self.max_backoff = max_backoff
        self.poke = poke or (lambda key, delay: None)
        self.lock = threading.Lock()
        self.externalsecrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.stores: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self.es_state: dict[tuple[str, str], EsState] = {}
        self.store_state: dict[tuple[str, str | None, str], StoreState] = {}
        self._namespaces: dict[str, tuple[float, dict[str, str]]] = {}

    # -- helpers ---------------------------------------------------------------------------------------
    def backoff(self, failures: int) -> float:
        return min(2.0 ** max(failures - 1, 0), self.max_backoff) * random.uniform(1.0, 1.2)  # noqa: S311

    def event(self, obj: Mapping[str, Any], kind: str, type_: str, reason: str, message: str) -> None:
        """An Event about ``obj`` as an object of ``kind`` in this API group (best effort, never raises)."""
        involved = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": obj.get("metadata") or {}}
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

    # -- stores ----------------------------------------------------------------------------------------
    def store_key(self, ref: StoreRef, es_namespace: str) -> tuple[str, str | None, str]:
        return (ref.kind, es_namespace if ref.kind == "SecretStore" else None, ref.name)

    def lookup_store(self, ref: StoreRef, es_namespace: str) -> Store:
        """The store an ExternalSecret may use now, or :class:`ResolveError` (the floodgate)."""
        if ref.kind not in ("SecretStore", "ClusterSecretStore"):
            raise ResolveError(f"secretStoreRef.kind {ref.kind!r} is not SecretStore or ClusterSecretStore")
        key = self.store_key(ref, es_namespace)
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
        if store.cluster and not namespace_allowed(store, es_namespace, self.namespace_labels(es_namespace)):
            raise ResolveError(denied_message(store, es_namespace))
        return store

    def reconcile_store(self, key: tuple[str, str | None, str]) -> float | None:
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
            self._store_status(obj, state, False, "InvalidStoreConfiguration", f"invalid store: {error}")
            state.generation = generation
            return None  # only a spec change can fix it
        if store.referent():
            self._store_status(obj, state, True, "ValidationUnknown", "could not determine validation status")
        else:
            try:
                self.pool.forget(store)
                provider = self.pool.get(store, store.namespace or "default")
            except ProviderError as error:
                self._store_status(
                    obj, state, False, "InvalidProviderConfig", f"unable to create client: {error}"
                )
            else:
                try:
                    provider.validate()
                except ProviderError as error:
                    self._store_status(
                        obj, state, False, "ValidationFailed", f"unable to validate store: {error}"
                    )
                else:
                    self._store_status(obj, state, True, "Valid", "store validated")
        state.generation = generation
        state.checked = time.monotonic()
        if state.ready:
            state.failures = 0
            if not was_ready:  # ExternalSecrets failed fast on this store: let them try now
                self._poke_users_of(store)
            interval = parse_duration(obj.get("spec", {}).get("refreshInterval"), STORE_REVALIDATE_S)
            return interval if interval > 0 else STORE_REVALIDATE_S
        state.failures += 1
        return min(self.backoff(state.failures), 60.0)

    def _poke_users_of(self, store: Store) -> None:
        for (namespace, name), es in list(self.externalsecrets.items()):
            refs = _safe_store_refs(es)
            if any(
                r.name == store.name
                and r.kind == store.kind
                and (store.cluster or namespace == store.namespace)
                for r in refs
            ):
                self.poke(("es", namespace, name), 0.0)

    def _store_status(
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
            self.client.merge_patch(
                object_path(obj["kind"], meta.get("namespace"), meta["name"], "status"), patch
            )
        except ApiError as error:
            if not error.not_found:
                log.warning(
                    "could not write store status", extra={"store": meta["name"], "error": str(error)}
                )
        if not ready and changed:
            self.event(obj, obj["kind"], "Warning", reason, message)

    # -- ExternalSecrets -------------------------------------------------------------------------------
    def reconcile_es(self, key: tuple[str, str]) -> float | None:
        es = self.externalsecrets.get(key)
        if es is None:
            self.es_state.pop(key, None)
            return None
        meta = es["metadata"]
        state = self.es_state.get(key)
        if state is None or state.uid != meta.get("uid"):
            state = self.es_state[key] = _state_from_status(es)
        if meta.get("deletionTimestamp"):
            self._finalize(es)
            return None
        spec = es.get("spec") or {}
        target = spec.get("target") or {}
        creation = target.get("creationPolicy", "Owner")
        if target.get("deletionPolicy") == "Delete" and FINALIZER not in (meta.get("finalizers") or ()):
            self._patch_finalizers(es, [*(meta.get("finalizers") or ()), FINALIZER])
        try:
            interval = parse_duration(spec.get("refreshInterval"), 3600.0)
        except ValueError as error:
            return self._fail(es, state, f"spec.refreshInterval: {error}", retry=False)
        policy = spec.get("refreshPolicy") or "Periodic"
        current_version = synced_resource_version(es)
        path = f"/api/v1/namespaces/{meta['namespace']}/secrets/{target_name(es)}"
        existing = self.client.get_or_none(path)
        valid = (
            creation in ("Orphan", "None")
            or (creation == "Merge" and existing is None)
            or secret_is_valid(existing)
        )
        if valid and not _should_refresh(state, policy, interval, current_version):
            return _next_refresh(state, policy, interval)
        started = time.time()
        source = ProviderSource(
            meta["namespace"],
            lambda ref: self.lookup_store(ref, meta["namespace"]),
            self.pool,
            self.cache,
            max_age=interval if interval > 0 else 60.0,
            read_generator=lambda kind, name: self._read_generator(meta["namespace"], kind, name),
        )
        try:
            with contextlib.suppress(ProviderError, ResolveError):  # the fetches below report it per entry
                source.prefetch(spec)
            resolved = resolve(spec, source, render)
        except ResolveError as error:
            if isinstance(error.cause, AuthError):
                for store_ref in _safe_store_refs(es):
                    with contextlib.suppress(ResolveError):
                        self.pool.forget(self.lookup_store(store_ref, meta["namespace"]))
            return self._fail(es, state, f"could not get secret data from provider: {error}")
        except ProviderError as error:
            return self._fail(es, state, f"could not get secret data from provider: {error}")
        for where in resolved.missing:
            self.event(
                es,
                "ExternalSecret",
                "Normal",
                "MissingProviderSecret",
                f"secret does not exist at provider using {where}",
            )
        deletion = target.get("deletionPolicy", "Retain")
        attempt = SyncAttempt(es, state, started, current_version, policy, interval)
        if not resolved.data and resolved.missing and deletion == "Delete":
            if existing is not None and creation == "Owner" and _owned_by(es, existing):
                self._delete(path)
            return self._succeed(attempt, "SecretDeleted", "secret deleted due to DeletionPolicy=Delete")
        if not resolved.data and deletion == "Retain" and existing is not None:
            return self._succeed(attempt, "SecretSynced", "secret retained due to DeletionPolicy=Retain")
        try:
            wanted = build_target(
                es, resolved.data, render, lambda kind, name: self._read_source(es, kind, name)
            )
        except ResolveError as error:
            return self._fail(es, state, f"could not apply template: {error}")
        return self._write(attempt, wanted, existing, path)

    def _write(
        self, attempt: SyncAttempt, wanted: Any, existing: dict[str, Any] | None, path: str
    ) -> float | None:
        es, state = attempt.es, attempt.state
        meta = es["metadata"]
        creation = ((es.get("spec") or {}).get("target") or {}).get("creationPolicy", "Owner")
        if creation == "None":
            return self._succeed(attempt)
        if creation == "Merge":
            if existing is None:
                return self._succeed(
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
                return self._succeed(attempt)
            try:
                self.client.apply(path, body, field_manager=field_manager(meta["name"]))
            except ApiError as error:
                return self._write_failed(es, state, error)
            self.event(es, "ExternalSecret", "Normal", "SecretSynced", "secret updated")
            return self._succeed(attempt)
        owner = creation == "Owner"
        if existing is not None and owner and owned_by_other(es, existing):
            return self._fail(es, state, "target is owned by another ExternalSecret", retry=False)
        body = secret_body(es, wanted, existing, owner=owner)
        if existing is not None:
            if same_content(existing, body):
                return self._succeed(attempt)
            if existing.get("immutable") and existing.get("data") != body.get("data"):
                return self._fail(es, state, "could not update secret, target is immutable", retry=False)
        manager = field_manager(meta["name"])
        try:
            if existing is None:
                self.client.create(
                    f"/api/v1/namespaces/{meta['namespace']}/secrets", body, fieldManager=manager
                )
            else:
                self.client.request("PUT", path, body=body, params={"fieldManager": manager})
        except ApiError as error:
            return self._write_failed(es, state, error)
        if owner:
            self._delete_orphans(es, wanted.name)
        self.event(
            es,
            "ExternalSecret",
            "Normal",
            "SecretSynced",
            "secret created" if existing is None else "secret updated",
        )
        return self._succeed(attempt)

    def _write_failed(self, es: dict[str, Any], state: EsState, error: ApiError) -> float | None:
        if error.conflict:
            return 0.5
        return self._fail(
            es, state, f"could not update secret: {error.reason or error.status}: {error.message[:200]}"
        )

    def _succeed(
        self, attempt: SyncAttempt, reason: str = "SecretSynced", message: str = "secret synced"
    ) -> float | None:
        es, state = attempt.es, attempt.state
        state.failures = 0
        state.last_refresh = attempt.started
        state.synced_version = attempt.version
        refresh_time = datetime.fromtimestamp(attempt.started, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._status(
            es,
            state,
            "True",
            reason,
            message,
            {
                "refreshTime": refresh_time,
                "syncedResourceVersion": attempt.version,
                "binding": {"name": target_name(es)},
            },
        )
        return _next_refresh(state, attempt.policy, attempt.interval)

    def _fail(self, es: dict[str, Any], state: EsState, message: str, retry: bool = True) -> float | None:
        state.failures += 1
        first = state.ready is None or state.ready[0] != "False" or state.ready[2] != message
        self._status(es, state, "False", "SecretSyncedError", message, {})
        if first:  # one event per distinct failure, not one per retry
            self.event(es, "ExternalSecret", "Warning", "SecretSyncedError", message)
        log.info(
            "externalsecret sync failed",
            extra={
                "es_namespace": es["metadata"]["namespace"],
                "es_name": es["metadata"]["name"],
                "reason": message[:300],
                "failures": state.failures,
            },
        )
        return self.backoff(state.failures) if retry else self.max_backoff

    def _status(
        self,
        es: dict[str, Any],
        state: EsState,
        status: str,
        reason: str,
        message: str,
        extra: dict[str, Any],
    ) -> None:
        meta = es["metadata"]
        live = [c for c in (es.get("status") or {}).get("conditions") or () if c.get("type") == "Ready"]
        previous = state.ready or (
            (live[0].get("status"), live[0].get("reason"), live[0].get("message")) if live else None
        )
        transition = now_rfc3339()
        if previous and previous[0] == status and live and live[0].get("lastTransitionTime"):
            transition = live[0]["lastTransitionTime"]
        if state.ready == (status, reason, message) and not extra:
            return
        condition = {
            "type": "Ready",
            "status": status,
            "reason": reason,
            "message": message[:2048],
            "lastTransitionTime": transition,
        }
        patch = {"status": {"conditions": [condition], **extra}}
        try:
            self.client.merge_patch(
                object_path("ExternalSecret", meta["namespace"], meta["name"], "status"), patch
            )
            state.ready = (status, reason, message)
        except ApiError as error:
            if not error.not_found:
                log.warning("could not write status", extra={"es_name": meta["name"], "error": str(error)})

    # -- deletion --------------------------------------------------------------------------------------
    def _delete_orphans(self, es: dict[str, Any], current: str) -> None:
        """Owner: Secrets this ExternalSecret created under an earlier ``target.name`` are deleted (ESO)."""
        meta = es["metadata"]
        selector = f"{CREATED_BY}={created_by(meta['namespace'], meta['name'])}"
        try:
            items = self.client.get(f"/api/v1/namespaces/{meta['namespace']}/secrets", labelSelector=selector)
        except ApiError:
            return
        for item in items.get("items") or ():
            name = item["metadata"]["name"]
            if name != current and _owned_by(es, item):
                self._delete(f"/api/v1/namespaces/{meta['namespace']}/secrets/{name}")
                self.event(es, "ExternalSecret", "Normal", "Deleted", f"deleted orphaned secret {name}")

    def _finalize(self, es: dict[str, Any]) -> None:
        meta = es["metadata"]
        finalizers = list(meta.get("finalizers") or ())
        if FINALIZER not in finalizers:
            return
        target = (es.get("spec") or {}).get("target") or {}
        if target.get("deletionPolicy") == "Delete" and target.get("creationPolicy", "Owner") == "Owner":
            path = f"/api/v1/namespaces/{meta['namespace']}/secrets/{target_name(es)}"
            existing = self.client.get_or_none(path)
            if existing is not None and _owned_by(es, existing):
                self._delete(path)
        self._patch_finalizers(es, [f for f in finalizers if f != FINALIZER])

    def _patch_finalizers(self, es: dict[str, Any], finalizers: list[str]) -> None:
        meta = es["metadata"]
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta.get("resourceVersion")}}
        try:
            self.client.merge_patch(object_path("ExternalSecret", meta["namespace"], meta["name"]), patch)
        except ApiError as error:
            if not (error.not_found or error.conflict):
                raise

    # -- small cluster calls ---------------------------------------------------------------------------
    def _read_generator(self, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
        """A generator object (``Password`` → ``passwords``) in the ExternalSecret's namespace."""
        path = f"/apis/{GENERATOR_GROUP}/v1alpha1/namespaces/{namespace}/{kind.lower()}s/{name}"
        try:
            return self.client.get_or_none(path)
        except ApiError as error:
            raise ResolveError(
                f"cannot read {kind} {namespace}/{name}: {error.reason or error.status}"
            ) from None

    def _delete(self, path: str) -> None:
        try:
            self.client.delete(path)
        except ApiError as error:
            if not error.not_found:
                raise

    def _read_source(self, es: Mapping[str, Any], kind: str, name: str) -> dict[str, str]:
        namespace = es["metadata"]["namespace"]
        plural = "configmaps" if kind == "ConfigMap" else "secrets"
        obj = self.client.get_or_none(f"/api/v1/namespaces/{namespace}/{plural}/{name}")
        if obj is None:
            raise ResolveError(f"template source {kind} {namespace}/{name} not found")
        if kind == "ConfigMap":
            return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
        return {k: v.decode("utf-8", "surrogateescape") for k, v in secret_data(obj).items()}


def _safe_store_refs(es: Mapping[str, Any]) -> list[StoreRef]:
    try:
        return stores_of(es.get("spec") or {})
    except ResolveError:
        return []


def _owned_by(es: Mapping[str, Any], secret: Mapping[str, Any]) -> bool:
    uid = es["metadata"].get("uid")
    return any(r.get("uid") == uid for r in (secret.get("metadata") or {}).get("ownerReferences") or ())


def _state_from_status(es: Mapping[str, Any]) -> EsState:
    """After a restart: trust ``status`` so ExternalSecrets that are not due are not re-fetched."""
    status = es.get("status") or {}
    state = EsState(uid=str(es["metadata"].get("uid", "")))
    state.synced_version = str(status.get("syncedResourceVersion") or "")
    stamp = status.get("refreshTime")
    if stamp:
        try:
            state.last_refresh = (
                datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
            )
        except ValueError:
            state.last_refresh = 0.0
    return state


def _should_refresh(state: EsState, policy: str, interval: float, version: str) -> bool:
    """ESO's ``shouldRefresh``."""
    synced = bool(state.synced_version) and state.last_refresh > 0
    if policy == "CreatedOnce":
        return not synced
    if policy == "OnChange":
        return not synced or state.synced_version != version
    if interval <= 0 and synced:
        return False
    if state.synced_version != version or not synced:
        return True
    return time.time() >= state.last_refresh + interval


def _next_refresh(state: EsState, policy: str, interval: float) -> float | None:
    if policy in ("CreatedOnce", "OnChange") or interval <= 0:
        return None
    due = state.last_refresh + interval * random.uniform(1.0, 1.0 + JITTER)  # noqa: S311
    return max(due - time.time(), 0.05)
