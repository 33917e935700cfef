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
import signal
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sealed.key_order import CERT_NOT_BEFORE

if TYPE_CHECKING:
    from core_sync.kube import KubeClient
    from core_sync.operator_settings import OperatorSettings
    from sealed.format.keygen import SealingKeyPair
    from sealed.keyring import KeyRing

log = logging.getLogger("lockstep.sealed")
RETRY_LIMIT = 5  # Bitnami's --max-unseal-retries, for API failures


def _duration(text: str, flag: str) -> float:
    from gocompat.duration import parse_strict

    if text.strip() in ("0", "0s", ""):
        return 0.0
    try:
        return parse_strict(text, 0.0)
    except ValueError as error:
        raise SystemExit(f"error: {flag}: {error}") from None


@dataclass(frozen=True)
class Settings:
    """The controller's flags, checked before the operator starts (a bad one stops it with the flag named)."""

    key_namespace: str = "lockstep-system"
    key_prefix: str = "sealed-secrets-key"
    key_size: int = 4096
    key_ttl: float = 87600 * 3600.0
    key_renew_period: float = 720 * 3600.0
    key_cutoff: float | None = None
    common_name: str = ""
    update_status: bool = True
    workers: int = 16
    rate_limit: float = 2.0
    rate_limit_burst: int = 2
    lease_seconds: int = 15
    key_backup: str = ""
    namespaces: tuple[str, ...] = ()  # watched namespaces (the operator's -n); empty: all
    skip_recreate: bool = False
    key_order: str = CERT_NOT_BEFORE
    key_backup_recipients: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, options: Mapping[str, Any], namespaces: tuple[str, ...] = ()) -> Settings:
        """From the operator's parsed flags (:attr:`OperatorSettings.options`)."""
        from sealed.key_manager import parse_cutoff

        def get(name: str, default: Any) -> Any:
            value = options.get(name)
            return default if value is None else value

        try:
            cutoff = parse_cutoff(str(get("key_cutoff_time", "") or ""))
        except ValueError as error:
            raise SystemExit(f"error: {error}") from None
        size = int(get("key_size", 4096))
        if size < 2048:
            raise SystemExit(f"error: --key-size: {size} is too small (at least 2048)")
        backup, recipients = (
            str(get("key_backup", "") or ""),
            tuple(get("key_backup_age_recipient", []) or ()),
        )
        if backup:
            from sealed.backup import parse_s3_url
            from sealed.keybackup import parse_recipients

            try:
                parse_s3_url(backup)
            except ValueError as error:
                raise SystemExit(f"error: {error}") from None
            try:
                parse_recipients(recipients)
            except ValueError as error:
                raise SystemExit(f"error: --key-backup-age-recipient: {error}") from None
        return cls(
            namespaces=namespaces,
            skip_recreate=bool(get("skip_recreate", False)),
            key_order=str(get("key_order_priority", cls.key_order)),
            key_backup=backup,
            key_backup_recipients=recipients,
            key_namespace=str(get("key_namespace", cls.key_namespace)),
            key_prefix=str(get("key_prefix", cls.key_prefix)),
            key_size=size,
            key_ttl=_duration(str(get("key_ttl", "87600h")), "--key-ttl") or cls.key_ttl,
            key_renew_period=_duration(str(get("key_renew_period", "720h")), "--key-renew-period"),
            key_cutoff=cutoff,
            common_name=str(get("my_cn", "")),
            update_status=str(get("update_status", "true")) == "true",
            workers=max(int(get("sealed_workers", 16)), 1),
            rate_limit=float(get("rate_limit", 2.0)),
            rate_limit_burst=int(get("rate_limit_burst", 2)),
            lease_seconds=int(os.environ.get("LOCKSTEP_KEY_LEASE_SECONDS", "15")),
        )


class Controller:
    """Glue between kopf events, the work queue, the key ring, the key manager and the reconciler."""

    def __init__(self, settings: Settings, ring: KeyRing, client: KubeClient) -> None:
        from core_sync.scheduler import Scheduler
        from sealed.key_manager import KeyManager
        from sealed.reconcile import Reconciler

        self.client = client
        self.namespace = settings.key_namespace
        self.settings = settings
        self.ring = ring
        self.reconciler = Reconciler(
            self.client, self.ring.private_keys, update_status=settings.update_status
        )
        self.scheduler = Scheduler(self._work, workers=settings.workers, name="sealed")
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.failed: set[tuple[str, str]] = set()
        self._seen: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._attempts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.stop = threading.Event()

        def make_key() -> SealingKeyPair:
            import datetime as dt

            from sealed.format.keygen import generate_key_pair

            ttl = dt.timedelta(seconds=settings.key_ttl)
            return generate_key_pair(settings.key_size, ttl=ttl, common_name=settings.common_name)

        self.keys = KeyManager(
            self.client,
            self.ring,
            self.namespace,
            f"{socket.gethostname()}-{os.getpid()}",
            make_key=make_key,
            renew_period=settings.key_renew_period,
            cutoff=settings.key_cutoff,
            prefix=settings.key_prefix,
            lease_seconds=settings.lease_seconds,
            backup=self._backup(settings),
        )
        self.ring.on_change(self._keys_changed)

    def _backup(self, settings: Settings) -> Callable[[], str] | None:
        if not settings.key_backup:
            return None
        from sealed.backup import S3KeyBackup

        backup = S3KeyBackup(settings.key_backup, settings.key_backup_recipients)
        return lambda: backup.write(self.client, self.namespace)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        from sealed.keyring import watch_keys

        self.scheduler.start(loop)
        threading.Thread(
            target=watch_keys,
            args=(self.client, self.namespace, self.ring, self.stop),
            daemon=True,
            name="sealed-keys",
        ).start()
        if not self.settings.skip_recreate:
            from core_sync.kube.watch import watch_collection

            for path in self._secret_paths():
                threading.Thread(
                    target=watch_collection,
                    args=(self.client, path, lambda _items: None, self.on_secret, self.stop),
                    daemon=True,
                    name=f"sealed-secrets-watch:{path}",
                ).start()
        threading.Thread(
            target=self.keys.run, args=(self.stop,), daemon=True, name="sealed-key-manager"
        ).start()

    async def shutdown(self) -> None:
        """Stop, and hand the key Lease over at once instead of letting it expire."""
        self.stop.set()
        self.keys.wake()
        await self.scheduler.stop()
        await asyncio.to_thread(self.keys.lease.release)

    def _secret_paths(self) -> list[str]:
        if not self.settings.namespaces:
            return ["/api/v1/secrets"]
        return [f"/api/v1/namespaces/{namespace}/secrets" for namespace in self.settings.namespaces]

    # -- events -------------------------------------------------------------------------------------------
    def on_secret(self, event_type: str, secret: dict[str, Any]) -> None:
        """A Secret this controller made (or may manage) was deleted: make it again (Bitnami's default)."""
        if event_type != "DELETED":
            return
        from sealed.reconcile import MANAGED_ANNOTATION, is_controlled_by

        meta = secret.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        with self._lock:
            sealed = self.objects.get(key)
        if sealed is None:
            return
        managed = (meta.get("annotations") or {}).get(MANAGED_ANNOTATION) == "true"
        if is_controlled_by(secret, sealed) or managed:
            self.scheduler.schedule(key, 0.0)

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
            outcome = self.reconciler.reconcile(body)
        except (ApiError, OSError) as failure:  # the status could not even be written: try again
            log.warning("unseal failed; will retry", extra={"object": "/".join(key), "error": str(failure)})
            return self._retry_after(key)
        with self._lock:
            if outcome.message is None:
                self.failed.discard(key)
            else:
                self.failed.add(key)
        if outcome.retry:
            return self._retry_after(key)
        self._attempts.pop(key, None)
        return None

    def _retry_after(self, key: tuple[str, str]) -> float | None:
        """Backoff for API failures, up to Bitnami's five retries; later a key or spec change retries."""
        attempts = self._attempts.get(key, 0) + 1
        self._attempts[key] = attempts
        return None if attempts >= RETRY_LIMIT else min(0.5 * 2**attempts, 30.0)


def register(registry: Any, operator: OperatorSettings | None = None) -> None:
    """Add the SealedSecret handlers and the ``/v1`` routes to the operator (entry point ``sealed``)."""
    import kopf

    from core_sync.http_server import ROUTE_HOOKS
    from core_sync.operator_settings import OperatorSettings
    from sealed.keyring import KeyRing
    from sealed.server import RateLimiter, add_routes

    operator = operator or OperatorSettings()
    settings = Settings.from_options(operator.options, operator.namespaces)
    holder: dict[str, Controller] = {}
    ring = KeyRing(settings.key_order)
    ROUTE_HOOKS.append(add_routes(ring, RateLimiter(settings.rate_limit, settings.rate_limit_burst)))

    @kopf.on.startup(registry=registry)
    async def start_sealed(**_: Any) -> None:
        holder["controller"] = Controller(settings, ring, operator.kube_client())
        loop = asyncio.get_running_loop()
        holder["controller"].start(loop)
        # Bitnami's controller makes a key at once on SIGUSR1 (`kill -USR1 <pid>` / `kubectl exec ... kill`)
        loop.add_signal_handler(signal.SIGUSR1, holder["controller"].keys.request_renewal)

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
