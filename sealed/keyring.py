"""The controller's keys in memory, kept current from a watch on the key namespace.

Bitnami's controller reads its keys at start-up only (a relabel or a restored key needs a restart); here
every key Secret event updates the ring at once, so a restored, added or relabelled key takes effect while
the controller runs. Only ``active`` keys open anything; the newest active one seals (``/v1/cert.pem``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sealed.format.crypto import PrivateKey
from sealed.key_order import CERT_NOT_BEFORE
from sealed.keys import (
    KEY_LABEL,
    KEY_PREFIX,
    KeySecret,
    newest_active,
    newest_first,
    parse_key_secret,
)

if TYPE_CHECKING:
    from core_sync.kube import KubeClient

log = logging.getLogger("lockstep.sealed.keys")


class KeyRing:
    """Thread-safe map of key Secret name → :class:`KeySecret`; listeners hear about every change."""

    def __init__(self, order: str = CERT_NOT_BEFORE) -> None:
        self.order = order  # --key-order-priority: which key is "newest"
        self._lock = threading.Lock()
        self._keys: dict[str, KeySecret] = {}
        self._private: list[PrivateKey] = []
        self._listeners: list[Callable[[], None]] = []
        self.loaded = threading.Event()  # set after the first full listing

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def replace_all(self, secrets: Sequence[Mapping[str, Any]]) -> None:
        keys = {k.name: k for k in (parse_key_secret(s) for s in secrets if _is_key_secret(s))}
        with self._lock:
            changed = _summary(keys) != _summary(self._keys)
            self._keys = keys
            self._rebuild()
        self.loaded.set()
        if changed:
            self._notify()

    def apply_event(self, event_type: str, secret: Mapping[str, Any]) -> None:
        name = str((secret.get("metadata") or {}).get("name") or "")
        if not name:
            return
        with self._lock:
            before = _summary(self._keys)
            if event_type == "DELETED" or not _is_key_secret(secret):
                self._keys.pop(name, None)
            else:
                self._keys[name] = parse_key_secret(secret)
            changed = before != _summary(self._keys)
            self._rebuild()
        if changed:
            for key in self.all():
                if key.problem and key.name == name:
                    log.warning("unusable sealing key", extra={"problem": key.problem})
            self._notify()

    def add(self, key: KeySecret) -> None:
        """A key this process just created (before its watch event arrives)."""
        with self._lock:
            self._keys[key.name] = key
            self._rebuild()
        self._notify()

    def _rebuild(self) -> None:
        self._private = [
            k.key for k in newest_first(list(self._keys.values()), self.order) if k.active and k.key
        ]

    def _notify(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # a listener's bug must not stop the watch
                log.exception("key change listener failed")

    def private_keys(self) -> list[PrivateKey]:
        """Active private keys, newest first (the newest most likely sealed what is being opened)."""
        return self._private

    def all(self) -> list[KeySecret]:
        with self._lock:
            return newest_first(list(self._keys.values()), self.order)

    def newest(self) -> KeySecret | None:
        return newest_active(self.all(), self.order)

    def names_by_fingerprint(self) -> dict[str, str]:
        return {k.fingerprint: k.name for k in self.all() if k.fingerprint}


def _is_key_secret(secret: Mapping[str, Any]) -> bool:
    meta = secret.get("metadata") or {}
    return KEY_LABEL in (meta.get("labels") or {}) or meta.get("name") == KEY_PREFIX


def _summary(keys: Mapping[str, KeySecret]) -> set[tuple[str, str, str]]:
    return {(k.name, k.state, k.fingerprint) for k in keys.values()}


def watch_keys(client: KubeClient, namespace: str, ring: KeyRing, stop: threading.Event) -> None:
    """Keep ``ring`` equal to the key namespace's Secrets until ``stop`` (blocking)."""
    from core_sync.kube.watch import watch_collection

    path = f"/api/v1/namespaces/{namespace}/secrets"
    watch_collection(client, path, ring.replace_all, ring.apply_event, stop)
