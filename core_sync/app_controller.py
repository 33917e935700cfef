"""The Application controller (kopf wiring, thin): one daemon per Application runs the reconcile loop.

The loop reconciles, then sleeps until the interval (or the retry backoff) passes or something triggers it
early: a spec change (new generation), a git push webhook, or a dependency. The work itself is
:class:`core_sync.reconciler.Reconciler`, run in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
from typing import TYPE_CHECKING, Any

from core_sync.http_server import HOOKS
from core_sync.inventory import AppRef
from core_sync.operator_settings import OperatorSettings
from core_sync.profiling import profiled
from core_sync.reconciler import GROUP, PLURAL, VERSION, Reconciler
from core_sync.sharding import owns, watch_only_shard

if TYPE_CHECKING:
    from core_sync.auto_shard import AutoShard

HOOK_ANNOTATION = "lockstep.dev/hook-token"
# a first or interval reconcile may use a fetch of its source begun this long ago by another Application
# (one fetch serves a fleet of one repository); a triggered one always fetches anew
SHARED_FETCH_AGE_S = 2.0


class Wakeup(asyncio.Event):
    """What a daemon sleeps on; ``ended`` when the object left this replica's watch."""

    ended = False


class ApplicationController:
    """The state the Application handlers share: wake-up events, last seen generations, hook tokens,
    and one reconciler on the operator's cluster access (from :class:`OperatorSettings`)."""

    def __init__(self, settings: OperatorSettings) -> None:
        self.settings = settings
        self.triggers: dict[AppRef, Wakeup] = {}
        self.generations: dict[AppRef, int] = {}
        self.hook_apps: dict[str, set[AppRef]] = {}
        self._reconciler: Reconciler | None = None
        self.placement: AutoShard | None = None  # ``--shard auto``: which Applications are this replica's
        self.waiting: set[AppRef] = set()  # daemons of Applications another replica owns
        # reconciles handed to asyncio's default executor at once: four per thread, so a freed thread finds
        # the next one queued without waiting for the event loop (one slot per thread left threads idle
        # while the loop was busy), yet a thousand Applications starting together no longer queue a
        # thousand copies of their bodies
        self.slots = asyncio.Semaphore(4 * min(32, (os.cpu_count() or 1) + 4))

    def reconciler(self) -> Reconciler:
        if self._reconciler is None:
            self._reconciler = Reconciler(
                self.settings.kube_client(),
                tenancy=self.settings.tenancy(),
                allow_kubeconfig_exec=self.settings.insecure_kubeconfig_exec,
            )
        return self._reconciler

    def trigger(self, ref: AppRef) -> bool:
        event = self.triggers.get(ref)
        if event is None:
            return False
        event.set()
        return True

    def hook_for(self, token: str) -> Any:
        async def fire() -> int:
            return sum(self.trigger(ref) for ref in list(self.hook_apps.get(token, ())))

        return fire

    async def run(self, ref: AppRef, body: Any, stopped: Any) -> None:
        """The daemon: reconcile, sleep until the interval passes or something triggers it."""
        trigger = self.triggers[ref] = Wakeup()
        reconciler = self.reconciler()
        triggered = False  # woken by a spec change, a webhook or a dependency: the source must be fetched now
        try:
            while not stopped and not trigger.ended and self.owns(body):
                trigger.clear()
                if self.placement is not None and not self.placement.mine(str(ref)):
                    self.waiting.add(ref)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(trigger.wait(), timeout=5.0)
                    continue
                self.waiting.discard(ref)
                max_age = 0.0 if triggered else SHARED_FETCH_AGE_S
                async with self.slots:  # the copy is made when a thread is free, and lives only as long
                    self.generations[ref] = int(body.get("metadata", {}).get("generation", 0))
                    snapshot = _snapshot(body)
                    outcome = await asyncio.to_thread(profiled, reconciler.reconcile, snapshot, max_age)
                    del snapshot
                try:
                    await asyncio.wait_for(trigger.wait(), timeout=outcome.requeue_after)
                    triggered = True
                except TimeoutError:
                    triggered = False
        finally:
            if self.triggers.get(ref) in (None, trigger):  # not already a new daemon's (the object came back)
                self.waiting.discard(ref)
                self.triggers.pop(ref, None)
                self.generations.pop(ref, None)
                reconciler.forget(ref)

    def on_members_changed(self) -> None:
        """Wake the waiting daemons this replica now owns (the ones it keeps are left to their interval)."""
        assert self.placement is not None
        for ref in list(self.waiting):
            if self.placement.mine(str(ref)):
                self.trigger(ref)

    def owns(self, body: Any) -> bool:
        """Whether the object's labels (kept live by kopf) still put it in this replica's selector."""
        return owns(self.settings.shard, body.get("metadata", {}).get("labels"), self.replica)

    @property
    def replica(self) -> str | None:
        """``--shard auto``: this replica's identity, the ``lockstep.dev/replica`` label value it owns."""
        return self.placement.identity if self.placement is not None else None

    async def start_placement(self) -> None:
        """``--shard auto``: join the replicas' membership (the view the startup handler took from the
        settings, shared by every controller) and follow its changes."""
        if self.placement is not None:
            self.placement.assign(GROUP, VERSION, PLURAL)
            self.placement.listeners.append(self.on_members_changed)
            await self.placement.start()

    def on_event(self, ref: AppRef, event_type: str, body: Any) -> None:
        """Track hook tokens, and wake the daemon early when the spec changed (a new generation)."""
        for apps in self.hook_apps.values():
            apps.discard(ref)
        if event_type == "DELETED":
            # gone, or relabelled out of this replica's selector (another shard or replica; the event then
            # carries the object as it was, with the old labels): kopf forgets the object, so its daemon
            # ends now. Nothing is pruned: a deletion runs through kopf's finalizer on the owning replica.
            ended = self.triggers.pop(ref, None)
            if ended is not None:
                ended.ended = True
                ended.set()
            return
        token = (body.get("metadata", {}).get("annotations") or {}).get(HOOK_ANNOTATION)
        if token:
            self.hook_apps.setdefault(token, set()).add(ref)
            HOOKS.setdefault(token, self.hook_for(token))
        generation = int(body.get("metadata", {}).get("generation", 0))
        if ref in self.generations and generation != self.generations[ref]:
            self.trigger(ref)


def register(registry: Any, settings: OperatorSettings | None = None) -> ApplicationController:
    """Add the Application handlers to ``registry``, sharing one :class:`ApplicationController`."""
    import kopf

    controller = ApplicationController(settings or OperatorSettings())

    @kopf.on.startup(registry=registry)
    async def application_shard(settings: kopf.OperatorSettings, **_: Any) -> None:
        controller.placement = controller.settings.placement()
        watch_only_shard(settings, controller.settings.shard, GROUP, PLURAL, controller.replica)
        await controller.start_placement()

    @kopf.on.cleanup(registry=registry)
    async def application_shard_release(**_: Any) -> None:
        if controller.placement is not None:
            await asyncio.to_thread(controller.placement.release)

    @kopf.daemon(GROUP, VERSION, PLURAL, registry=registry, cancellation_timeout=10.0)
    async def application_loop(**kwargs: Any) -> None:
        ref = AppRef(kwargs["namespace"], kwargs["name"])
        await controller.run(ref, kwargs["body"], kwargs["stopped"])

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    async def application_event(**kwargs: Any) -> None:
        drop_managed_fields(kwargs.get("event"))
        controller.on_event(AppRef(kwargs["namespace"], kwargs["name"]), kwargs["type"], kwargs["body"])

    return controller


def drop_managed_fields(event: Any) -> None:
    """Drop ``metadata.managedFields`` from the body of a watch event, the very dict kopf keeps as the
    Application's latest body for its daemon: ~6 of its ~16 KiB (as Python objects) at fleet size, read by
    neither kopf nor Lockstep."""
    obj = event.get("object") if isinstance(event, dict) else None
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if isinstance(meta, dict):
        meta.pop("managedFields", None)


def _snapshot(body: Any) -> dict[str, Any]:
    """A private copy of the Application for one reconcile (kopf replaces ``body`` as events arrive),
    without managedFields."""
    raw = dict(body)
    metadata = {k: v for k, v in (raw.get("metadata") or {}).items() if k != "managedFields"}
    return copy.deepcopy({**raw, "metadata": metadata})
