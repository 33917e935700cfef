"""The operator's HTTP endpoints: ``/healthz``, ``/readyz``, ``/metrics`` and ``POST /hook/<token>``.

Webhook receivers are looked up by token in :data:`HOOKS` (filled by the Application controller): a push
to a repository triggers an immediate reconcile of the Applications that use it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from core_sync.metrics import REGISTRY

log = logging.getLogger("lockstep.http")
HOOKS: dict[str, Callable[[], Awaitable[int]]] = {}
READY = {"value": False}


async def serve_forever(host: str, port: int) -> None:
    from aiohttp import web

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        return web.Response(text="ok") if READY["value"] else web.Response(status=503, text="starting")

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(text=REGISTRY.render(), content_type="text/plain", charset="utf-8")

    async def hook(request: web.Request) -> web.Response:
        trigger = HOOKS.get(request.match_info["token"])
        if trigger is None:
            return web.Response(status=404, text="unknown hook")
        triggered = await trigger()
        return web.json_response({"triggered": triggered})

    app = web.Application()
    app.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.get("/metrics", metrics),
            web.post("/hook/{token}", hook),
        ]
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    READY["value"] = True
    log.info("serving health, metrics and hooks", extra={"address": f"{host}:{port}"})
