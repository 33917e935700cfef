"""Reconciles one Application: fetch its revision, sync it, write status, events and metrics.

Synchronous and independent of kopf (the controller runs it in a thread), so it is testable on its own.
It also corrects drift reported by :class:`core_sync.drift.DriftWatcher` by re-applying the last desired
version of the one object that changed — without a full reconcile, so correction takes milliseconds.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core_sync import inventory as inv
from core_sync import status as st
from core_sync.apply import Cluster, ObjectError
from core_sync.drift import DriftWatcher
from core_sync.engine import Engine, SyncFailed, SyncOptions, SyncResult
from core_sync.events import post_event
from core_sync.kube import ApiError, KubeClient, KubeConfig
from core_sync.metrics import REGISTRY
from core_sync.redaction import Redactor
from core_sync.source import GitCredentials, GitSource, SourceError

log = logging.getLogger("lockstep.application")
GROUP, VERSION, PLURAL = "lockstep.dev", "v1alpha1", "applications"
DEFAULT_INTERVAL_S = 60.0
DEFAULT_TIMEOUT_S = 300.0
STALLING_REASONS = frozenset(
    {"BuildFailed", "ValidationFailed", "DecryptFailed", "RenderFailed", "PruneGuard"}
)

RECONCILE_SECONDS = REGISTRY.histogram(
    "lockstep_reconcile_duration_seconds", "Time to reconcile an Application."
)
RECONCILE_TOTAL = REGISTRY.counter("lockstep_reconcile_total", "Application reconciles by result.")
DRIFT_DETECTED = REGISTRY.counter("lockstep_drift_detected_total", "Managed objects changed outside Git.")
DRIFT_CORRECTED = REGISTRY.counter("lockstep_drift_corrected_total", "Drifted objects re-applied (selfHeal).")


def app_path(namespace: str, name: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/{name}"


@dataclass
class Outcome:
    ready: bool
    requeue_after: float


@dataclass
class AppState:
    """What the operator remembers of one Application between reconciles."""

    engine: Engine
    lock: threading.Lock = field(default_factory=threading.Lock)
    desired: dict[inv.ObjectKey, dict[str, Any]] = field(default_factory=dict)
    self_heal: bool = True
    failures: int = 0
    body: dict[str, Any] = field(default_factory=dict)


class Reconciler:
    """Reconciles Applications against the local cluster or the one their kubeconfig Secret names."""

    def __init__(self, client: KubeClient, source: GitSource | None = None, watch_drift: bool = True) -> None:
        self.client = client
        self.source = source or GitSource()
        self.local = Cluster(client, concurrency=int(os.environ.get("LOCKSTEP_KUBE_CONCURRENCY", "16")))
        self.apps: dict[inv.AppRef, AppState] = {}
        self.drift = DriftWatcher(client, self.on_drift) if watch_drift else None
        self._lock = threading.Lock()

    # -- helpers ---------------------------------------------------------------------------------------
    def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        secret = self.client.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
        return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}

    def _state(self, ref: inv.AppRef, spec: Mapping[str, Any]) -> AppState:
        with self._lock:
            state = self.apps.get(ref)
            if state is None:
                state = AppState(Engine(self._cluster_for(ref, spec)))
                self.apps[ref] = state
            return state

    def _cluster_for(self, ref: inv.AppRef, spec: Mapping[str, Any]) -> Cluster:
        secret_ref = (spec.get("destination") or {}).get("kubeconfigSecretRef")
        if not secret_ref:
            return self.local
        data = self.read_secret(ref.namespace, secret_ref["name"])
        key = secret_ref.get("key") or ("value" if "value" in data else "kubeconfig")
        if key not in data:
            raise SyncFailed(
                "KubeconfigInvalid", f"Secret {ref.namespace}/{secret_ref['name']} has no key {key!r}"
            )
        import yaml

        from core_sync import limits

        where = f"Secret {ref.namespace}/{secret_ref['name']}"
        try:
            loaded = limits.safe_load(data[key].decode("utf-8", "replace"))
        except (yaml.YAMLError, limits.LimitExceeded) as error:
            reason = str(error) if isinstance(error, limits.LimitExceeded) else "invalid YAML"
            raise SyncFailed("KubeconfigInvalid", f"{where} key {key!r}: {reason}") from None
        config = KubeConfig.from_dict(loaded, source=where)
        return Cluster(KubeClient(config))

    def forget(self, ref: inv.AppRef) -> None:
        with self._lock:
            self.apps.pop(ref, None)

    def patch_status(self, app: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        meta = app["metadata"]
        try:
            self.client.merge_patch(app_path(meta["namespace"], meta["name"]) + "/status", {"status": status})
        except ApiError as error:
            if not error.not_found:
                raise

    # -- reconcile -------------------------------------------------------------------------------------
    def reconcile(self, app: dict[str, Any]) -> Outcome:
        meta, spec, status = app["metadata"], app.get("spec") or {}, app.get("status") or {}
        ref = inv.AppRef(meta["namespace"], meta["name"])
        interval = st.parse_duration(spec.get("interval"), DEFAULT_INTERVAL_S)
        if spec.get("suspend"):
            return Outcome(st.is_ready(app), interval)
        began = time.monotonic()
        state = self._state(ref, spec)
        state.self_heal = spec.get("selfHeal", True)
        state.body = app
        with state.lock:
            try:
                result = self._sync(app, ref, state)
            except SyncFailed as failed:
                state.failures += 1
                RECONCILE_TOTAL.inc(result="failure")
                RECONCILE_SECONDS.observe(time.monotonic() - began, result="failure")
                self._record_failure(app, failed)
                retry = st.parse_duration(
                    spec.get("retryInterval"), min(interval, 5.0 * 2 ** min(state.failures, 6))
                )
                return Outcome(False, min(retry, interval) if state.failures > 1 else min(retry, 5.0))
        state.failures = 0
        RECONCILE_TOTAL.inc(result="success")
        RECONCILE_SECONDS.observe(time.monotonic() - began, result="success")
        self._record_success(app, result, status)
        return Outcome(True, interval)

    def _sync(self, app: dict[str, Any], ref: inv.AppRef, state: AppState) -> SyncResult:
        meta, spec = app["metadata"], app.get("spec") or {}
        for dep in spec.get("dependsOn") or []:
            dep_ns = dep.get("namespace") or ref.namespace
            try:
                other = self.client.get(app_path(dep_ns, dep["name"]))
            except ApiError as error:
                raise SyncFailed(
                    "DependencyNotReady", f"dependency {dep_ns}/{dep['name']}: {error.message}"
                ) from error
            if not st.is_ready(other):
                raise SyncFailed("DependencyNotReady", f"dependency {dep_ns}/{dep['name']} is not ready")
        source = spec["source"]
        credentials = None
        if source.get("secretRef"):
            credentials = GitCredentials.from_secret_data(
                self.read_secret(ref.namespace, source["secretRef"]["name"])
            )
        try:
            checkout = self.source.fetch(source["repoURL"], source.get("targetRevision"), credentials)
            directory = checkout.path(source.get("path"))
        except SourceError as error:
            known = [credentials.password, credentials.bearer_token] if credentials else []
            message = Redactor(v for v in known if v).redact(str(error))
            raise SyncFailed("ArtifactFailed", message) from error
        options = set(spec.get("syncOptions") or [])
        destination = spec.get("destination") or {}
        opts = SyncOptions(
            app=ref,
            namespace=destination.get("namespace") or ref.namespace,
            prune=spec.get("prune", True),
            allow_empty=spec.get("allowEmpty", False),
            wait=spec.get("wait", False),
            timeout=st.parse_duration(spec.get("timeout"), DEFAULT_TIMEOUT_S),
            create_namespace="CreateNamespace=true" in options,
            prune_last="PruneLast=true" in options,
            decryption=spec.get("decryption") or {},
            read_secret=lambda name: self.read_secret(ref.namespace, name),
        )
        previous = [
            inv.InventoryEntry.from_dict(e)
            for e in ((app.get("status") or {}).get("inventory") or {}).get("entries") or []
        ]
        status = app.get("status") or {}
        report_only = (
            not state.self_heal
            and status.get("lastAppliedRevision") == checkout.revision
            and status.get("observedGeneration") == meta.get("generation")
        )
        if not report_only:
            self.patch_status(app, {"lastAttemptedRevision": checkout.revision})
        try:
            result = state.engine.sync(
                checkout.revision, directory, previous, opts, boundary=checkout.root, apply=not report_only
            )
        except SyncFailed as failed:
            failed.revision = failed.revision or checkout.revision
            raise
        if report_only:
            return result
        state.desired = {inv.ObjectKey.of(o): o for o in state.engine.last_desired}
        if self.drift is not None and state.engine.cluster is self.local:
            self.drift.ensure(state.engine.collections())
        log.info(
            "synced",
            extra={
                "application": str(ref),
                "revision": checkout.revision,
                "summary": result.summary(),
                "generation": meta.get("generation"),
            },
        )
        return result

    def _record_success(self, app: dict[str, Any], result: SyncResult, old_status: Mapping[str, Any]) -> None:
        generation = int(app["metadata"].get("generation", 0))
        conditions = st.merge_conditions(
            old_status.get("conditions"),
            [
                st.condition(
                    "Ready",
                    True,
                    "ReconciliationSucceeded",
                    f"Applied revision: {result.revision}",
                    generation,
                )
            ],
            drop=("Reconciling", "Stalled"),
        )
        self.patch_status(
            app,
            {
                "observedGeneration": generation,
                "lastAppliedRevision": result.revision,
                "lastAttemptedRevision": result.revision,
                "lastSyncTime": st.now(),
                "conditions": conditions,
                "inventory": {"entries": [e.to_dict() for e in result.inventory]},
                "resources": [r.to_dict() for r in result.resources],
            },
        )
        if result.changed or old_status.get("lastAppliedRevision") != result.revision:
            post_event(
                self.client, app, "Synced", f"Applied revision {result.revision[:12]}: {result.summary()}"
            )

    def _record_failure(self, app: dict[str, Any], failed: SyncFailed) -> None:
        generation = int(app["metadata"].get("generation", 0))
        stalled = failed.reason in STALLING_REASONS or failed.reason == "ArtifactFailed"
        new = [st.condition("Ready", False, failed.reason, failed.message, generation)]
        if stalled:
            new.append(st.condition("Stalled", True, failed.reason, failed.message, generation))
        old = (app.get("status") or {}).get("conditions")
        patch: dict[str, Any] = {
            "observedGeneration": generation,
            "conditions": st.merge_conditions(
                old, new, drop=("Reconciling",) if stalled else ("Reconciling", "Stalled")
            ),
        }
        if failed.revision:
            patch["lastAttemptedRevision"] = failed.revision
        if failed.inventory is not None:
            patch["inventory"] = {"entries": [e.to_dict() for e in failed.inventory]}
        self.patch_status(app, patch)
        reason = "DecryptFailed" if failed.reason == "DecryptFailed" else "SyncFailed"
        post_event(self.client, app, reason, f"{failed.reason}: {failed.message}", warning=True)
        log.warning(
            "sync failed",
            extra={
                "application": f"{app['metadata']['namespace']}/{app['metadata']['name']}",
                "reason": failed.reason,
                "error": failed.message,
            },
        )

    # -- drift -----------------------------------------------------------------------------------------
    def on_drift(self, ref: inv.AppRef, key: inv.ObjectKey, live: dict[str, Any], event: str) -> None:
        state = self.apps.get(ref)
        if state is None or key not in state.desired:
            return
        if event != "DELETED" and state.engine.is_own_write(key, live):
            return
        DRIFT_DETECTED.inc(kind=key.kind)
        if not state.self_heal:
            self._report_out_of_sync(state, key)
            return
        if not state.lock.acquire(blocking=False):
            return  # a reconcile is running: it will converge this object too
        try:
            corrected = state.engine.reapply(state.desired[key])
        except ObjectError as error:
            log.warning("drift correction failed", extra={"object": str(key), "error": str(error)})
            return
        finally:
            state.lock.release()
        if corrected:
            DRIFT_CORRECTED.inc(kind=key.kind)
            post_event(
                self.client, state.body, "DriftCorrected", f"{key} was changed in the cluster; re-applied"
            )

    def _report_out_of_sync(self, state: AppState, key: inv.ObjectKey) -> None:
        meta = state.body["metadata"]
        try:
            app = self.client.get(app_path(meta["namespace"], meta["name"]))
        except ApiError:
            return
        resources = [dict(r) for r in (app.get("status") or {}).get("resources") or []]
        for resource in resources:
            if (resource.get("kind"), resource.get("namespace", ""), resource.get("name")) == (
                key.kind,
                key.namespace,
                key.name,
            ):
                resource["status"] = "OutOfSync"
        self.patch_status(app, {"resources": resources})
        post_event(self.client, app, "OutOfSync", f"{key} differs from Git (selfHeal is off)", warning=True)
