"""Kubernetes Events about Applications and their objects (reasons from DESIGN.md §3).

Messages name objects and reasons; they never carry secret values.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from core_sync.kube import ApiError, KubeClient
from core_sync.status import now

log = logging.getLogger("lockstep.events")
COMPONENT = "lockstep"


def post_event(
    client: KubeClient,
    obj: Mapping[str, Any],
    reason: str,
    message: str,
    *,
    warning: bool = False,
    component: str = COMPONENT,
) -> None:
    """Record an Event on ``obj``; failures are logged, never raised (events are best effort)."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") or "default"
    stamp = now()
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.get('name', 'object')}.{uuid.uuid4().hex[:16]}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
        },
        "reason": reason,
        "message": message[:1024],
        "type": "Warning" if warning else "Normal",
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": component,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
    try:
        client.create(f"/api/v1/namespaces/{namespace}/events", event)
    except (ApiError, OSError) as error:
        log.warning("could not record event", extra={"reason": reason, "error": str(error)})
