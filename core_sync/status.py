"""Pure helpers for Application status: kstatus conditions and timestamps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(type_: str, status: bool | None, reason: str, message: str, generation: int) -> dict[str, Any]:
    return {
        "type": type_,
        "status": "Unknown" if status is None else ("True" if status else "False"),
        "reason": reason,
        "message": message[:1024],
        "observedGeneration": generation,
    }


def merge_conditions(
    old: Sequence[Mapping[str, Any]] | None, new: Sequence[Mapping[str, Any]], drop: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Replace conditions by type, keeping ``lastTransitionTime`` unless the status flipped."""
    previous = {c["type"]: c for c in old or []}
    merged: dict[str, dict[str, Any]] = {t: dict(c) for t, c in previous.items() if t not in drop}
    stamp = now()
    for cond in new:
        before = previous.get(cond["type"])
        transition = (
            before.get("lastTransitionTime") if before and before.get("status") == cond["status"] else None
        )
        merged[cond["type"]] = {**cond, "lastTransitionTime": transition or stamp}
    order = {"Ready": 0, "Reconciling": 1, "Stalled": 2}
    return sorted(merged.values(), key=lambda c: (order.get(c["type"], 9), c["type"]))


def is_ready(app: Mapping[str, Any]) -> bool:
    """Ready=True for the current generation (what ``dependsOn`` waits for, as Flux does)."""
    meta = app.get("metadata") or {}
    status = app.get("status") or {}
    if status.get("observedGeneration") != meta.get("generation"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
