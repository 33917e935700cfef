"""What an Application owns, and the pure decision of what it may delete.

The inventory uses Flux's entry format (``id = <namespace>_<name>_<group>_<kind>``, ``v`` = API version) so
status is compact and Flux tooling can read it. Ownership is proved on the live object by the
``lockstep.dev/tracking-id`` annotation, which names both the Application and the object itself, so a copied
object (or one another Application now manages) never matches and is never pruned. Objects that Argo CD or
Flux manage, or that opt out of pruning, are skipped too. No I/O: the engine passes a lookup for live objects.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

KubeObject = dict[str, Any]

TRACKING_ANNOTATION = "lockstep.dev/tracking-id"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "lockstep"
PRUNE_ANNOTATION = "lockstep.dev/prune"

_FIELD_SEPARATOR = "_"
_COLON_TRANSCODED = "__"  # Flux (cli-utils) writes ':' in RBAC names as '__'

# Markers another GitOps engine writes on what it manages: such objects are theirs, never ours to delete.
_FOREIGN_LABELS = {
    "argocd.argoproj.io/instance": "Argo CD",
    "kustomize.toolkit.fluxcd.io/name": "Flux",
    "helm.toolkit.fluxcd.io/name": "Flux",
}
_FOREIGN_ANNOTATIONS = {"argocd.argoproj.io/tracking-id": "Argo CD"}


class InventoryError(ValueError):
    """A malformed inventory id, tracking id or object identity."""


class PruneGuardError(RuntimeError):
    """Pruning was refused because it would delete everything the Application owns."""


def split_api_version(api_version: str) -> tuple[str, str]:
    """``"apps/v1"`` → ``("apps", "v1")``; ``"v1"`` → ``("", "v1")`` (the core group is empty)."""
    group, _, version = api_version.rpartition("/")
    return group, version


@dataclass(frozen=True, order=True, slots=True)
class ObjectKey:
    """The identity of an object across API versions: group, kind, namespace, name."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectKey:
        meta = obj.get("metadata") or {}
        kind, name = obj.get("kind"), meta.get("name")
        if not isinstance(kind, str) or not kind or not isinstance(name, str) or not name:
            raise InventoryError(f"object without kind or metadata.name: {kind or '?'}/{name or '?'}")
        group, _ = split_api_version(str(obj.get("apiVersion") or ""))
        return cls(group, kind, str(meta.get("namespace") or ""), name)

    def __str__(self) -> str:
        gk = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{gk}/{self.namespace}/{self.name}" if self.namespace else f"{gk}/{self.name}"


def format_id(key: ObjectKey) -> str:
    """Flux's inventory id; ``:`` in names (RBAC) is written ``__`` as Flux does."""
    name = key.name.replace(":", _COLON_TRANSCODED)
    return _FIELD_SEPARATOR.join((key.namespace, name, key.group, key.kind))


def parse_id(entry_id: str) -> ObjectKey:
    """Inverse of :func:`format_id`: namespace up to the first ``_``, kind and group from the end."""
    namespace, sep, rest = entry_id.partition(_FIELD_SEPARATOR)
    rest, sep2, kind = rest.rpartition(_FIELD_SEPARATOR)
    name_part, sep3, group = rest.rpartition(_FIELD_SEPARATOR)
    if not (sep and sep2 and sep3) or not kind:
        raise InventoryError(f"inventory id {entry_id!r}: expected <namespace>_<name>_<group>_<kind>")
    name = name_part.replace(_COLON_TRANSCODED, ":")
    if not name or _FIELD_SEPARATOR in name:
        raise InventoryError(f"inventory id {entry_id!r}: bad name field {name_part!r}")
    return ObjectKey(group, kind, namespace, name)


@dataclass(frozen=True, slots=True)
class InventoryEntry:
    """One ``status.inventory.entries[]`` item."""

    id: str
    v: str

    @property
    def key(self) -> ObjectKey:
        return parse_id(self.id)

    @property
    def api_version(self) -> str:
        group = self.key.group
        return f"{group}/{self.v}" if group else self.v

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> InventoryEntry:
        return cls(format_id(ObjectKey.of(obj)), split_api_version(str(obj.get("apiVersion") or ""))[1])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InventoryEntry:
        entry_id, version = data.get("id"), data.get("v")
        if not isinstance(entry_id, str) or not isinstance(version, str):
            raise InventoryError(f"inventory entry {dict(data)!r}: needs string fields 'id' and 'v'")
        parse_id(entry_id)
        return cls(entry_id, version)

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "v": self.v}

    def stub(self) -> KubeObject:
        """A minimal object for the entry (apiVersion, kind, name, namespace): enough to order or delete."""
        key = self.key
        meta = {"name": key.name, **({"namespace": key.namespace} if key.namespace else {})}
        return {"apiVersion": self.api_version, "kind": key.kind, "metadata": meta}


def inventory_of(objects: Iterable[Mapping[str, Any]]) -> list[InventoryEntry]:
    """The inventory for a desired set, sorted by id so status does not churn."""
    return sorted({InventoryEntry.of(o) for o in objects}, key=lambda e: e.id)


@dataclass(frozen=True, slots=True)
class AppRef:
    """The Application that owns objects."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class TrackingId:
    """``<app-ns>/<app-name>:<group>/<kind>:<namespace>/<name>``; namespace is empty when cluster-scoped."""

    app: AppRef
    key: ObjectKey

    def __str__(self) -> str:
        k = self.key
        return f"{self.app}:{k.group}/{k.kind}:{k.namespace}/{k.name}"

    @classmethod
    def parse(cls, value: str) -> TrackingId:
        # Only the object name may hold ':' (RBAC names), so split from the left twice.
        parts = value.split(":", 2)
        if len(parts) != 3:
            raise InventoryError(f"tracking id {value!r}: expected <app-ns>/<app>:<group>/<kind>:<ns>/<name>")
        app_ns, s1, app_name = parts[0].partition("/")
        group, s2, kind = parts[1].partition("/")
        namespace, s3, name = parts[2].partition("/")
        if not (s1 and s2 and s3 and app_ns and app_name and kind and name):
            raise InventoryError(f"tracking id {value!r}: expected <app-ns>/<app>:<group>/<kind>:<ns>/<name>")
        return cls(AppRef(app_ns, app_name), ObjectKey(group, kind, namespace, name))


def tracking_id(app: AppRef, obj: Mapping[str, Any]) -> str:
    return str(TrackingId(app, ObjectKey.of(obj)))


def stamp(obj: Mapping[str, Any], app: AppRef) -> KubeObject:
    """A copy of ``obj`` carrying this Application's tracking annotation and the managed-by label."""
    out: KubeObject = copy.deepcopy(dict(obj))
    meta = out["metadata"] = dict(out.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), TRACKING_ANNOTATION: tracking_id(app, obj)}
    meta["labels"] = {**(meta.get("labels") or {}), MANAGED_BY_LABEL: MANAGED_BY_VALUE}
    return out


def prune_protection(obj: Mapping[str, Any]) -> str | None:
    """Why a live object must not be pruned by anyone (opt-out marks), or ``None``."""
    meta = obj.get("metadata") or {}
    annotations: Mapping[str, str] = meta.get("annotations") or {}
    labels: Mapping[str, str] = meta.get("labels") or {}
    for key in (PRUNE_ANNOTATION, "kustomize.toolkit.fluxcd.io/prune"):
        value = annotations.get(key) or labels.get(key)
        if isinstance(value, str) and value.strip().lower() == "disabled":
            return f"{key}: disabled"
    options = str(annotations.get("argocd.argoproj.io/sync-options") or "")
    for option in options.split(","):
        name, _, value = option.strip().partition("=")
        if name == "Prune" and value.lower() in ("false", "confirm"):
            return f"argocd.argoproj.io/sync-options: Prune={value}"
    return None


def foreign_owner(obj: Mapping[str, Any]) -> str | None:
    """``"Argo CD"`` or ``"Flux"`` when the object carries that engine's tracking marks, else ``None``."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    for key, owner in _FOREIGN_LABELS.items():
        if labels.get(key):
            return owner
    for key, owner in _FOREIGN_ANNOTATIONS.items():
        if annotations.get(key):
            return owner
    return None


@dataclass(frozen=True)
class PruneDecision:
    """Entries to delete, entries left alone (with why), and entries already gone from the cluster.

    Skipped and gone entries leave the inventory; entries whose delete fails must be kept by the engine.
    """

    delete: tuple[InventoryEntry, ...]
    skipped: tuple[tuple[InventoryEntry, str], ...]
    gone: tuple[InventoryEntry, ...]


LiveLookup = Callable[[InventoryEntry], Mapping[str, Any] | None]


def stale_entries(
    previous: Iterable[InventoryEntry], desired: Iterable[Mapping[str, Any]]
) -> list[InventoryEntry]:
    """previous − desired, by identity (an API-version change is the same object), in inventory order."""
    wanted = {ObjectKey.of(o) for o in desired}
    seen: set[ObjectKey] = set()
    out: list[InventoryEntry] = []
    for entry in previous:
        key = entry.key
        if key not in wanted and key not in seen:
            seen.add(key)
            out.append(entry)
    return out


def prune_set(
    previous: Iterable[InventoryEntry],
    desired: Iterable[Mapping[str, Any]],
    live: LiveLookup,
    *,
    app: AppRef,
) -> PruneDecision:
    """Decide, per stale inventory entry, whether this Application may delete the live object.

    ``live(entry)`` returns the live object (only its metadata is read) or ``None`` when it is gone.
    """
    delete: list[InventoryEntry] = []
    skipped: list[tuple[InventoryEntry, str]] = []
    gone: list[InventoryEntry] = []
    for entry in stale_entries(previous, desired):
        obj = live(entry)
        if obj is None:
            gone.append(entry)
            continue
        reason = _skip_reason(entry, obj, app)
        if reason:
            skipped.append((entry, reason))
        else:
            delete.append(entry)
    return PruneDecision(tuple(delete), tuple(skipped), tuple(gone))


def _skip_reason(entry: InventoryEntry, obj: Mapping[str, Any], app: AppRef) -> str | None:
    owner = foreign_owner(obj)
    if owner:
        return f"managed by {owner}"
    protection = prune_protection(obj)
    if protection:
        return f"pruning disabled ({protection})"
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    found = annotations.get(TRACKING_ANNOTATION)
    expected = str(TrackingId(app, entry.key))
    if found != expected:
        return "not tracked by this Application" if not found else f"tracked by {found!r}, not {expected!r}"
    return None


def check_not_wiping(
    previous: Collection[InventoryEntry],
    desired: Collection[Mapping[str, Any]],
    *,
    allow_empty: bool,
    app: AppRef,
) -> None:
    """Refuse an empty desired set that would prune every object the Application owns (Argo's allowEmpty)."""
    if allow_empty or desired:
        return
    count = len(previous)
    if count:
        raise PruneGuardError(
            f"Application {app}: the desired state is empty and would prune all {count} managed objects; "
            "refusing (allow empty syncs explicitly to do this)"
        )
