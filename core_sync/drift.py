"""Watches every kind Lockstep manages (label ``app.kubernetes.io/managed-by=lockstep``, all namespaces)
and reports changes to the Application that tracks the object. One watch per kind, resumed from the last
resourceVersion, re-listed on ``410 Gone``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from core_sync import inventory as inv
from core_sync.kube import ApiError, KubeClient

log = logging.getLogger("lockstep.drift")
SELECTOR = f"{inv.MANAGED_BY_LABEL}={inv.MANAGED_BY_VALUE}"
DriftHandler = Callable[[inv.AppRef, inv.ObjectKey, dict[str, Any], str], None]


class DriftWatcher:
    """Background watch threads, one per collection path (``/api/v1/configmaps``, ...)."""

    def __init__(self, client: KubeClient, on_change: DriftHandler) -> None:
        self._client = client
        self._on_change = on_change
        self._threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def ensure(self, collections: Iterable[str]) -> None:
        with self._lock:
            for path in collections:
                if path not in self._threads:
                    thread = threading.Thread(
                        target=self._run, args=(path,), name=f"drift:{path}", daemon=True
                    )
                    self._threads[path] = thread
                    thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self, path: str) -> None:
        version: str | None = None
        while not self._stop.is_set():
            try:
                if version is None:
                    listing = self._client.get(path, labelSelector=SELECTOR, limit=1)
                    version = str(listing["metadata"]["resourceVersion"])
                for event in self._client.watch(
                    path, resource_version=version, timeout_seconds=300, labelSelector=SELECTOR
                ):
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        version = None  # 410 Gone: re-list
                        break
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    if kind in ("MODIFIED", "DELETED"):
                        self._dispatch(obj, str(kind))
                    if self._stop.is_set():
                        return
            except ApiError as error:
                if error.status == 410:
                    version = None
                else:
                    log.warning("drift watch failed", extra={"path": path, "error": str(error)})
                    time.sleep(1)
            except (OSError, ValueError) as error:
                log.warning("drift watch interrupted", extra={"path": path, "error": str(error)})
                time.sleep(1)

    def _dispatch(self, obj: dict[str, Any], kind: str) -> None:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        tracking = annotations.get(inv.TRACKING_ANNOTATION)
        if not tracking:
            return
        try:
            parsed = inv.TrackingId.parse(tracking)
        except inv.InventoryError:
            return
        try:
            self._on_change(parsed.app, parsed.key, obj, kind)
        except Exception:
            log.exception("drift handler failed", extra={"object": str(parsed.key)})
