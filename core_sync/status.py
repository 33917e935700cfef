"""Pure helpers for Application status: kstatus conditions, durations, timestamps."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | None, default: float) -> float:
    """Go-style ``1h30m``/``45s``/``500ms`` to seconds; ``default`` when unset."""
    if not text:
        return default
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r} (expected e.g. 30s, 5m, 1h30m)")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


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
