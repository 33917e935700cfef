"""ExternalSecret, PushSecret, SecretStore and ClusterSecretStore controllers (kopf handlers, thin).

kopf only feeds watch events in: each handler records the object and asks the scheduler to reconcile it
when something that matters changed (spec, labels, annotations, deletion; status-only updates are
ignored). The reconciles themselves (:mod:`external_secrets.reconcile`) run in worker threads with
per-object due times, so refresh intervals, jitter and backoff are per ExternalSecret.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core_sync.sharding import owns, shard_selector

if TYPE_CHECKING:
    from core_sync.operator_settings import OperatorSettings

log = logging.getLogger("lockstep.external")
RESYNC_S = float(os.environ.get("LOCKSTEP_EXTERNAL_RESYNC", "60"))


class Controller:
    """Glue between kopf events, the scheduler and the reconciler (created at operator startup)."""

    def __init__(self, settings: OperatorSettings | None = None) -> None:
        from core_sync.operator_settings import OperatorSettings
        from core_sync.scheduler import Scheduler
        from external_secrets.cache import ProviderCache
        from external_secrets.reconcile import Reconciler

        settings = settings or OperatorSettings()
        self.shard = settings.shard
        self.placement = settings.placement()  # ``--shard auto``: which ExternalSecrets are this replica's
        # ``--shard auto``: the ``lockstep.dev/replica`` label value of the objects this replica receives
        self.replica = self.placement.identity if self.placement is not None else None
        self._waiting: set[tuple[str, ...]] = set()  # ExternalSecrets another replica owns
        self._waiting_lock = threading.Lock()
        client = settings.kube_client()
        env = os.environ.get
        cache = ProviderCache(
            rate=float(env("LOCKSTEP_EXTERNAL_STORE_QPS", "50")),
            burst=int(env("LOCKSTEP_EXTERNAL_STORE_BURST", "100")),
            concurrency=int(env("LOCKSTEP_EXTERNAL_STORE_CONCURRENCY", "8")),
        )
        self.scheduler = Scheduler(
            self._work, workers=int(env("LOCKSTEP_EXTERNAL_WORKERS", "8")), name="external"
        )
        self.reconciler = Reconciler(
            client,
            cache=cache,
            max_backoff=float(env("LOCKSTEP_EXTERNAL_MAX_BACKOFF", "420")),
            poke=lambda key, delay: self.scheduler.schedule(key, delay),
        )
        self._seen: dict[tuple[str, ...], tuple[Any, ...]] = {}
        self._targets: dict[tuple[str, str], set[str]] = {}
        self._cluster_es: set[str] = set()

    def _theirs(self, key: tuple[str, ...]) -> bool:
        """``--shard auto``: another replica owns this ExternalSecret or PushSecret (remembered for later)."""
        if self.placement is None:
            return False
        theirs = not self.placement.mine(f"{key[1]}/{key[2]}")
        with self._waiting_lock:
            (self._waiting.add if theirs else self._waiting.discard)(key)
        return theirs

    def _work(self, key: Any) -> float | None:
        if key[0] == "es":
            return None if self._theirs(key) else self.reconciler.reconcile_es((key[1], key[2]))
        if key[0] == "ps":
            return None if self._theirs(key) else self.reconciler.reconcile_push((key[1], key[2]))
        if key[0] == "store":
            return self.reconciler.reconcile_store((key[1], key[2], key[3]))
        if key[0] == "ces":
            from core_sync.kube import ApiError
            from external_secrets.cluster_external_secret import reconcile

            try:
                return reconcile(self.reconciler.client, key[1])
            except ApiError as error:  # the API server hiccuped: try again soon
                log.warning("ClusterExternalSecret %s: %s; retrying", key[1], error.reason or error.status)
                return 10.0
        if key[0] == "purge":
            self.reconciler.cache.purge()
            return 60.0
        if key[0] == "resync":
            self.resync()
            return RESYNC_S
        return None

    def resync(self) -> None:
        """List everything now and then, like an informer's resync: a watch that went quiet (as one opened
        while a new CRD's storage initialises can) must not leave objects unreconciled."""
        from core_sync.kube import ApiError

        base = "/apis/external-secrets.io/v1"
        try:
            stores = [
                *self._list(f"{base}/secretstores", "SecretStore"),
                *self._list(f"{base}/clustersecretstores", "ClusterSecretStore"),
            ]
            externalsecrets = self._list(
                f"{base}/externalsecrets",
                "ExternalSecret",
                labelSelector=shard_selector(self.shard, self.replica),
            )
        except (ApiError, OSError) as error:
            log.warning("resync failed", extra={"error": str(error)})
            return
        live_stores = set()
        for obj in stores:
            meta = obj["metadata"]
            live_stores.add(
                (obj["kind"], meta.get("namespace") if obj["kind"] == "SecretStore" else None, meta["name"])
            )
            self.on_store("MODIFIED", obj)
        for gone in [k for k in self.reconciler.stores if k not in live_stores]:
            self.on_store("DELETED", self.reconciler.stores[gone])
        self._resync_namespaced(externalsecrets, self.reconciler.externalsecrets, self.on_externalsecret)
        # kinds whose CRD may be missing (older installs): each on its own
        try:
            pushsecrets = self._list(
                "/apis/external-secrets.io/v1alpha1/pushsecrets",
                "PushSecret",
                labelSelector=shard_selector(self.shard, self.replica),
            )
        except (ApiError, OSError) as error:
            log.debug("PushSecret resync skipped", extra={"error": str(error)})
        else:
            self._resync_namespaced(pushsecrets, self.reconciler.pushsecrets, self.on_pushsecret)
        try:
            cluster_es = self._list(f"{base}/clusterexternalsecrets", "ClusterExternalSecret")
        except (ApiError, OSError) as error:
            log.debug("ClusterExternalSecret resync skipped", extra={"error": str(error)})
        else:
            for obj in cluster_es:
                self.on_cluster_external_secret("MODIFIED", obj)
            live_names = {str(obj["metadata"]["name"]) for obj in cluster_es}
            for name in self._cluster_es - live_names:
                self.on_cluster_external_secret("DELETED", {"metadata": {"name": name}})

    @staticmethod
    def _resync_namespaced(
        listed: list[dict[str, Any]],
        known: dict[tuple[str, str], dict[str, Any]],
        on_event: Callable[[str, dict[str, Any]], None],
    ) -> None:
        """Replay a list as watch events: every listed object MODIFIED, every remembered one gone DELETED."""
        live = set()
        for obj in listed:
            live.add((obj["metadata"]["namespace"], obj["metadata"]["name"]))
            on_event("MODIFIED", obj)
        for namespace, name in [k for k in known if k not in live]:
            on_event("DELETED", {"metadata": {"namespace": namespace, "name": name}})

    def _list(self, path: str, kind: str, **query: str) -> list[dict[str, Any]]:
        items = self.reconciler.client.get(path, **query).get("items") or []
        api_version = path.split("/apis/", 1)[1].rsplit("/", 1)[0]
        return [{**item, "kind": kind, "apiVersion": api_version} for item in items]

    def on_members_changed(self) -> None:
        """``--shard auto``: reconcile now the waiting ExternalSecrets this replica owns from now on."""
        assert self.placement is not None
        with self._waiting_lock:
            gained = [key for key in self._waiting if self.placement.mine(f"{key[1]}/{key[2]}")]
            self._waiting.difference_update(gained)
        for key in gained:
            self.scheduler.schedule(key, 0.0)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.scheduler.start(loop)
        self.scheduler.schedule(("purge",), 60.0)
        self.scheduler.schedule(("resync",), 2.0)

    # -- events ----------------------------------------------------------------------------------------
    def on_externalsecret(self, event_type: str, body: dict[str, Any]) -> None:
        from external_secrets.target import synced_resource_version, target_name

        meta = body.get("metadata") or {}
        namespace, name = meta.get("namespace"), meta.get("name")
        if not namespace or not name:
            return
        if event_type != "DELETED" and not owns(self.shard, meta.get("labels"), self.replica):
            event_type = "DELETED"  # relabelled to another shard or replica: that one takes it from here
        key = ("es", namespace, name)
        log.debug("externalsecret event %s %s/%s", event_type, namespace, name)
        old = self.reconciler.externalsecrets.get((namespace, name))
        if old is not None:
            self._targets.get((namespace, target_name(old)), set()).discard(name)
        if event_type == "DELETED":
            self.reconciler.externalsecrets.pop((namespace, name), None)
            self._seen.pop(key, None)
            self.scheduler.cancel(key)
            with self._waiting_lock:
                self._waiting.discard(key)
            return
        self.reconciler.externalsecrets[(namespace, name)] = body
        self._targets.setdefault((namespace, target_name(body)), set()).add(name)
        fingerprint = (meta.get("uid"), synced_resource_version(body), bool(meta.get("deletionTimestamp")))
        if self._seen.get(key) != fingerprint:
            self._seen[key] = fingerprint
            self.scheduler.schedule(key, 0.0)

    def on_pushsecret(self, event_type: str, body: dict[str, Any]) -> None:
        """A PushSecret changed: push now when its spec, metadata or deletion changed (sharded like
        ExternalSecrets)."""
        meta = body.get("metadata") or {}
        namespace, name = meta.get("namespace"), meta.get("name")
        if not namespace or not name:
            return
        if event_type != "DELETED" and not owns(self.shard, meta.get("labels"), self.replica):
            event_type = "DELETED"
        key = ("ps", namespace, name)
        if event_type == "DELETED":
            self.reconciler.pushsecrets.pop((namespace, name), None)
            self._seen.pop(key, None)
            self.scheduler.cancel(key)
            with self._waiting_lock:
                self._waiting.discard(key)
            return
        from external_secrets.target import synced_resource_version

        self.reconciler.pushsecrets[(namespace, name)] = body
        fingerprint = (meta.get("uid"), synced_resource_version(body), bool(meta.get("deletionTimestamp")))
        if self._seen.get(key) != fingerprint:
            self._seen[key] = fingerprint
            self.scheduler.schedule(key, 0.0)

    def on_store(self, event_type: str, body: dict[str, Any]) -> None:
        meta = body.get("metadata") or {}
        kind = body.get("kind") or "SecretStore"
        store_key = (kind, meta.get("namespace") if kind == "SecretStore" else None, meta.get("name"))
        key = ("store", *store_key)
        if event_type == "DELETED":
            self.reconciler.stores.pop(store_key, None)  # type: ignore[arg-type]
            self.reconciler.store_state.pop(store_key, None)  # type: ignore[arg-type]
            self._seen.pop(key, None)  # type: ignore[arg-type]
            self.scheduler.cancel(key)
            return
        self.reconciler.stores[store_key] = body  # type: ignore[index]
        fingerprint = (meta.get("uid"), meta.get("generation"))
        if self._seen.get(key) != fingerprint:  # type: ignore[arg-type]
            self._seen[key] = fingerprint  # type: ignore[index]
            self.scheduler.schedule(key, 0.0)

    def on_secret(self, event_type: str, body: dict[str, Any]) -> None:
        """Drift repair: a managed Secret changed or vanished behind our back."""
        from external_secrets.target import secret_is_valid

        meta = body.get("metadata") or {}
        namespace, name = str(meta.get("namespace")), str(meta.get("name"))
        if event_type != "DELETED" and secret_is_valid(body):
            return
        for es_name in self._targets.get((namespace, name), set()).copy():
            self.scheduler.schedule(("es", namespace, es_name), 0.0)

    def on_cluster_external_secret(self, event_type: str, body: dict[str, Any]) -> None:
        """A ClusterExternalSecret changed (spec or metadata): reconcile it now."""
        name = str(body["metadata"]["name"])
        if event_type == "DELETED":
            self._cluster_es.discard(name)
            return
        fingerprint = (
            body.get("spec"),
            (body["metadata"].get("annotations") or {}),
            body["metadata"].get("uid"),
        )
        if self._seen.get(("ces", name)) == fingerprint:
            return
        self._seen[("ces", name)] = fingerprint
        self._cluster_es.add(name)
        self.scheduler.schedule(("ces", name), 0.0)

    def on_namespace(self, event_type: str, body: dict[str, Any]) -> None:
        """A namespace came, went or changed labels: every ClusterExternalSecret re-selects."""
        labels = tuple(sorted(((body.get("metadata") or {}).get("labels") or {}).items()))
        key = ("ns", str(body["metadata"]["name"]))
        if event_type != "DELETED" and self._seen.get(key) == labels:
            return
        self._seen[key] = labels
        for name in self._cluster_es:
            self.scheduler.schedule(("ces", name), 0.0)


def register(registry: Any, settings: OperatorSettings | None = None) -> None:
    """Add the ExternalSecret handlers to ``registry`` (being built), on ``settings``' cluster access."""
    import kopf

    from core_sync.sharding import watch_only_shard

    operator_settings = settings

    from external_secrets.target import MANAGED_LABEL

    holder: dict[str, Controller] = {}

    def controller() -> Controller | None:
        return holder.get("controller")

    @kopf.on.startup(registry=registry)
    async def start_external(settings: kopf.OperatorSettings, **_: Any) -> None:
        current = holder["controller"] = Controller(operator_settings)
        watch_only_shard(settings, current.shard, "external-secrets.io", "externalsecrets", current.replica)
        watch_only_shard(settings, current.shard, "external-secrets.io", "pushsecrets", current.replica)
        if current.placement is not None:
            current.placement.assign("external-secrets.io", "v1", "externalsecrets")
            current.placement.assign("external-secrets.io", "v1alpha1", "pushsecrets")
            current.placement.listeners.append(current.on_members_changed)
            await current.placement.start()
        holder["controller"].start(asyncio.get_running_loop())

    @kopf.on.cleanup(registry=registry)
    async def stop_external(**_: Any) -> None:
        current = holder.pop("controller", None)
        if current is not None and current.placement is not None:
            await asyncio.to_thread(current.placement.release)
        if current is not None:
            await current.scheduler.stop()

    @kopf.on.event("external-secrets.io", "v1", "externalsecrets", registry=registry)
    async def externalsecret_event(**kwargs: Any) -> None:
        event = kwargs["event"]
        current = controller()
        if current is not None and event.get("type") is not None:
            current.on_externalsecret(str(event["type"]), dict(event["object"]))

    @kopf.on.event("external-secrets.io", "v1alpha1", "pushsecrets", registry=registry)
    async def pushsecret_event(**kwargs: Any) -> None:
        event = kwargs["event"]
        current = controller()
        if current is not None and event.get("type") is not None:
            current.on_pushsecret(str(event["type"]), dict(event["object"]))

    @kopf.on.event("external-secrets.io", "v1", "secretstores", registry=registry)
    async def secretstore_event(**kwargs: Any) -> None:
        event = kwargs["event"]
        current = controller()
        if current is not None and event.get("type") is not None:
            current.on_store(str(event["type"]), dict(event["object"]))

    @kopf.on.event("external-secrets.io", "v1", "clustersecretstores", registry=registry)
    async def clustersecretstore_event(**kwargs: Any) -> None:
        event = kwargs["event"]
        current = controller()
        if current is not None and event.get("type") is not None:
            current.on_store(str(event["type"]), dict(event["object"]))

    @kopf.on.event("external-secrets.io", "v1", "clusterexternalsecrets", registry=registry)
    async def clusterexternalsecret_event(**kwargs: Any) -> None:
        event = kwargs["event"]
        current = controller()
        if current is not None and event.get("type") is not None:
            current.on_cluster_external_secret(str(event["type"]), dict(event["object"]))

    @kopf.on.event("", "v1", "namespaces", registry=registry)
    async def namespace_event(**kwargs: Any) -> None:
        event = kwargs["event"]
        current = controller()
        if current is not None and event.get("type") is not None:
            current.on_namespace(str(event["type"]), dict(event["object"]))

    @kopf.on.event("", "v1", "secrets", labels={MANAGED_LABEL: "true"}, registry=registry)
    async def managed_secret_event(**kwargs: Any) -> None:
        event = kwargs["event"]
        current = controller()
        if current is not None and event.get("type") is not None:
            current.on_secret(str(event["type"]), dict(event["object"]))
