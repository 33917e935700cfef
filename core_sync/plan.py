"""Pure decisions of a sync: is an object new, drifted or unchanged; what a plan contains.

Drift follows Flux's rule on a server-side-apply dry-run: an object is drifted when the dry-run result
differs from the live object in labels, annotations, or anything outside ``metadata`` and ``status``.
Comparing the server's own answer (defaults and webhooks included) avoids Argo-style false positives.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core_sync.inventory import InventoryEntry

Action = Literal["create", "update", "unchanged"]
DIGEST_ANNOTATION = "lockstep.dev/desired-digest"
_DIGEST_VERSION = "v1"


def _canonical(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _salt_of(live: Mapping[str, Any] | None) -> str | None:
    value = ((live or {}).get("metadata") or {}).get("annotations", {}).get(DIGEST_ANNOTATION, "")
    parts = value.split(":")
    return parts[1] if len(parts) == 3 and parts[0] == _DIGEST_VERSION and len(parts[1]) == 32 else None


def with_digest(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> dict[str, Any]:
    """``desired`` plus an annotation that fingerprints it: ``v1:<salt>:<HMAC-SHA256(salt, object)>``.

    Why salted: a Secret's digest must not be a plain hash of its values. The salt is reused from the
    live object, so the same desired content always yields the same annotation (no churn).
    """
    salt = _salt_of(live) or secrets.token_hex(16)
    mac = hmac.new(bytes.fromhex(salt), _canonical(desired), hashlib.sha256).hexdigest()
    meta = dict(desired.get("metadata") or {})
    meta["annotations"] = {
        **(meta.get("annotations") or {}),
        DIGEST_ANNOTATION: f"{_DIGEST_VERSION}:{salt}:{mac}",
    }
    return {**desired, "metadata": meta}


def provably_unchanged(desired: Mapping[str, Any], live: Mapping[str, Any] | None, manager: str) -> bool:
    """True when ``live`` is exactly what ``manager`` last applied from this same ``desired``: the digests
    match and no other manager has written anything but status. Then no dry-run is needed."""
    if live is None:
        return False
    wanted = ((desired.get("metadata") or {}).get("annotations") or {}).get(DIGEST_ANNOTATION)
    have = ((live.get("metadata") or {}).get("annotations") or {}).get(DIGEST_ANNOTATION)
    if not wanted or wanted != have:
        return False
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        ours = entry.get("manager") == manager and entry.get("operation") == "Apply"
        if not ours and entry.get("subresource") != "status":
            return False
    return True


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
