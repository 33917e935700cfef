"""Route each document to its converter; GitRepositories are collected first for the Kustomizations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core_sync.importers import argocd, flux
from core_sync.importers.common import Conversion, describe

ARGO_GROUP = "argoproj.io/"
FLUX_SOURCE_GROUP = "source.toolkit.fluxcd.io/"
FLUX_KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io/"


def convert(documents: Iterable[tuple[str, Mapping[str, Any]]]) -> Conversion:
    """``(source file, document)`` pairs to Lockstep objects, in input order, and notes."""
    docs = list(documents)
    out = Conversion()
    repositories = {
        flux.source_key(doc): doc
        for _, doc in docs
        if doc.get("kind") == "GitRepository" and _group(doc, FLUX_SOURCE_GROUP)
    }
    for source, doc in docs:
        where, kind = describe(doc, source), doc.get("kind")
        if _group(doc, ARGO_GROUP) and kind == "Application":
            argocd.application(doc, where, out)
        elif _group(doc, ARGO_GROUP) and kind == "ApplicationSet":
            argocd.application_set(doc, where, out)
        elif _group(doc, ARGO_GROUP) and kind == "AppProject":
            argocd.app_project(doc, where, out)
        elif _group(doc, FLUX_KUSTOMIZE_GROUP) and kind == "Kustomization":
            flux.kustomization(doc, repositories, where, out)
        elif _group(doc, FLUX_SOURCE_GROUP) and kind == "GitRepository":
            continue  # converted through the Kustomizations that name it
        else:
            out.note(where, "not an Argo CD or Flux object Lockstep imports (skipped)")
    return out


def _group(doc: Mapping[str, Any], prefix: str) -> bool:
    return str(doc.get("apiVersion", "")).startswith(prefix)
