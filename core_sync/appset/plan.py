"""What an ApplicationSet wants against the Applications it owns: create, update, delete, keep.

``spec.syncPolicy.applicationsSync`` is Argo CD's policy: ``sync`` (default) does all three,
``create-update`` keeps Applications whose element disappeared, ``create-delete`` never updates,
``create-only`` only creates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core_sync.appset.generators import World, expand
from core_sync.appset.template import AppSetError, render

API_VERSION = "lockstep.dev/v1alpha1"
SET_LABEL = "lockstep.dev/applicationset"
POLICIES = ("sync", "create-update", "create-delete", "create-only")


class Changes:
    """The Applications to create, update (desired bodies), delete and keep (names)."""

    def __init__(self) -> None:
        self.create: list[dict[str, Any]] = []
        self.update: list[dict[str, Any]] = []
        self.delete: list[str] = []
        self.keep: list[str] = []

    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def desired(appset: Mapping[str, Any], world: World) -> list[dict[str, Any]]:
    """One Application per parameter set, owned by and labelled with the set."""
    meta, spec = appset.get("metadata") or {}, appset.get("spec") or {}
    owner = {
        "apiVersion": API_VERSION,
        "kind": "ApplicationSet",
        "name": meta.get("name"),
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }
    apps: dict[str, dict[str, Any]] = {}
    for params in expand(spec.get("generators") or (), world):
        rendered = render(spec.get("template") or {}, params)
        name = rendered["metadata"]["name"]
        if name in apps:
            raise AppSetError(f"two elements render the same Application name {name!r}")
        labels = {**(rendered["metadata"].get("labels") or {}), SET_LABEL: str(meta.get("name"))}
        app_meta: dict[str, Any] = {"name": name, "labels": labels}
        if meta.get("namespace"):
            app_meta["namespace"] = meta["namespace"]
        if rendered["metadata"].get("annotations"):
            app_meta["annotations"] = rendered["metadata"]["annotations"]
        if owner["uid"]:
            app_meta["ownerReferences"] = [owner]
        apps[name] = {
            "apiVersion": API_VERSION,
            "kind": "Application",
            "metadata": app_meta,
            "spec": rendered["spec"],
        }
    return list(apps.values())


def changes(want: Sequence[Mapping[str, Any]], owned: Sequence[Mapping[str, Any]], policy: str) -> Changes:
    """Compare desired Applications with the owned ones (by name, spec, labels and annotations)."""
    if policy not in POLICIES:
        raise AppSetError(f"syncPolicy.applicationsSync {policy!r} is not one of {', '.join(POLICIES)}")
    live = {str(a["metadata"]["name"]): a for a in owned}
    result = Changes()
    for app in want:
        current = live.pop(str(app["metadata"]["name"]), None)
        if current is None:
            result.create.append(dict(app))
        elif _differs(app, current) and policy in ("sync", "create-update"):
            result.update.append(dict(app))
    for name in sorted(live):
        (result.delete if policy in ("sync", "create-delete") else result.keep).append(name)
    return result


def _differs(want: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    if want.get("spec") != live.get("spec"):
        return True
    mine, theirs = want["metadata"], live.get("metadata") or {}
    return any((mine.get(k) or {}).items() - (theirs.get(k) or {}).items() for k in ("labels", "annotations"))
