"""An Application's deployment history and rollback pin (Argo CD's ``status.history``), pure.

Why revisions only: a rollback re-renders the old commit's encrypted files through the same stages as any
sync, so the history needs the commit and nothing else; no rendered object, let alone a Secret value, is
ever stored in status.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_LIMIT = 10  # Argo CD's revisionHistoryLimit default
_SHA_PREFIX = re.compile(r"[0-9a-f]{4,40}")


class HistoryError(ValueError):
    """A revision the history does not hold (or holds ambiguously); the message says which and why."""


def limit(spec: Mapping[str, Any]) -> int:
    """``spec.revisionHistoryLimit`` (default 10; at least 1: the current revision is always kept)."""
    value = spec.get("revisionHistoryLimit")
    return max(1, int(value)) if isinstance(value, int) else DEFAULT_LIMIT


def record(
    history: Sequence[Mapping[str, Any]], revision: str, deployed_at: str, keep: int
) -> list[dict[str, Any]]:
    """``history`` with ``revision`` appended when it differs from the newest entry, trimmed to ``keep``.

    Ids only grow (the newest id + 1), so an id a user read stays the same entry until it is trimmed.
    """
    entries = [dict(e) for e in history]
    if not entries or entries[-1].get("revision") != revision:
        next_id = max((int(e.get("id", 0)) for e in entries), default=0) + 1
        entries.append({"id": next_id, "revision": revision, "deployedAt": deployed_at})
    return entries[-keep:]


def pinned_revision(spec: Mapping[str, Any]) -> str | None:
    """The commit ``spec.rollback`` pins (automatic sync suspended), or None when following the source."""
    pin = spec.get("rollback") or {}
    revision = pin.get("revision") if isinstance(pin, Mapping) else None
    return str(revision) if revision else None


def find(history: Sequence[Mapping[str, Any]], wanted: str | None, current: str | None) -> dict[str, Any]:
    """The entry ``wanted`` names: a history id, a commit SHA or a unique SHA prefix; with no ``wanted``,
    the newest entry whose revision differs from ``current`` (Argo CD's "previous")."""
    if not history:
        raise HistoryError("has no deployment history yet (status.history is empty)")
    if wanted is None:
        for entry in reversed(history):
            if entry.get("revision") != current:
                return dict(entry)
        raise HistoryError("has no previous revision to roll back to (every entry is the current one)")
    if wanted.isdigit() and any(str(e.get("id")) == wanted for e in history):
        return dict(next(e for e in history if str(e.get("id")) == wanted))
    prefix = wanted.lower()
    if _SHA_PREFIX.fullmatch(prefix):
        hits = [e for e in history if str(e.get("revision", "")).startswith(prefix)]
        if len({e["revision"] for e in hits}) == 1:
            return dict(max(hits, key=lambda e: int(e["id"])))
        if hits:
            raise HistoryError(f"revision {wanted!r} is ambiguous: it starts several revisions")
    known = ", ".join(f"{e.get('id')}={str(e.get('revision', ''))[:12]}" for e in history)
    raise HistoryError(f"revision {wanted!r} is not in the deployment history (id=revision: {known})")
