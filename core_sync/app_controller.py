"""The Application controller (kopf wiring, thin): one daemon per Application runs the reconcile loop.

The loop reconciles, then sleeps until the interval (or the retry backoff) passes or something triggers it
early: a spec change (new generation), a git push webhook, or a dependency. The work itself is
:class:`core_sync.reconciler.Reconciler`, run in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from typing import Any

from core_sync.http_server import HOOKS
from core_sync.inventory import AppRef
from core_sync.operator_settings import OperatorSettings
from core_sync.reconciler import GROUP, PLURAL, VERSION, Reconciler
from core_sync.sharding import owns, watch_only_shard

HOOK_ANNOTATION = "lockstep.dev/hook-token"


class ApplicationController:
    """The state the Application handlers share: wake-up events, last seen generations, hook tokens,
    and one reconciler on the operator's cluster access (from :class:`OperatorSettings`)."""

    def __init__(self, settings: OperatorSettings) -> None:
        self.settings = settings
        self.triggers: dict[AppRef, asyncio.Event] = {}
        self.generations: dict[AppRef, int] = {}
        self.hook_apps: dict[str, set[AppRef]] = {}
        self._reconciler: Reconciler | None = None

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
        trigger = self.triggers.setdefault(ref, asyncio.Event())
        reconciler = self.reconciler()
        try:
            while not stopped and owns(self.settings.shard, body.get("metadata", {}).get("labels")):
                trigger.clear()
                snapshot = copy.deepcopy(dict(body))
                self.generations[ref] = int(snapshot["metadata"].get("generation", 0))
                outcome = await asyncio.to_thread(reconciler.reconcile, snapshot)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(trigger.wait(), timeout=outcome.requeue_after)
        finally:
            self.triggers.pop(ref, None)
            self.generations.pop(ref, None)
            reconciler.forget(ref)

    def on_event(self, ref: AppRef, event_type: str, body: Any) -> None:
        """Track hook tokens, and wake the daemon early when the spec changed (a new generation)."""
        for apps in self.hook_apps.values():
            apps.discard(ref)
        if event_type == "DELETED":
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
        watch_only_shard(settings, controller.settings.shard, GROUP, PLURAL)

    @kopf.daemon(GROUP, VERSION, PLURAL, registry=registry, cancellation_timeout=10.0)
    async def application_loop(**kwargs: Any) -> None:
        ref = AppRef(kwargs["namespace"], kwargs["name"])
        await controller.run(ref, kwargs["body"], kwargs["stopped"])

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    async def application_event(**kwargs: Any) -> None:
        controller.on_event(AppRef(kwargs["namespace"], kwargs["name"]), kwargs["type"], kwargs["body"])

    return controller
