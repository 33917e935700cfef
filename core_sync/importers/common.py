"""What every converter shares: the result type, object references and the Lockstep API version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LOCKSTEP_API = "lockstep.dev/v1alpha1"
WAVE_ANNOTATIONS = {"argocd.argoproj.io/sync-wave": "lockstep.dev/sync-wave"}


class Conversion:
    """Lockstep objects produced so far, and the notes about what did not carry over."""

    def __init__(self) -> None:
        self.objects: list[dict[str, Any]] = []
        self.notes: list[str] = []

    def note(self, where: str, message: str) -> None:
        self.notes.append(f"{where}: {message}")

    def add(self, kind: str, doc: Mapping[str, Any], spec: dict[str, Any], where: str) -> None:
        """A Lockstep object of ``kind`` named after ``doc``, with ``spec``."""
        meta = lockstep_metadata(doc.get("metadata") or {}, where, self)
        self.objects.append({"apiVersion": LOCKSTEP_API, "kind": kind, "metadata": meta, "spec": spec})


def describe(doc: Mapping[str, Any], source: str) -> str:
    """``file: Kind/namespace/name`` for notes (namespace left out when there is none)."""
    meta = doc.get("metadata") or {}
    parts = [str(meta[k]) for k in ("namespace", "name") if meta.get(k)]
    return f"{source}: {doc.get('kind', '?')}/{'/'.join(parts) or '?'}"


def lockstep_metadata(meta: Mapping[str, Any], where: str, out: Conversion) -> dict[str, Any]:
    """Name, labels and annotations; the source namespace (argocd, flux-system) is left to ``-n``.

    Argo CD's sync-wave annotation becomes Lockstep's, other engine-specific annotations are dropped.
    """
    result: dict[str, Any] = {"name": meta.get("name")}
    if meta.get("labels"):
        result["labels"] = dict(meta["labels"])
    annotations: dict[str, str] = {}
    for key, value in (meta.get("annotations") or {}).items():
        if key in WAVE_ANNOTATIONS:
            annotations[WAVE_ANNOTATIONS[key]] = str(value)
        elif key.startswith(("argocd.argoproj.io/", "notifications.argoproj.io/")) or ".fluxcd.io/" in key:
            out.note(where, f"annotation {key} has no Lockstep equivalent (dropped)")
        else:
            annotations[key] = value
    if annotations:
        result["annotations"] = annotations
    return result
