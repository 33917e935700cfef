"""When an ExternalSecret is due (pure): what is remembered between reconciles, ESO's ``shouldRefresh``,
and the next refresh time with jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

JITTER = 0.1  # refreshes land in [interval, interval * 1.1): spreads a mass creation over later cycles


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


def state_from_status(es: Mapping[str, Any]) -> EsState:
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


def should_refresh(state: EsState, policy: str, interval: float, version: str) -> bool:
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


def next_refresh(state: EsState, policy: str, interval: float) -> float | None:
    if policy in ("CreatedOnce", "OnChange") or interval <= 0:
        return None
    due = state.last_refresh + interval * random.uniform(1.0, 1.0 + JITTER)  # noqa: S311
    return max(due - time.time(), 0.05)
