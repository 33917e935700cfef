"""The edge of the ApplicationSet core: reads cluster Secrets, Git directories and owned Applications,
and writes the :class:`~core_sync.appset.plan.Changes` (server-side apply with field manager ``lockstep``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core_sync.appset.generators import CLUSTER_LABEL, World
from core_sync.appset.plan import SET_LABEL, Changes

APPS = "/apis/lockstep.dev/v1alpha1/namespaces/{namespace}/applications"
MANAGER = "lockstep-applicationset"  # its own field manager: never fights the Application controller


def world(client: Any, namespace: str) -> World:
    """Registered clusters are the labelled Secrets in the set's own namespace (they also hold the
    kubeconfig an Application's ``kubeconfigSecretRef`` names), so a set never reads another tenant's."""
    secrets = client.get(f"/api/v1/namespaces/{namespace}/secrets", labelSelector=f"{CLUSTER_LABEL}=true")
    return World(clusters=secrets.get("items") or [], directories=git_directories)


def git_directories(url: str, revision: str | None) -> list[str]:
    """Every directory of ``url`` at ``revision``, relative and ``/``-separated (symlinks not followed)."""
    from core_sync.source import GitSource

    root = GitSource().fetch(url, revision).root
    found = []
    for current, dirs, _ in os.walk(root):
        here = Path(current)
        dirs[:] = [d for d in dirs if d != ".git" and not (here / d).is_symlink()]
        found += [(here / d).relative_to(root).as_posix() for d in dirs]
    return found


def owned(client: Any, appset: Mapping[str, Any]) -> list[dict[str, Any]]:
    meta = appset["metadata"]
    path = APPS.format(namespace=meta["namespace"])
    items: list[dict[str, Any]] = (
        client.get(path, labelSelector=f"{SET_LABEL}={meta['name']}").get("items") or []
    )
    return items


def write(client: Any, namespace: str, changes: Changes) -> None:
    base = APPS.format(namespace=namespace)
    for app in changes.create + changes.update:
        client.apply(f"{base}/{app['metadata']['name']}", app, field_manager=MANAGER)
    for name in changes.delete:
        client.delete(f"{base}/{name}")
