"""Pure decisions of a sync: is an object new, drifted or unchanged; what a plan contains.

Drift follows Flux's rule on a server-side-apply dry-run: an object is drifted when the dry-run result
differs from the live object in labels, annotations, or anything outside ``metadata`` and ``status``.
Comparing the server's own answer (defaults and webhooks included) avoids Argo-style false positives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core_sync.inventory import InventoryEntry

Action = Literal["create", "update", "unchanged"]


def _body(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _meta(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    return dict((obj.get("metadata") or {}).get(key) or {})


def classify(live: Mapping[str, Any] | None, dry_run: Mapping[str, Any]) -> Action:
    """``create`` when nothing is live, ``update`` when the dry-run differs from live, else ``unchanged``."""
    if live is None:
        return "create"
    if _meta(live, "labels") != _meta(dry_run, "labels"):
        return "update"
    if _meta(live, "annotations") != _meta(dry_run, "annotations"):
        return "update"
    return "update" if _body(live) != _body(dry_run) else "unchanged"


@dataclass
class ObjectPlan:
    """What will happen to one desired object."""

    desired: dict[str, Any]
    action: Action
    live: dict[str, Any] | None = None
    predicted: dict[str, Any] | None = None  # the dry-run result (None when its CRD is not served yet)


@dataclass
class Plan:
    revision: str
    objects: list[ObjectPlan]
    prune: list[InventoryEntry] = field(default_factory=list)
    prune_skipped: list[tuple[InventoryEntry, str]] = field(default_factory=list)

    @property
    def changes(self) -> list[ObjectPlan]:
        return [p for p in self.objects if p.action != "unchanged"]

    @property
    def in_sync(self) -> bool:
        return not self.changes and not self.prune
