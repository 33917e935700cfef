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
from core_sync.reconciler import GROUP, PLURAL, VERSION, Reconciler

HOOK_ANNOTATION = "lockstep.dev/hook-token"
_TRIGGERS: dict[AppRef, asyncio.Event] = {}
_GENERATIONS: dict[AppRef, int] = {}
_HOOK_APPS: dict[str, set[AppRef]] = {}
_STATE: dict[str, Reconciler] = {}


def _reconciler() -> Reconciler:
    if "reconciler" not in _STATE:
        from core_sync.kube import KubeClient, KubeConfig

        _STATE["reconciler"] = Reconciler(KubeClient(KubeConfig.load()))
    return _STATE["reconciler"]


def _trigger(ref: AppRef) -> bool:
    event = _TRIGGERS.get(ref)
    if event is None:
        return False
    event.set()
    return True


def _hook_for(token: str) -> Any:
    async def fire() -> int:
        return sum(_trigger(ref) for ref in list(_HOOK_APPS.get(token, ())))

    return fire


def register(registry: Any) -> None:
    import kopf

    @kopf.daemon(GROUP, VERSION, PLURAL, registry=registry, cancellation_timeout=10.0)
    async def application_loop(**kwargs: Any) -> None:
        stopped, body = kwargs["stopped"], kwargs["body"]
        ref = AppRef(kwargs["namespace"], kwargs["name"])
        trigger = _TRIGGERS.setdefault(ref, asyncio.Event())
        reconciler = _reconciler()
        try:
            while not stopped:
                trigger.clear()
                snapshot = copy.deepcopy(dict(body))
                _GENERATIONS[ref] = int(snapshot["metadata"].get("generation", 0))
                outcome = await asyncio.to_thread(reconciler.reconcile, snapshot)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(trigger.wait(), timeout=outcome.requeue_after)
        finally:
            _TRIGGERS.pop(ref, None)
            _GENERATIONS.pop(ref, None)
            reconciler.forget(ref)

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    async def application_event(**kwargs: Any) -> None:
        body = kwargs["body"]
        ref = AppRef(kwargs["namespace"], kwargs["name"])
        for apps in _HOOK_APPS.values():
            apps.discard(ref)
        if kwargs["type"] == "DELETED":
            return
        token = (body.get("metadata", {}).get("annotations") or {}).get(HOOK_ANNOTATION)
        if token:
            _HOOK_APPS.setdefault(token, set()).add(ref)
            HOOKS.setdefault(token, _hook_for(token))
        generation = int(body.get("metadata", {}).get("generation", 0))
        if ref in _GENERATIONS and generation != _GENERATIONS[ref]:
            _trigger(ref)
