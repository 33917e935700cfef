"""An ExternalSecret's ``status``: the ``Ready`` condition (its transition time kept while the status
holds), ``refreshTime``/``syncedResourceVersion``/``binding`` on success, one event per distinct failure,
and the retry delay each outcome asks for."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from core_sync.kube import ApiError
from external_secrets.reconcile.cluster import ClusterCalls, now_rfc3339, object_path
from external_secrets.reconcile.refresh import EsState, SyncAttempt, next_refresh
from external_secrets.target import target_name

log = logging.getLogger("lockstep.external")


class EsConditions:
    """Writes an ExternalSecret's outcome to its status and says when to look at it again."""

    def __init__(self, calls: ClusterCalls) -> None:
        self.calls = calls

    def succeed(
        self, attempt: SyncAttempt, reason: str = "SecretSynced", message: str = "secret synced"
    ) -> float | None:
        es, state = attempt.es, attempt.state
        state.failures = 0
        state.last_refresh = attempt.started
        state.synced_version = attempt.version
        refresh_time = datetime.fromtimestamp(attempt.started, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.status(
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
        return next_refresh(state, attempt.policy, attempt.interval)

    def fail(self, es: dict[str, Any], state: EsState, message: str, retry: bool = True) -> float | None:
        return report_failure(
            self.calls, "ExternalSecret", es, state, ("SecretSyncedError", message), retry=retry
        )

    def status(
        self,
        es: dict[str, Any],
        state: EsState,
        status: str,
        reason: str,
        message: str,
        extra: dict[str, Any],
    ) -> None:
        write_ready(self.calls, "ExternalSecret", es, state, (status, reason, message), extra)


class HasReady(Protocol):
    ready: tuple[str, str, str] | None  # (status, reason, message) last written
    failures: int


def report_failure(
    calls: ClusterCalls,
    kind: str,
    obj: dict[str, Any],
    state: HasReady,
    failure: tuple[str, str],
    *,
    retry: bool = True,
    extra: dict[str, Any] | None = None,
) -> float:
    """Ready=False with ``failure`` (reason, message), one Warning event per distinct failure (not one per
    retry), a log line; returns the backoff (or the longest one when only a spec change can help)."""
    reason, message = failure
    state.failures += 1
    first = state.ready is None or state.ready[0] != "False" or state.ready[2] != message
    write_ready(calls, kind, obj, state, ("False", reason, message), extra or {})
    if first:
        calls.event(obj, kind, "Warning", reason, message)
    log.info(
        f"{kind.lower()} sync failed",
        extra={
            "es_namespace": obj["metadata"]["namespace"],
            "es_name": obj["metadata"]["name"],
            "reason": message[:300],
            "failures": state.failures,
        },
    )
    return calls.backoff(state.failures) if retry else calls.max_backoff


def write_ready(
    calls: ClusterCalls,
    kind: str,
    obj: dict[str, Any],
    state: HasReady,
    ready: tuple[str, str, str],
    extra: dict[str, Any],
    limit: int = 2048,
) -> None:
    """Patch ``obj``'s ``Ready`` condition (and ``extra`` status fields) unless nothing changed; the
    transition time is kept while the status word holds."""
    status, reason, message = ready
    meta = obj["metadata"]
    live = [c for c in (obj.get("status") or {}).get("conditions") or () if c.get("type") == "Ready"]
    previous = state.ready or (
        (live[0].get("status"), live[0].get("reason"), live[0].get("message")) if live else None
    )
    transition = now_rfc3339()
    if previous and previous[0] == status and live and live[0].get("lastTransitionTime"):
        transition = live[0]["lastTransitionTime"]
    if state.ready == ready and not extra:
        return
    condition = {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message[:limit],
        "lastTransitionTime": transition,
    }
    patch = {"status": {"conditions": [condition], **extra}}
    try:
        calls.client.merge_patch(object_path(kind, meta["namespace"], meta["name"], "status"), patch)
        state.ready = ready
    except ApiError as error:
        if not error.not_found:
            log.warning("could not write status", extra={"es_name": meta["name"], "error": str(error)})
