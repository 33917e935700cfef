"""Pure decisions of a sync: is an object new, drifted or unchanged; what a plan contains.

Drift follows Flux's rule on a server-side-apply dry-run: an object is drifted when the dry-run result
differs from the live object in labels, annotations, or anything outside ``metadata`` and ``status``.
Comparing the server's own answer (defaults and webhooks included) avoids Argo-style false positives.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core_sync.inventory import InventoryEntry
from core_sync.masking import DIGEST_ANNOTATION, fold_string_data, is_secret

Action = Literal["create", "update", "unchanged"]
_DIGEST_VERSION = "v1"


def _canonical(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _salt_of(live: Mapping[str, Any] | None) -> str | None:
    value = ((live or {}).get("metadata") or {}).get("annotations", {}).get(DIGEST_ANNOTATION, "")
    parts = value.split(":")
    return parts[1] if len(parts) == 3 and parts[0] == _DIGEST_VERSION and len(parts[1]) == 32 else None


def with_digest(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> dict[str, Any]:
    """``desired`` plus an annotation that fingerprints it: ``v1:<salt>:<HMAC-SHA256(salt, object)>``.

    Only for objects without secret data (see :func:`fingerprinted`): the salt is printed beside the MAC,
    so anyone who can read the object can test guesses of its content offline. The salt only keeps the
    annotation stable (it is reused from the live object, so the same content gives the same annotation).
    """
    salt = _salt_of(live) or secrets.token_hex(16)
    mac = hmac.new(bytes.fromhex(salt), _canonical(desired), hashlib.sha256).hexdigest()
    meta = dict(desired.get("metadata") or {})
    meta["annotations"] = {
        **(meta.get("annotations") or {}),
        DIGEST_ANNOTATION: f"{_DIGEST_VERSION}:{salt}:{mac}",
    }
    return {**desired, "metadata": meta}


def without_digest(desired: Mapping[str, Any]) -> dict[str, Any]:
    """``desired`` with no digest annotation (one written in Git is dropped too)."""
    meta = dict(desired.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    if DIGEST_ANNOTATION not in annotations:
        return dict(desired)
    del annotations[DIGEST_ANNOTATION]
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return {**desired, "metadata": meta}


def fingerprinted(
    desired: Mapping[str, Any], live: Mapping[str, Any] | None, secret_bearing: bool
) -> dict[str, Any]:
    """What is applied: ``desired`` with a digest annotation, unless it holds secret data.

    Why no digest on secret-bearing objects (Secrets, and whatever a secret stage decrypted or fetched):
    any digest the cluster stores can be recomputed by whoever reads the object, unless it is keyed by a
    secret the reader cannot get; a key kept in the cluster would have to be readable by every CLI user
    and every tenant's impersonated identity that syncs, which defeats it. Without a digest nothing about
    the value is published. The no-op fast path is kept for Secrets by :func:`secret_unchanged`, which
    compares the live Secret itself (the engine can read it anyway); other secret-bearing kinds take
    the dry-run path (no writes either).
    """
    return without_digest(desired) if secret_bearing else with_digest(desired, live)


def _only_ours(live: Mapping[str, Any], manager: str) -> bool:
    """No manager but ``manager``'s Apply has written anything but status."""
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        ours = entry.get("manager") == manager and entry.get("operation") == "Apply"
        if not ours and entry.get("subresource") != "status":
            return False
    return True


def provably_unchanged(desired: Mapping[str, Any], live: Mapping[str, Any] | None, manager: str) -> bool:
    """True when ``live`` is exactly what ``manager`` last applied from this same ``desired``: the digests
    match and no other manager has written anything but status. Then no dry-run is needed.

    A v1 Secret carries no digest; it is decided by :func:`secret_unchanged`.
    """
    if live is None:
        return False
    if is_secret(desired):
        return secret_unchanged(desired, live, manager)
    wanted = ((desired.get("metadata") or {}).get("annotations") or {}).get(DIGEST_ANNOTATION)
    have = ((live.get("metadata") or {}).get("annotations") or {}).get(DIGEST_ANNOTATION)
    if not wanted or wanted != have:
        return False
    return _only_ours(live, manager)


_SECRET_FIELDS = {"apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable"}
_SECRET_METADATA = {"name", "namespace", "labels", "annotations"}


def secret_unchanged(desired: Mapping[str, Any], live: Mapping[str, Any] | None, manager: str) -> bool:
    """True when the live Secret, written only by ``manager``'s Apply, already holds exactly ``desired``
    (same labels, annotations, type, immutability and decoded values). Anything unusual (other fields,
    finalizers, undecodable values) answers False, which only costs a dry-run."""
    if live is None or not is_secret(desired) or not _only_ours(live, manager):
        return False
    if set(desired) - _SECRET_FIELDS or set(desired.get("metadata") or {}) - _SECRET_METADATA:
        return False
    if _meta(live, "labels") != _meta(desired, "labels") or _meta(live, "annotations") != _meta(
        desired, "annotations"
    ):
        return False
    if (desired.get("type") or "Opaque") != (live.get("type") or "Opaque"):
        return False
    if desired.get("immutable") != live.get("immutable"):
        return False
    wanted = _decoded_values(fold_string_data(desired))
    return wanted is not None and wanted == _decoded_values(live)


def _decoded_values(secret: Mapping[str, Any]) -> dict[str, bytes] | None:
    data = secret.get("data") or {}
    if not isinstance(data, Mapping):
        return None
    try:
        return {str(k): base64.b64decode(str(v), validate=True) for k, v in data.items()}
    except (binascii.Error, ValueError):
        return None


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


@dataclass(repr=False)
class ObjectPlan:
    """What will happen to one desired object."""

    desired: dict[str, Any]
    action: Action
    live: dict[str, Any] | None = None
    predicted: dict[str, Any] | None = None  # the dry-run result (None when its CRD is not served yet)
    secret_bearing: bool = False  # a secret stage produced it: masked whatever its kind

    def __repr__(self) -> str:
        """Its object's identity and action only: the plan holds the rendered object (a Secret's data),
        so no message, log or traceback may print its fields."""
        meta = self.desired.get("metadata") or {}
        name = "/".join(
            str(p) for p in (self.desired.get("kind"), meta.get("namespace"), meta.get("name")) if p
        )
        return f"ObjectPlan({name}, {self.action})"


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
