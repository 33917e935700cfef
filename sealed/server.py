"""The controller's HTTP API with Bitnami's semantics (``server.go``), on the operator's server.

``GET /v1/cert.pem``: the newest active key's certificate (``application/x-pem-file``; 500 "cannot get
certificate" without keys). ``POST /v1/verify``: 200 if the SealedSecret opens, 409 if not, 500 if the body
is not one SealedSecret (several YAML documents are refused as Bitnami refuses them); rate-limited per
client like Bitnami (``--rate-limit``/``--rate-limit-burst``). ``POST /v1/rotate``: open with any key and
seal again with the newest, answering compact JSON; since Bitnami v0.36 a SealedSecret whose
``metadata`` differs from ``spec.template.metadata`` gets the object metadata copied over the template's
first, which keeps the scope honest. Nothing here writes to the cluster.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from sealed.format.convert import SealOptions, open_sealed, parse_secret, seal
from sealed.format.documents import load_documents
from sealed.format.errors import FormatError
from sealed.keyring import KeyRing

MULTI_DOCUMENT = (
    "Multistream YAML not supported yet (see https://github.com/bitnami-labs/sealed-secrets/issues/114)"
)


def read_sealed_secret(body: bytes) -> dict[str, Any]:
    """The one SealedSecret in a request body, or a :class:`FormatError` saying why not."""
    documents = load_documents(body)
    if len(documents) > 1:
        raise FormatError(MULTI_DOCUMENT)
    if not documents or not isinstance(documents[0], Mapping):
        raise FormatError("no object in the request body")
    obj = dict(documents[0])
    if obj.get("kind") != "SealedSecret" or not str(obj.get("apiVersion", "")).startswith("bitnami.com/"):
        raise FormatError(f"unexpected resource type: {obj.get('apiVersion')}, Kind={obj.get('kind')}")
    return obj


def verify(ring: KeyRing, body: bytes) -> int:
    """Bitnami's ``/v1/verify`` status code for ``body``."""
    try:
        sealed = read_sealed_secret(body)
    except FormatError:
        return 500
    try:
        open_sealed(sealed, ring.private_keys())
    except (FormatError, ValueError):
        return 409
    return 200


def rotate(ring: KeyRing, body: bytes) -> bytes:
    """Bitnami's ``/v1/rotate``: the SealedSecret sealed again with the newest key (compact JSON)."""
    from sealed.format.crypto import hybrid_encrypt, public_key_of

    sealed = read_sealed_secret(body)
    metadata = dict(sealed.get("metadata") or {})
    spec = dict(sealed.get("spec") or {})
    template = dict(spec.get("template") or {})
    if template.get("metadata") != metadata:
        template["metadata"] = metadata
        spec["template"] = template
        sealed = {**sealed, "spec": spec}
    try:
        secret, _ = open_sealed(sealed, ring.private_keys())
    except (FormatError, ValueError) as error:
        raise FormatError(f"error decrypting secret. {error}") from None
    newest = ring.newest()
    if newest is None or newest.key is None:
        raise FormatError("error getting latest private key. no key available")
    public = public_key_of(newest.key.key)
    secret["metadata"].pop("ownerReferences", None)
    resealed = seal(
        parse_secret(secret),
        lambda plaintext, label: hybrid_encrypt(public, plaintext, label),
        SealOptions(allow_empty_data=True),
    )
    return json.dumps(resealed, separators=(",", ":")).encode()


class RateLimiter:
    """GCRA per client key (Bitnami's throttled limiter on ``/v1/verify``): ``rate`` per second, ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.tolerance = self.interval * max(burst, 1)
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        if self.interval == 0.0:
            return True
        moment = time.monotonic() if now is None else now
        with self._lock:
            tat = max(self._tat.get(client, moment), moment)
            if tat - moment >= self.tolerance:
                return False
            self._tat[client] = tat + self.interval
            if len(self._tat) > 65536:  # Bitnami's store size; forget the oldest clients
                self._tat.clear()
            return True


def add_routes(ring: KeyRing, limiter: RateLimiter) -> Callable[[Any], None]:
    """A hook for :data:`core_sync.http_server.ROUTE_HOOKS` that adds the ``/v1`` routes to the app."""

    def hook(app: Any) -> None:
        import asyncio

        from aiohttp import web

        async def cert(_: web.Request) -> web.Response:
            newest = ring.newest()
            if newest is None:
                return web.Response(status=500, text="cannot get certificate\n")
            return web.Response(body=newest.cert_pem, headers={"Content-Type": "application/x-pem-file"})

        async def verify_route(request: web.Request) -> web.Response:
            peer = request.headers.get("X-Forwarded-For") or request.remote or ""
            if not limiter.allow(f"/v1/verify|{peer}"):
                return web.Response(status=429, text="limit exceeded\n")
            body = await request.read()
            status = await asyncio.to_thread(verify, ring, body)
            return web.Response(status=status)

        async def rotate_route(request: web.Request) -> web.Response:
            body = await request.read()
            try:
                answer = await asyncio.to_thread(rotate, ring, body)
            except FormatError as error:  # names items and keys, never values
                return web.Response(status=500, text=f"{error}\n")
            return web.Response(body=answer, content_type="application/json")

        app.add_routes(
            [
                web.get("/v1/cert.pem", cert),
                web.post("/v1/verify", verify_route),
                web.post("/v1/rotate", rotate_route),
            ]
        )

    return hook
