"""The notification controller (kopf wiring, thin): Notifier objects and Lockstep's Events in, notes out.

Entry point ``notifications`` in ``lockstep.controllers``. kopf's watch hands over each Event; the
listing at start-up (kopf's event type ``None``) is history and is not sent again.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Mapping
from typing import Any

from core_sync.kube import ApiError, KubeClient
from core_sync.notify.delivery import Delivery, HttpSender, Send
from core_sync.notify.rules import Note, NotifierInvalid, parse
from core_sync.operator_settings import OperatorSettings
from core_sync.status import condition, merge_conditions

log = logging.getLogger("lockstep.notify")
GROUP, VERSION, PLURAL = "lockstep.dev", "v1alpha1", "notifiers"


class NotificationController:
    """The Notifiers of the cluster and one :class:`Delivery` each."""

    def __init__(self, client: KubeClient, send: Send | None = None) -> None:
        self.client = client
        self.send = send or HttpSender(self.read_secret)
        self.deliveries: dict[tuple[str, str], Delivery] = {}
        self.lock = threading.Lock()

    def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        secret = self.client.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
        return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}

    def on_notifier(self, event_type: str, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace")), str(meta.get("name")))
        if event_type == "DELETED":
            self._drop(key)
            return
        try:
            notifier = parse(obj)
        except NotifierInvalid as invalid:
            self._drop(key)
            self._status(obj, False, "InvalidSpec", str(invalid))
            return
        with self.lock:
            delivery = self.deliveries.get(key)
            if delivery is None:
                self.deliveries[key] = Delivery(notifier, self.send)
            else:
                delivery.notifier = notifier
        self._status(obj, True, "Initialized", f"sending {notifier.type} notifications")

    def on_event(self, event: Mapping[str, Any]) -> int:
        """Offer a Kubernetes Event to every Notifier that wants it; how many queued it."""
        note = Note.of(event)
        if note is None:
            return 0
        with self.lock:
            deliveries = list(self.deliveries.values())
        return sum(d.offer(note) for d in deliveries if d.notifier.wants(note))

    def stop(self) -> None:
        with self.lock:
            for delivery in self.deliveries.values():
                delivery.stop()
            self.deliveries.clear()

    def _drop(self, key: tuple[str, str]) -> None:
        with self.lock:
            delivery = self.deliveries.pop(key, None)
        if delivery is not None:
            delivery.stop()

    def _status(self, obj: Mapping[str, Any], ready: bool, reason: str, message: str) -> None:
        meta, status = obj.get("metadata") or {}, obj.get("status") or {}
        generation = int(meta.get("generation") or 0)
        old: Mapping[str, Any] = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {}
        )
        if status.get("observedGeneration") == generation and (old.get("status"), old.get("reason")) == (
            str(ready),
            reason,
        ):
            return  # already said: our own status write comes back as an event, and must not loop
        conditions = merge_conditions(
            (obj.get("status") or {}).get("conditions"),
            [condition("Ready", ready, reason, message, generation)],
        )
        path = (
            f"/apis/{GROUP}/{VERSION}/namespaces/{meta.get('namespace')}/{PLURAL}/{meta.get('name')}/status"
        )
        try:
            self.client.merge_patch(
                path, {"status": {"observedGeneration": generation, "conditions": conditions}}
            )
        except (ApiError, OSError) as error:
            log.warning(
                "could not write Notifier status", extra={"notifier": meta.get("name"), "error": str(error)}
            )


def register(registry: Any, settings: OperatorSettings | None = None) -> NotificationController:
    """Add the Notifier and Event handlers to ``registry``."""
    import kopf

    controller = NotificationController((settings or OperatorSettings()).kube_client())

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    async def notifier_event(**kwargs: Any) -> None:
        event = kwargs["event"]
        controller.on_notifier(str(event.get("type") or "ADDED"), dict(event["object"]))

    @kopf.on.event("", "v1", "events", registry=registry)
    async def kubernetes_event(**kwargs: Any) -> None:
        event = kwargs["event"]
        if event.get("type") == "ADDED":  # None: the start-up listing, already history
            controller.on_event(dict(event["object"]))

    @kopf.on.cleanup(registry=registry)
    async def stop_notifications(**_: Any) -> None:
        controller.stop()

    return controller
