"""The SealedSecret controller in ``lockstep operator`` (entry point ``lockstep.controllers``: ``sealed``).

kopf feeds SealedSecret watch events in; a SealedSecret is queued when it is new or its spec or scope
annotations changed (Bitnami suppresses updates whose spec is unchanged), and a fixed pool of threads
unseals them (:mod:`sealed.reconcile`). The keys come from a watch on the key namespace
(:mod:`sealed.keyring`): when they change, every SealedSecret that failed is tried again. One replica makes
and renews keys (:mod:`sealed.key_manager`). The ``/v1`` routes join the operator's HTTP server
(:mod:`sealed.server`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sealed.keyring import KeyRing

log = logging.getLogger("lockstep.sealed")
RETRY_LIMIT = 5  # Bitnami's --max-unseal-retries, for API failures


def _duration(text: str, flag: str) -> float:
    from core_sync.status import parse_duration

    if text.strip() in ("0", "0s", ""):
        return 0.0
    try:
        return parse_duration(text, 0.0)
    except ValueError as error:
        raise SystemExit(f"error: {flag}: {error}") from None


class Controller:
    """Glue between kopf events, the work queue, the key ring, the key manager and the reconciler."""

    def __init__(self, options: Any, ring: KeyRing) -> None:
        from core_sync.kube import KubeClient, KubeConfig
        from core_sync.scheduler import Scheduler
        from sealed.key_manager import KeyManager, parse_cutoff
        from sealed.reconcile import Reconciler

        def get(name: str, default: Any) -> Any:
            return getattr(options, name, default)

        config = KubeConfig.load(context=os.environ.get("LOCKSTEP_KUBE_CONTEXT"))
        self.client = KubeClient(config)
        self.namespace = str(get("key_namespace", "lockstep-system"))
        self.ring = ring
        self.reconciler = Reconciler(
            self.client, self.ring.private_keys, update_status=get("update_status", "true") == "true"
        )
        self.scheduler = Scheduler(self._work, workers=int(get("sealed_workers", 4)), name="sealed")
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.failed: set[tuple[str, str]] = set()
        self._seen: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._attempts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.stop = threading.Event()
        bits, ttl = int(get("key_size", 4096)), _duration(str(get("key_ttl", "87600h")), "--key-ttl")
        common_name = str(get("my_cn", ""))
        try:
            cutoff = parse_cutoff(str(get("key_cutoff_time", "")))
        except ValueError as error:
            raise SystemExit(f"error: {error}") from None

        def make_key() -> Any:
            import datetime as dt

            from sealed.format.keygen import generate_key_pair

            return generate_key_pair(
                bits, ttl=dt.timedelta(seconds=ttl or 87600 * 3600), common_name=common_name
            )

        identity = f"{socket.gethostname()}-{os.getpid()}"
        self.keys = KeyManager(
            self.client,
            self.ring,
            self.namespace,
            identity,
            make_key=make_key,
            renew_period=_duration(str(get("key_renew_period", "720h")), "--key-renew-period"),
            cutoff=cutoff,
            prefix=str(get("key_prefix", "sealed-secrets-key")),
            lease_seconds=int(os.environ.get("LOCKSTEP_KEY_LEASE_SECONDS", "15")),
        )
        self.ring.on_change(self._keys_changed)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        from sealed.keyring import watch_keys

        self.scheduler.start(loop)
        threading.Thread(
            target=watch_keys,
            args=(self.client, self.namespace, self.ring, self.stop),
            daemon=True,
            name="sealed-keys",
        ).start()
        threading.Thread(
            target=self.keys.run, args=(self.stop,), daemon=True, name="sealed-key-manager"
        ).start()

    async def shutdown(self) -> None:
        self.stop.set()
        await self.scheduler.stop()

    # -- events -------------------------------------------------------------------------------------------
    def on_sealed_secret(self, event_type: str, body: dict[str, Any]) -> None:
        meta = body.get("metadata") or {}
        namespace, name = meta.get("namespace"), meta.get("name")
        if not namespace or not name:
            return
        key = (str(namespace), str(name))
        if event_type == "DELETED":
            with self._lock:
                self.objects.pop(key, None)
                self._seen.pop(key, None)
                self.failed.discard(key)
            self.scheduler.cancel(key)
            self.reconciler.forget(key[0], key[1], meta.get("labels"))
            return
        annotations = meta.get("annotations") or {}
        scope = tuple(
            sorted((k, v) for k, v in annotations.items() if k.startswith("sealedsecrets.bitnami.com/"))
        )
        fingerprint = (meta.get("uid"), meta.get("generation"), scope)
        with self._lock:
            self.objects[key] = body
            changed = self._seen.get(key) != fingerprint
            self._seen[key] = fingerprint
        if changed:
            self._attempts.pop(key, None)
            self.scheduler.schedule(key, 0.0)

    def _keys_changed(self) -> None:
        """A key appeared, vanished or changed state: try again whatever could not be opened."""
        with self._lock:
            retry = list(self.failed)
        for key in retry:
            self.scheduler.schedule(key, 0.0)

    def _work(self, key: Any) -> float | None:
        from core_sync.kube import ApiError

        with self._lock:
            body = self.objects.get(key)
        if body is None:
            return None
        if not self.ring.loaded.wait(timeout=30):
            return 1.0
        try:
            error = self.reconciler.reconcile(body)
        except (ApiError, OSError) as failure:
            attempts = self._attempts.get(key, 0) + 1
            self._attempts[key] = attempts
            log.warning("unseal failed; will retry", extra={"object": "/".join(key), "error": str(failure)})
            return None if attempts >= RETRY_LIMIT else min(0.5 * 2**attempts, 30.0)
        self._attempts.pop(key, None)
        with self._lock:
            if error is None:
                self.failed.discard(key)
            else:
                self.failed.add(key)
        return None


def register(registry: Any) -> None:
    """Add the SealedSecret handlers and the ``/v1`` routes to the operator (entry point ``sealed``)."""
    import kopf

    from core_sync.http_server import ROUTE_HOOKS
    from core_sync.operator import OPTIONS
    from sealed.keyring import KeyRing
    from sealed.server import RateLimiter, add_routes

    holder: dict[str, Controller] = {}
    ring = KeyRing()
    limiter = RateLimiter(
        float(getattr(OPTIONS, "rate_limit", 2.0)), int(getattr(OPTIONS, "rate_limit_burst", 2))
    )
    ROUTE_HOOKS.append(add_routes(ring, limiter))

    @kopf.on.startup(registry=registry)
    async def start_sealed(**_: Any) -> None:
        holder["controller"] = Controller(OPTIONS, ring)
        holder["controller"].start(asyncio.get_running_loop())

    @kopf.on.cleanup(registry=registry)
    async def stop_sealed(**_: Any) -> None:
        current = holder.pop("controller", None)
        if current is not None:
            await current.shutdown()

    @kopf.on.event("bitnami.com", "v1alpha1", "sealedsecrets", registry=registry)
    async def sealedsecret_event(**kwargs: Any) -> None:
        event = kwargs["event"]
        current = holder.get("controller")
        if current is not None:  # type None: the object came from the initial listing
            current.on_sealed_secret(str(event.get("type") or "ADDED"), dict(event["object"]))
