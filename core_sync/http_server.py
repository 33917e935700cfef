"""The operator's HTTP endpoints: ``/healthz``, ``/readyz``, ``/metrics`` and ``POST /hook/<token>``.

Webhook receivers are looked up by token in :data:`HOOKS` (filled by the Application controller): a push
to a repository triggers an immediate reconcile of the Applications that use it. Package controllers add
their own routes through :data:`ROUTE_HOOKS` (the SealedSecret controller's ``/v1/cert.pem`` and friends),
so core_sync never imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from core_sync.metrics import REGISTRY

log = logging.getLogger("lockstep.http")
HOOKS: dict[str, Callable[[], Awaitable[int]]] = {}
READY = {"value": False}
ROUTE_HOOKS: list[Callable[[Any], None]] = []  # each adds routes to the aiohttp app before it starts


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
    for add_routes in ROUTE_HOOKS:
        add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    READY["value"] = True
    log.info("serving health, metrics and hooks", extra={"address": f"{host}:{port}"})
