"""Reconciles one Application: fetch its revision, sync it, write status, events and metrics.

Synchronous and independent of kopf (the controller runs it in a thread), so it is testable on its own.
It also corrects drift reported by :class:`core_sync.drift.DriftWatcher` by re-applying the last desired
version of the one object that changed — without a full reconcile, so correction takes milliseconds.
"""

from __future__ import annotations

import base64
import http.client
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core_sync import history
from core_sync import inventory as inv
from core_sync import status as st
from core_sync.apply import Cluster, ObjectError
from core_sync.drift import DriftWatcher
from core_sync.engine import Engine, SyncFailed, SyncOptions, SyncResult, decode_desired
from core_sync.events import post_event
from core_sync.helm_settings import HelmSettings, default_release_name, from_spec
from core_sync.kube import ApiError, KubeClient, KubeConfig
from core_sync.metrics import REGISTRY
from core_sync.projects import DENIED, PROJECTS_PATH, check_application, check_object
from core_sync.redaction import Redactor
from core_sync.source import GitCredentials, GitSource, SourceError
from core_sync.tenancy import ACCESS_DENIED, CrossNamespaceRef, TenancyPolicy, impersonated_user
from gocompat.duration import parse_strict

log = logging.getLogger("lockstep.application")
GROUP, VERSION, PLURAL = "lockstep.dev", "v1alpha1", "applications"
DEFAULT_INTERVAL_S = 60.0
DEFAULT_TIMEOUT_S = 300.0
UNREACHABLE = "ClusterUnreachable"
UNREACHABLE_RETRY_CAP_S = 30.0  # backoff ceiling while the API server cannot be reached at all
# what a request raises while the API server restarts or the network drops (refused, reset, timeout,
# TLS, a response cut short)
CONNECTION_ERRORS = (OSError, http.client.HTTPException)
STALLING_REASONS = frozenset(
    {"BuildFailed", "ValidationFailed", "DecryptFailed", "RenderFailed", "PruneGuard", ACCESS_DENIED, DENIED}
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
    identity: tuple[str | None, str | None] = (None, None)  # (ServiceAccount, kubeconfig Secret)
    lock: threading.Lock = field(default_factory=threading.Lock)
    desired: Mapping[inv.ObjectKey, bytes] = field(default_factory=dict)  # the engine's, of the last success
    self_heal: bool = True
    failures: int = 0
    body: dict[str, Any] = field(default_factory=dict)  # the Application's identity, for events
    project: dict[str, Any] | None = None  # the Project the Application names, read at each reconcile


class Reconciler:
    """Reconciles Applications against the local cluster or the one their kubeconfig Secret names."""

    def __init__(
        self,
        client: KubeClient,
        source: GitSource | None = None,
        watch_drift: bool = True,
        tenancy: TenancyPolicy | None = None,
        *,
        allow_kubeconfig_exec: bool = False,
    ) -> None:
        """``allow_kubeconfig_exec``: let kubeconfig Secrets run credential plugins in the operator
        (``--insecure-kubeconfig-exec``; off by default, as in Flux: a Secret's author would run
        commands in the operator)."""
        self.client = client
        self.allow_kubeconfig_exec = allow_kubeconfig_exec
        self.source = source or GitSource()
        self.concurrency = int(os.environ.get("LOCKSTEP_KUBE_CONCURRENCY", "16"))
        self.local = Cluster(client, concurrency=self.concurrency)
        self.tenancy = tenancy if tenancy is not None else TenancyPolicy()
        self._tenants: dict[str, Cluster] = {}  # impersonated local clusters by user name
        self.apps: dict[inv.AppRef, AppState] = {}
        self.drift = DriftWatcher(client, self.on_drift) if watch_drift else None
        self._lock = threading.Lock()

    # -- helpers ---------------------------------------------------------------------------------------
    def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        secret = self.client.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
        return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}

    def _state(self, ref: inv.AppRef, spec: Mapping[str, Any]) -> AppState:
        secret_ref = (spec.get("destination") or {}).get("kubeconfigSecretRef") or {}
        identity = (self.tenancy.service_account(spec), secret_ref.get("name"))
        with self._lock:
            state = self.apps.get(ref)
            if state is None or state.identity != identity:  # a new ServiceAccount gets a new engine
                state = AppState(self._engine_for(ref, spec, identity[0]), identity=identity)
                self.apps[ref] = state
            return state

    def _engine_for(self, ref: inv.AppRef, spec: Mapping[str, Any], service_account: str | None) -> Engine:
        """An engine on the Application's cluster; with a ServiceAccount, every call the engine and its
        render stages make (LIST, dry-run, apply, delete, health, store reads) impersonates it; only the
        sealing keys are read as the operator."""
        base = self._cluster_for(ref, spec)
        if not service_account:
            return Engine(base)
        user = impersonated_user(ref.namespace, service_account)
        if base is not self.local:
            return Engine(Cluster(base.client.impersonating(user)), operator_client=base.client)
        cluster = self._tenants.get(user)
        if cluster is None:
            cluster = self._tenants[user] = Cluster(
                self.client.impersonating(user), concurrency=self.concurrency
            )
        return Engine(cluster, operator_client=self.client)

    def _is_local(self, cluster: Cluster) -> bool:
        return cluster is self.local or cluster in self._tenants.values()

    def _cluster_for(self, ref: inv.AppRef, spec: Mapping[str, Any]) -> Cluster:
        secret_ref = (spec.get("destination") or {}).get("kubeconfigSecretRef")
        if not secret_ref:
            return self.local
        where = f"Secret {ref.namespace}/{secret_ref['name']}"
        try:
            data = self.read_secret(ref.namespace, secret_ref["name"])
        except ApiError as error:
            raise SyncFailed("KubeconfigInvalid", f"{where}: {error.message}") from None
        key = secret_ref.get("key") or ("value" if "value" in data else "kubeconfig")
        if key not in data:
            raise SyncFailed("KubeconfigInvalid", f"{where} has no key {key!r}")
        from core_sync.kube import KubeConfigError
        from core_sync.kube.kubeconfig import parse_document

        try:
            config = KubeConfig.from_dict(
                parse_document(data[key], f"{where} key {key!r}"),
                source=f"{where} key {key!r}",
                allow_exec=self.allow_kubeconfig_exec,
                allow_files=False,
            )
            config.credentials()  # a credential plugin that cannot run is a kubeconfig error, said now
        except KubeConfigError as error:
            raise SyncFailed("KubeconfigInvalid", str(error)) from None
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
    def reconcile(self, app: dict[str, Any], source_max_age: float = 0.0) -> Outcome:
        """Reconcile ``app``; ``source_max_age``: how old a fetch of its source (shared with other
        Applications) may be, 0 for one that begins now (see :meth:`GitSource.fetch`)."""
        meta, spec, status = app["metadata"], app.get("spec") or {}, app.get("status") or {}
        ref = inv.AppRef(meta["namespace"], meta["name"])
        interval = parse_strict(spec.get("interval"), DEFAULT_INTERVAL_S)
        if spec.get("suspend"):
            return Outcome(st.is_ready(app), interval)
        began = time.monotonic()
        try:
            self.tenancy.check_refs(ref.namespace, spec)
            project = self._project(ref, spec)
            state = self._state(ref, spec)
            state.project = project
        except CrossNamespaceRef as refused:
            return self._refuse(app, SyncFailed(ACCESS_DENIED, str(refused)), interval)
        except SyncFailed as failed:
            return self._refuse(app, failed, interval if failed.reason == DENIED else min(interval, 5.0))
        except ApiError as error:
            return self._refuse(app, SyncFailed(error.reason or "ReconcileFailed", str(error)), 5.0)
        except CONNECTION_ERRORS as error:
            return self._refuse(app, SyncFailed(UNREACHABLE, f"cannot reach the cluster: {error}"), 5.0)
        state.self_heal = spec.get("selfHeal", True)
        state.body = _identity(app)
        with state.lock:
            try:
                try:
                    result = self._sync(app, ref, state, source_max_age)
                except ApiError as error:  # a call outside the engine's per-object handling
                    raise SyncFailed(error.reason or "ReconcileFailed", str(error)) from error
                except CONNECTION_ERRORS as error:  # API server restarting, network down: retry soon
                    raise SyncFailed(UNREACHABLE, f"cannot reach the cluster: {error}") from error
            except SyncFailed as failed:
                state.failures += 1
                RECONCILE_TOTAL.inc(result="failure")
                RECONCILE_SECONDS.observe(time.monotonic() - began, result="failure")
                self._record(self._record_failure, app, failed)
                retry = parse_strict(
                    spec.get("retryInterval"), min(interval, 5.0 * 2 ** min(state.failures, 6))
                )
                if failed.reason == UNREACHABLE:  # costs nothing to try, and the outage may be over
                    retry = min(retry, UNREACHABLE_RETRY_CAP_S)
                return Outcome(False, min(retry, interval) if state.failures > 1 else min(retry, 5.0))
        state.failures = 0
        RECONCILE_TOTAL.inc(result="success")
        RECONCILE_SECONDS.observe(time.monotonic() - began, result="success")
        if not self._record(self._record_success, app, result, status):
            return Outcome(False, 5.0)  # applied, but the status write failed: confirm it soon
        return Outcome(True, interval)

    def _project(self, ref: inv.AppRef, spec: Mapping[str, Any]) -> dict[str, Any] | None:
        """The Project ``spec.project`` names; :class:`SyncFailed` when it is missing or refuses the
        Application's source or destination (nothing is fetched or applied then)."""
        name = spec.get("project")
        if not name:
            return None
        try:
            project = self.client.get(f"{PROJECTS_PATH}/{name}")
        except ApiError as error:
            if error.not_found:
                raise SyncFailed(DENIED, f"project {name} does not exist") from None
            raise
        problems = check_application(project, spec, ref.namespace)
        if problems:
            raise SyncFailed(DENIED, "; ".join(problems))
        return project

    def _refuse(self, app: dict[str, Any], failed: SyncFailed, retry: float) -> Outcome:
        """Fail before any sync started (a refused reference, an unreadable cluster Secret)."""
        RECONCILE_TOTAL.inc(result="failure")
        self._record(self._record_failure, app, failed)
        return Outcome(False, retry)

    def _record(self, write: Callable[..., None], app: Mapping[str, Any], *args: Any) -> bool:
        """Write status/events; when the API server is unreachable, log it instead of crashing the loop."""
        try:
            write(app, *args)
        except (ApiError, *CONNECTION_ERRORS) as error:
            meta = app["metadata"]
            log.warning(
                "status write failed",
                extra={"application": f"{meta['namespace']}/{meta['name']}", "error": str(error)},
            )
            return False
        return True

    def _sync(
        self, app: dict[str, Any], ref: inv.AppRef, state: AppState, source_max_age: float
    ) -> SyncResult:
        from core_sync.kube import KubeConfigError

        try:
            return self._sync_revision(app, ref, state, source_max_age)
        except KubeConfigError as error:  # a credential plugin that worked before failed when asked again
            raise SyncFailed("KubeconfigInvalid", str(error)) from None

    def _sync_revision(
        self, app: dict[str, Any], ref: inv.AppRef, state: AppState, source_max_age: float
    ) -> SyncResult:
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
        try:
            helm = from_spec(source.get("helm"), default_release_name(ref.name))
        except ValueError as invalid:
            raise SyncFailed("BuildFailed", str(invalid)) from None
        credentials = None
        if source.get("secretRef"):
            credentials = GitCredentials.from_secret_data(
                self.read_secret(ref.namespace, source["secretRef"]["name"])
            )
        try:
            wanted = history.pinned_revision(spec) or source.get("targetRevision")  # a rollback pins
            checkout = self.source.fetch(source["repoURL"], wanted, credentials, max_age=source_max_age)
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
            timeout=parse_strict(spec.get("timeout"), DEFAULT_TIMEOUT_S),
            create_namespace="CreateNamespace=true" in options,
            prune_last="PruneLast=true" in options,
            decryption=spec.get("decryption") or {},
            read_secret=lambda name: self.read_secret(ref.namespace, name),
            admit=_admission(state.project),
            helm=helm or HelmSettings(default_release_name(ref.name)),
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
        # "attempting this revision" is written while the sync runs, off the push -> live path (one status
        # write, ~7 ms); it ends before the reconcile's last status write, which names the revision too,
        # so status never goes back to it, and a failed sync is still reported
        attempt = None if report_only else self._attempt(app, checkout.revision)
        try:
            result = state.engine.sync(
                checkout.revision, directory, previous, opts, boundary=checkout.root, apply=not report_only
            )
        except SyncFailed as failed:
            failed.revision = failed.revision or checkout.revision
            if failed.unreachable:  # an outage, not the revision's fault: said so, retried as one
                raise SyncFailed(
                    UNREACHABLE,
                    f"cannot reach the cluster: {failed.message}",
                    revision=failed.revision,
                    inventory=failed.inventory,
                ) from failed
            raise
        finally:
            if attempt is not None:
                attempt.join()
        if report_only:
            return result
        state.desired = state.engine.desired
        if self.drift is not None and self._is_local(state.engine.cluster):
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

    def _attempt(self, app: dict[str, Any], revision: str) -> threading.Thread:
        """Write ``lastAttemptedRevision`` in a thread; a failure is logged (the outcome's write follows)."""
        thread = threading.Thread(
            target=self._record,
            args=(self.patch_status, app, {"lastAttemptedRevision": revision}),
            name="status-attempt",
            daemon=True,
        )
        thread.start()
        return thread

    def _record_success(self, app: dict[str, Any], result: SyncResult, old_status: Mapping[str, Any]) -> None:
        generation = int(app["metadata"].get("generation", 0))
        spec = app.get("spec") or {}
        message = f"Applied revision: {result.revision}"
        if history.pinned_revision(spec):
            message += " (rolled back: automatic sync suspended until `lockstep resume`)"
        conditions = st.merge_conditions(
            old_status.get("conditions"),
            [st.condition("Ready", True, "ReconciliationSucceeded", message, generation)],
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
                "history": history.record(
                    old_status.get("history") or [], result.revision, st.now(), history.limit(spec)
                ),
            },
        )
        if result.changed or old_status.get("lastAppliedRevision") != result.revision:
            pinned = " (rollback)" if history.pinned_revision(spec) else ""
            post_event(
                self.client,
                app,
                "Synced",
                f"Applied revision {result.revision[:12]}{pinned}: {result.summary()}",
            )
        degraded = _newly_failed(old_status.get("resources") or [], [r.to_dict() for r in result.resources])
        if degraded:
            post_event(self.client, app, "HealthDegraded", "; ".join(degraded), warning=True)

    def _record_failure(self, app: dict[str, Any], failed: SyncFailed) -> None:
        log.warning(
            "sync failed",
            extra={
                "application": f"{app['metadata']['namespace']}/{app['metadata']['name']}",
                "reason": failed.reason,
                "error": failed.message,
            },
        )
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
            corrected = state.engine.reapply(decode_desired(state.desired[key]))
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


def _identity(app: Mapping[str, Any]) -> dict[str, Any]:
    """What events and status reads need of an Application: kept per Application between reconciles
    instead of the whole body (status, inventory, managedFields: most of the operator's memory at 1,000)."""
    meta = app.get("metadata") or {}
    return {
        "apiVersion": app.get("apiVersion"),
        "kind": app.get("kind"),
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid") if k in meta},
    }


def _admission(project: Mapping[str, Any] | None) -> Callable[[Mapping[str, Any]], str | None] | None:
    """The engine's per-object Project check (None without a Project)."""
    if project is None:
        return None
    return lambda obj: check_object(project, obj)


def _newly_failed(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """``Kind/name: message`` of each object whose health turned Failed since the last status (so the
    HealthDegraded event fires once per degradation, not at every interval)."""

    def key(r: Mapping[str, Any]) -> tuple[str, str, str]:
        return (str(r.get("kind")), str(r.get("namespace", "")), str(r.get("name")))

    failed_before = {key(r) for r in old if r.get("health") == "Failed"}
    return [
        f"{r.get('kind')}/{r.get('name')}: {r.get('message') or 'Failed'}"
        for r in new
        if r.get("health") == "Failed" and key(r) not in failed_before
    ]
