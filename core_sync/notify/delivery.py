"""Getting notes to receivers: per Notifier a bounded queue and one worker thread, so a slow or dead
receiver holds up only its own notes; the same event is sent once per rate-limit window; failures are
retried with exponential backoff. Nothing here blocks the caller: :meth:`Delivery.offer` only queues."""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from core_sync.metrics import REGISTRY
from core_sync.notify import payloads
from core_sync.notify.rules import Note, Notifier

log = logging.getLogger("lockstep.notify")
NOTIFICATIONS = REGISTRY.counter("lockstep_notifications_total", "Notifications by notifier type and result.")
QUEUE_SIZE = 1000
MAX_ATTEMPTS = 10
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
MAX_REMEMBERED = 10_000  # dedup keys kept per Notifier (the oldest are forgotten first)


class DeliveryFailed(Exception):
    """A delivery that did not succeed; ``retry`` says whether trying again can help. The message never
    holds the address or the token (a webhook URL is itself a credential)."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


Send = Callable[[Notifier, Note], None]


class Delivery:
    """One Notifier's queue, dedup window and worker thread."""

    def __init__(
        self, notifier: Notifier, send: Send, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.notifier = notifier
        self.send = send
        self.clock = clock
        self.queue: queue.Queue[Note] = queue.Queue(QUEUE_SIZE)
        self.sent_at: dict[tuple[str, ...], float] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"notify-{notifier.ref}", daemon=True)
        self.thread.start()

    def offer(self, note: Note) -> bool:
        """Queue ``note`` unless the same event was queued within the window or the queue is full."""
        now, key = self.clock(), note.dedup_key()
        last = self.sent_at.get(key)
        if last is not None and now - last < self.notifier.rate_limit_s:
            NOTIFICATIONS.inc(type=self.notifier.type, result="deduplicated")
            return False
        try:
            self.queue.put_nowait(note)
        except queue.Full:
            NOTIFICATIONS.inc(type=self.notifier.type, result="dropped")
            log.warning("notification queue full; dropped", extra={"notifier": self.notifier.ref})
            return False
        self.sent_at[key] = now
        if len(self.sent_at) > MAX_REMEMBERED:
            for old in sorted(self.sent_at, key=self.sent_at.__getitem__)[: MAX_REMEMBERED // 10]:
                del self.sent_at[old]
        return True

    def stop(self) -> None:
        self.stopped.set()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                note = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            self._deliver(note)

    def _deliver(self, note: Note) -> None:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            notifier = self.notifier  # the newest spec: a fixed Secret or address helps the next attempt
            try:
                self.send(notifier, note)
            except DeliveryFailed as failed:
                final = not failed.retry or attempt == MAX_ATTEMPTS
                log.warning(
                    "notification failed" + ("" if final else "; retrying"),
                    extra={
                        "notifier": notifier.ref,
                        "reason": note.reason,
                        "attempt": attempt,
                        "error": str(failed),
                    },
                )
                if final:
                    NOTIFICATIONS.inc(type=notifier.type, result="failed")
                    return
                delay = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** (attempt - 1))
                if self.stopped.wait(delay * random.uniform(1.0, 1.2)):  # noqa: S311 (jitter)
                    return
                continue
            NOTIFICATIONS.inc(type=notifier.type, result="delivered")
            return


class HttpSender:
    """POSTs a note to the address in the Notifier's Secret (keys ``address``, ``token`` as in Flux)."""

    def __init__(self, read_secret: Callable[[str, str], Mapping[str, bytes]]) -> None:
        self.read_secret = read_secret
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __call__(self, notifier: Notifier, note: Note) -> None:
        where = f"Secret {notifier.namespace}/{notifier.secret_name}"
        try:
            secret = self.read_secret(notifier.namespace, notifier.secret_name)
        except Exception as error:  # ApiError, connection errors: the API server may be back soon
            raise DeliveryFailed(f"{where}: cannot read: {type(error).__name__}", retry=True) from None
        address = secret.get("address", b"").decode(errors="replace").strip()
        if urlsplit(address).scheme not in ("http", "https") or not urlsplit(address).hostname:
            raise DeliveryFailed(f"{where}: key 'address' is not an http(s) URL", retry=True)
        data = payloads.body(note, notifier)
        try:
            headers = payloads.headers(notifier, data, secret.get("token"))
        except ValueError as missing:
            raise DeliveryFailed(f"{where}: {missing}", retry=True) from None
        request = urllib.request.Request(address, data=data, headers=headers, method="POST")  # noqa: S310
        try:
            with self.opener.open(request, timeout=notifier.timeout_s) as response:
                response.read(65536)
        except urllib.error.HTTPError as answer:
            retry = answer.code == 429 or answer.code >= 500
            raise DeliveryFailed(f"receiver answered HTTP {answer.code}", retry=retry) from None
        except (OSError, ValueError) as error:  # refused, reset, timed out, TLS
            reason = getattr(error, "reason", None) or error  # errno texts; urllib never puts the URL here
            raise DeliveryFailed(f"receiver unreachable: {reason}", retry=True) from None
