"""The ApplicationSet controller (entry point ``applicationset`` in ``lockstep.controllers``).

Event driven: a set is expanded when its generation changes, and every set of a namespace when a
registered cluster Secret there is added, changed or removed (a watch, so a new cluster gets its
Applications within seconds). Git directories are read at each expansion; a set with a git generator is
also re-expanded every ``GIT_RESYNC_S``. A failed expansion changes nothing and says why in ``Ready``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from core_sync.operator_settings import OperatorSettings

GROUP, VERSION, PLURAL = "lockstep.dev", "v1alpha1", "applicationsets"
GIT_RESYNC_S = 180.0
log = logging.getLogger("lockstep.applicationset")

SetRef = tuple[str, str]


class ApplicationSetController:
    """Known sets per namespace, their last expanded generation, and the expansion itself."""

    def __init__(self, settings: OperatorSettings) -> None:
        self.settings = settings
        self.sets: dict[SetRef, dict[str, Any]] = {}
        self.generations: dict[SetRef, int] = {}
        self.lock = asyncio.Lock()

    def reconcile(self, appset: Mapping[str, Any]) -> None:
        """Expand one set and write the changes; status ``Ready`` says how it went (runs in a thread)."""
        from core_sync.appset import cluster
        from core_sync.appset.plan import changes, desired
        from core_sync.appset.template import AppSetError
        from core_sync.kube import ApiError

        client = self.settings.kube_client()
        meta = appset["metadata"]
        namespace = meta["namespace"]
        try:
            want = desired(appset, cluster.world(client, namespace))
            policy = ((appset.get("spec") or {}).get("syncPolicy") or {}).get("applicationsSync", "sync")
            plan = changes(want, cluster.owned(client, appset), policy)
            cluster.write(client, namespace, plan)
        except (AppSetError, ApiError) as problem:
            message = problem.message if isinstance(problem, ApiError) else str(problem)
            self._status(client, appset, "False", "GenerationFailed", message, None)
            log.warning("ApplicationSet %s/%s: %s", namespace, meta["name"], message)
            return
        except Exception as problem:  # git fetch failures and the like: reported, never a crash loop
            self._status(client, appset, "False", "GenerationFailed", str(problem)[:500], None)
            return
        names = sorted(a["metadata"]["name"] for a in want) + plan.keep
        summary = f"{len(want)} Applications ({len(plan.create)} created, {len(plan.update)} updated, "
        summary += f"{len(plan.delete)} deleted, {len(plan.keep)} kept)"
        self._status(client, appset, "True", "Generated", summary, names)

    @staticmethod
    def _status(
        client: Any, appset: Mapping[str, Any], status: str, reason: str, message: str, apps: list[str] | None
    ) -> None:
        from core_sync.kube import ApiError

        meta = appset["metadata"]
        condition = {"type": "Ready", "status": status, "reason": reason, "message": message}
        body: dict[str, Any] = {"observedGeneration": meta.get("generation"), "conditions": [condition]}
        if apps is not None:
            body["applications"] = apps
        if (appset.get("status") or {}) == body:
            return
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{meta['namespace']}/{PLURAL}/{meta['name']}/status"
        try:
            client.merge_patch(path, {"status": body})
        except ApiError as error:
            if not error.not_found:
                raise

    async def on_set(self, event_type: str, body: dict[str, Any]) -> None:
        meta = body.get("metadata") or {}
        ref = (str(meta.get("namespace")), str(meta.get("name")))
        if event_type == "DELETED":
            self.sets.pop(ref, None)
            self.generations.pop(ref, None)
            return  # its Applications go with it (ownerReferences, the API server's garbage collector)
        self.sets[ref] = body
        generation = int(meta.get("generation") or 0)
        if self.generations.get(ref) != generation:
            self.generations[ref] = generation
            await self._run(body)

    async def on_cluster_secret(self, namespace: str) -> None:
        for (set_namespace, _), body in list(self.sets.items()):
            if set_namespace == namespace:
                await self._run(body)

    async def resync_git(self) -> None:
        while True:
            await asyncio.sleep(GIT_RESYNC_S)
            for body in list(self.sets.values()):
                if "git" in repr((body.get("spec") or {}).get("generators")):
                    await self._run(body)

    async def _run(self, body: dict[str, Any]) -> None:
        async with self.lock:
            await asyncio.to_thread(self.reconcile, body)


def register(registry: Any, settings: OperatorSettings | None = None) -> ApplicationSetController:
    """Add the ApplicationSet handlers to ``registry``."""
    import kopf

    from core_sync.appset.generators import CLUSTER_LABEL

    controller = ApplicationSetController(settings or OperatorSettings())
    tasks: list[asyncio.Task[None]] = []

    @kopf.on.startup(registry=registry)
    async def start_applicationset(**_: Any) -> None:
        tasks.append(asyncio.get_running_loop().create_task(controller.resync_git()))

    @kopf.on.cleanup(registry=registry)
    async def stop_applicationset(**_: Any) -> None:
        for task in tasks:
            task.cancel()

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    async def applicationset_event(**kwargs: Any) -> None:
        event = kwargs["event"]
        if event.get("type") is not None:
            await controller.on_set(str(event["type"]), dict(event["object"]))

    @kopf.on.event("", "v1", "secrets", labels={CLUSTER_LABEL: "true"}, registry=registry)
    async def cluster_secret_event(**kwargs: Any) -> None:
        event = kwargs["event"]
        if event.get("type") is not None:
            namespace = (event["object"].get("metadata") or {}).get("namespace")
            await controller.on_cluster_secret(str(namespace))

    return controller
