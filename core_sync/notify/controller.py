"""The notification controller: Notifier objects and Lockstep's Events in, notes out.

Entry point ``notifications`` in ``lockstep.controllers``. kopf watches the Notifiers; the Events are
watched by :class:`EventFeed` only while at least one Notifier exists, so an operator nobody asked for
notifications pays nothing for them (a fleet writes an Event per sync). Events older than the feed are
history and are not sent.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from core_sync.kube import ApiError, KubeClient
from core_sync.notify.delivery import Delivery, HttpSender, Send
from core_sync.notify.rules import Note, NotifierInvalid, parse
from core_sync.operator_settings import OperatorSettings
from core_sync.status import condition, merge_conditions, now

if TYPE_CHECKING:
    from core_sync.kube.discovery import Discovery

log = logging.getLogger("lockstep.notify")
GROUP, VERSION, PLURAL = "lockstep.dev", "v1alpha1", "notifiers"
SEEN_EVENTS = 50_000  # Event uids remembered, so a relisting after a broken watch sends nothing twice
# an object's metadata only (labels for ``matchLabels``): an event about a Secret never reads its data
METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"


class EventFeed:
    """List-then-watch the Events of ``paths`` in threads while running; hands each new one over once."""

    def __init__(
        self, client: KubeClient, paths: tuple[str, ...], deliver: Callable[[Mapping[str, Any]], Any]
    ):
        self.client = client
        self.paths = paths
        self.deliver = deliver
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.since = ""
        self.stop_event: threading.Event | None = None
        self.lock = threading.Lock()

    def running(self) -> bool:
        return self.stop_event is not None

    def start(self) -> None:
        from core_sync.kube.watch import watch_collection

        if self.stop_event is not None:
            return
        self.stop_event, self.since = threading.Event(), now()
        for path in self.paths:
            thread = threading.Thread(
                target=watch_collection,
                args=(self.client, path, self._lister(), self._on_event, self.stop_event),
                name=f"notify-events{path}",
                daemon=True,
            )
            thread.start()

    def stop(self) -> None:
        if self.stop_event is not None:
            self.stop_event.set()
            self.stop_event = None

    def _lister(self) -> Callable[[list[dict[str, Any]]], None]:
        """The listing callback of one watched path: its first listing is history, all of it (Event times
        have one-second resolution, so an Event posted just before the feed started may carry the same
        second); a relisting after a break may hold Events the break hid, newer than the start."""
        first = [True]

        def on_list(items: list[dict[str, Any]]) -> None:
            initial, first[0] = first[0], False
            for item in items:
                stamp = str(item.get("lastTimestamp") or item.get("eventTime") or "")
                if not initial and stamp >= self.since:
                    self._on_event("ADDED", item)
                else:
                    self._remember(item)

        return on_list

    def _on_event(self, kind: str, item: dict[str, Any]) -> None:
        if kind == "ADDED" and self._remember(item):
            self.deliver(item)

    def _remember(self, item: Mapping[str, Any]) -> bool:
        """True the first time an Event's uid is seen."""
        uid = str((item.get("metadata") or {}).get("uid") or "")
        with self.lock:
            if not uid or uid in self.seen:
                return False
            self.seen[uid] = None
            while len(self.seen) > SEEN_EVENTS:
                self.seen.popitem(last=False)
        return True


class NotificationController:
    """The Notifiers of the cluster and one :class:`Delivery` each."""

    def __init__(
        self,
        client: KubeClient,
        send: Send | None = None,
        namespaces: tuple[str, ...] = (),
        cross_namespace: bool = True,
    ) -> None:
        self.client = client
        self.cross_namespace = cross_namespace
        self.discovery: Discovery | None = None
        self.send = send or HttpSender(self.read_secret)
        self.deliveries: dict[tuple[str, str], Delivery] = {}
        self.lock = threading.Lock()
        paths = tuple(f"/api/v1/namespaces/{ns}/events" for ns in namespaces) or ("/api/v1/events",)
        self.feed = EventFeed(client, paths, self.on_event)

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
            notifier = parse(obj, self.cross_namespace)
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
        self.feed.start()  # a no-op when running
        self._status(obj, True, "Initialized", f"sending {notifier.type} notifications")

    def on_event(self, event: Mapping[str, Any]) -> int:
        """Offer a Kubernetes Event to every Notifier that wants it; how many queued it."""
        note = Note.of(event)
        if note is None:
            return 0
        with self.lock:
            deliveries = list(self.deliveries.values())
        read: dict[Note, Mapping[str, str]] = {}  # one read per event, however many Notifiers ask

        def labels_of(wanted: Note) -> Mapping[str, str]:
            if wanted not in read:
                read[wanted] = self.labels_of(wanted)
            return read[wanted]

        return sum(d.offer(note) for d in deliveries if d.notifier.wants(note, labels_of))

    def labels_of(self, note: Note) -> Mapping[str, str]:
        """The labels of the event's object now (metadata only); none when it cannot be read."""
        import json

        from core_sync.kube.discovery import Discovery, UnknownKind

        if self.discovery is None:
            self.discovery = Discovery(self.client)
        try:
            resource = self.discovery.resource(note.api_version, note.kind)
            path = resource.object_path(note.name, note.namespace if resource.namespaced else None)
            status, body = self.client.raw("GET", path, accept=METADATA)
        except (ApiError, UnknownKind, OSError) as error:
            log.info(
                "cannot read the labels of an event's object",
                extra={"object": note.kind, "error": str(error)},
            )
            return {}
        if status != 200:
            return {}  # gone since the event: nothing to match
        labels = (json.loads(body).get("metadata") or {}).get("labels") or {}
        return {str(k): str(v) for k, v in labels.items()}

    def stop(self) -> None:
        self.feed.stop()
        with self.lock:
            for delivery in self.deliveries.values():
                delivery.stop()
            self.deliveries.clear()

    def _drop(self, key: tuple[str, str]) -> None:
        with self.lock:
            delivery = self.deliveries.pop(key, None)
            idle = not self.deliveries
        if delivery is not None:
            delivery.stop()
        if idle:
            self.feed.stop()  # no Notifier left: no reason to watch every Event of the cluster

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
    """Add the Notifier handlers to ``registry`` (the Event feed starts with the first Notifier)."""
    import kopf

    settings = settings or OperatorSettings()
    controller = NotificationController(
        settings.kube_client(),
        namespaces=settings.namespaces,
        cross_namespace=not settings.no_cross_namespace_refs,
    )

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    async def notifier_event(**kwargs: Any) -> None:
        event = kwargs["event"]
        await asyncio.to_thread(
            controller.on_notifier, str(event.get("type") or "ADDED"), dict(event["object"])
        )

    @kopf.on.cleanup(registry=registry)
    async def stop_notifications(**_: Any) -> None:
        controller.stop()

    return controller
