"""List-then-watch a collection until told to stop, as an informer does, calling back for every event.

The first listing (and every re-listing after the watch ends, expires with 410 Gone or breaks) is handed
over whole, so the caller can replace its view; then each ``ADDED``/``MODIFIED``/``DELETED`` event is
passed on in order. Errors are logged and retried after a pause; nothing here raises.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from core_sync.kube.client import ApiError, KubeClient

log = logging.getLogger("lockstep.watch")


def watch_collection(
    client: KubeClient,
    path: str,
    on_list: Callable[[list[dict[str, Any]]], None],
    on_event: Callable[[str, dict[str, Any]], None],
    stop: threading.Event,
    *,
    retry_seconds: float = 2.0,
    **params: Any,
) -> None:
    """Run until ``stop`` is set (blocking; start it in a thread). ``params`` go to both list and watch."""
    while not stop.is_set():
        try:
            listing = client.get(path, **params)
            on_list(list(listing.get("items") or []))
            version = (listing.get("metadata") or {}).get("resourceVersion")
            for event in client.watch(path, resource_version=version, timeout_seconds=300, **params):
                if stop.is_set():
                    return
                kind = str(event.get("type"))
                if kind == "ERROR":
                    break  # 410 Gone and friends: list again
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    on_event(kind, event.get("object") or {})
        except (ApiError, OSError, ValueError) as error:
            log.warning("watch failed; retrying", extra={"path": path, "error": str(error)})
            stop.wait(retry_seconds)
