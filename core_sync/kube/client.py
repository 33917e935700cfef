"""Synchronous Kubernetes REST calls over keep-alive connections (one per thread).

Paths are explicit (``/api/v1/namespaces/x/configmaps``): resolving kinds to paths is discovery's job
(``core_sync.kube.discovery``), kept apart so this stays a thin transport.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

from core_sync.kube.config import KubeConfig
from core_sync.kube.credentials import Credentials

JSON = "application/json"
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"


class ApiError(RuntimeError):
    """A non-2xx answer from the API server, with the Status object's reason and message."""

    def __init__(self, status: int, method: str, path: str, body: bytes, server: str = "") -> None:
        self.server = server
        self.status = status
        self.method = method
        self.path = path
        try:
            self.body: dict[str, Any] = json.loads(body) if body else {}
        except ValueError:
            self.body = {"message": body[:500].decode(errors="replace")}
        self.reason = str(self.body.get("reason", ""))
        self.message = str(self.body.get("message", "")) or http.client.responses.get(status, "")
        super().__init__(f"{method} {path}: {status} {self.reason}: {self.message}".replace(":  :", ":"))

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409


class ApiUnreachable(ConnectionError):
    """No HTTP answer from the API server: refused, DNS, TLS, timeout or a dropped connection.

    Why one type: every caller (a command's edge, the operator's retry loop) needs only "which server" and
    "why" in one line; it is a ``ConnectionError`` (so an ``OSError``) so existing ``except OSError``
    handlers keep working.
    """

    def __init__(self, server: str, reason: str) -> None:
        self.server = server
        self.reason = reason
        super().__init__(f"cannot reach the API server {server}: {reason}")


def describe_transport_error(error: BaseException) -> str:
    """A short, stable reason for a failed connection (no traceback, no library internals)."""
    if isinstance(error, ssl.SSLCertVerificationError):
        detail = getattr(error, "verify_message", None) or "untrusted certificate"
        return f"TLS certificate verification failed ({detail})"
    if isinstance(error, ssl.SSLError):
        return f"TLS handshake failed ({getattr(error, 'reason', None) or error.__class__.__name__})"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve host name ({error.strerror or error})"
    if isinstance(error, (TimeoutError, socket.timeout)):
        return "timed out waiting for an answer"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError)):
        return "connection closed by the server"
    if isinstance(error, http.client.HTTPException):
        return f"invalid HTTP answer ({error.__class__.__name__})"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror[:1].lower() + error.strerror[1:]
    return error.__class__.__name__


class _HTTPSConnection(http.client.HTTPSConnection):
    """HTTPS that verifies the server as ``server_name`` (kubeconfig ``tls-server-name``) when set."""

    def __init__(self, *args: Any, server_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)  # TCP, and the proxy's CONNECT tunnel when set
        name = self._server_name or getattr(self, "_tunnel_host", None) or self.host
        self.sock = self._context.wrap_socket(self.sock, server_hostname=name)  # type: ignore[attr-defined]


class KubeClient:
    """Thin REST transport bound to one :class:`KubeConfig`.

    A 401 with credentials that can change (a credential plugin, a token file) refreshes them and
    retries the request once, as client-go's exec authenticator does on its next request."""

    def __init__(
        self,
        config: KubeConfig,
        timeout: float = 30.0,
        user_agent: str = "lockstep",
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.user_agent = user_agent
        self.extra_headers = dict(extra_headers or {})
        parsed = urllib.parse.urlsplit(config.server)
        if parsed.scheme not in ("https", "http") or not parsed.hostname:
            raise ValueError(f"{config.source}: server {config.server!r} is not an http(s) URL")
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname
        self._port = parsed.port or (443 if self._https else 80)
        self._prefix = parsed.path.rstrip("/")
        self._local = threading.local()

    def impersonating(self, user: str) -> KubeClient:
        """A client for the same server that acts as ``user`` (``Impersonate-User``), so the API server
        authorizes every call against that identity's RBAC instead of ours (how tenants are confined).

        For ``system:serviceaccount:<ns>:<name>`` the API server adds the ServiceAccount's groups itself.
        """
        return KubeClient(
            self.config, self.timeout, self.user_agent, {**self.extra_headers, "Impersonate-User": user}
        )

    @property
    def impersonated_user(self) -> str | None:
        return self.extra_headers.get("Impersonate-User")

    def _open(self, creds: Credentials, timeout: float) -> http.client.HTTPConnection:
        """A new connection presenting ``creds``' client certificate, through the proxy when set."""
        host, port = self._host, self._port
        proxy = urllib.parse.urlsplit(self.config.proxy_url) if self.config.proxy_url else None
        if proxy is not None:
            host, port = proxy.hostname or "", proxy.port or 80
        conn: http.client.HTTPConnection
        if self._https:
            conn = _HTTPSConnection(
                host,
                port,
                timeout=timeout,
                context=self.config.ssl_context(creds),
                server_name=self.config.tls_server_name,
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        if proxy is not None:
            headers = {}
            if proxy.username is not None:
                pair = f"{urllib.parse.unquote(proxy.username)}:{urllib.parse.unquote(proxy.password or '')}"
                headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
            conn.set_tunnel(self._host, self._port, headers=headers)
        return conn

    def _connection(self, creds: Credentials) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        identity = (creds.cert_pem, creds.key_pem)
        if conn is not None and getattr(self._local, "identity", None) != identity:
            self._drop_connection()  # a plugin rotated the client certificate: new TLS session
            conn = None
        if conn is None:
            conn = self._open(creds, self.timeout)
            self._local.conn = conn
            self._local.identity = identity
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _send(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
    ) -> None:
        """``conn.request`` with headers that may repeat (``Impersonate-Group``)."""
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)

    def _headers(self, creds: Credentials, accept: str, content_type: str | None) -> list[tuple[str, str]]:
        own = self.config.headers(creds)
        if "Impersonate-User" in self.extra_headers:
            # A tenant's identity replaces the kubeconfig's ``as``: the two do not nest.
            own = [(name, value) for name, value in own if not name.startswith("Impersonate-")]
        headers = [("Accept", accept), ("User-Agent", self.user_agent), *own, *self.extra_headers.items()]
        if content_type is not None:
            headers.append(("Content-Type", content_type))
        return headers

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        suffix = ("?" + urllib.parse.urlencode(query, doseq=True)) if query else ""
        return self._prefix + path + suffix

    def raw(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str = JSON,
        accept: str = JSON,
    ) -> tuple[int, bytes]:
        """One request; retries once on a connection the server closed while idle, and once after a 401
        with refreshed credentials."""
        target = self.url(path, params)
        creds = self.config.credentials()
        refreshed = False
        attempt = 1
        while True:
            conn = self._connection(creds)
            try:
                headers = self._headers(creds, accept, None if body is None else content_type)
                self._send(conn, method, target, headers, body)
                response = conn.getresponse()
                data = response.read()
            except (
                http.client.RemoteDisconnected,
                BrokenPipeError,
                ConnectionResetError,
                ssl.SSLEOFError,
            ) as error:
                # SSLEOFError: the idle keep-alive connection was closed under TLS (seen on a loaded machine)
                self._drop_connection()
                if attempt == 2:
                    raise ApiUnreachable(self.config.server, describe_transport_error(error)) from error
                attempt += 1
                continue
            except (OSError, http.client.HTTPException) as error:
                self._drop_connection()
                raise ApiUnreachable(self.config.server, describe_transport_error(error)) from error
            except Exception:
                self._drop_connection()
                raise
            if response.status == 401 and not refreshed and self.config.refreshable:
                creds = self.config.credentials(refresh=True, rejected=creds)
                refreshed = True
                continue
            return response.status, data

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = JSON,
    ) -> dict[str, Any]:
        """A JSON request; raises :class:`ApiError` for any non-2xx answer."""
        payload = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        status, data = self.raw(method, path, params=params, body=payload, content_type=content_type)
        if status >= 300:
            raise ApiError(status, method, path, data, server=self.config.server)
        return json.loads(data) if data else {}

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def get_or_none(self, path: str, **params: Any) -> dict[str, Any] | None:
        """:meth:`get`, with ``None`` for a 404 (any other :class:`ApiError` is raised)."""
        try:
            return self.get(path, **params)
        except ApiError as error:
            if error.not_found:
                return None
            raise

    def create(self, path: str, obj: Mapping[str, Any], **params: Any) -> dict[str, Any]:
        return self.request("POST", path, params=params, body=obj)

    def delete(self, path: str, **params: Any) -> dict[str, Any]:
        return self.request("DELETE", path, params=params)

    def merge_patch(self, path: str, patch: Mapping[str, Any], **params: Any) -> dict[str, Any]:
        return self.request("PATCH", path, params=params, body=patch, content_type=MERGE_PATCH)

    def apply(
        self,
        path: str,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        force: bool = True,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Server-side apply ``obj`` at its object path (``.../namespaces/ns/kind/name``)."""
        params: dict[str, Any] = {"fieldManager": field_manager, "force": "true" if force else None}
        if dry_run:
            params["dryRun"] = "All"
        return self.request("PATCH", path, params=params, body=obj, content_type=APPLY_PATCH)

    def watch(
        self, path: str, *, resource_version: str | None = None, timeout_seconds: int = 60, **params: Any
    ) -> Iterator[dict[str, Any]]:
        """Yield watch events (``{"type": ..., "object": ...}``) until the server ends the stream."""
        query = {
            "watch": "1",
            "resourceVersion": resource_version,
            "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": "true",
            **params,
        }
        creds = self.config.credentials()
        for attempt in (1, 2):
            conn = self._open(creds, timeout_seconds + 10)
            try:
                self._send(conn, "GET", self.url(path, query), self._headers(creds, JSON, None), None)
                response = conn.getresponse()
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                raise ApiUnreachable(self.config.server, describe_transport_error(error)) from error
            except BaseException:
                conn.close()
                raise
            if response.status == 401 and attempt == 1 and self.config.refreshable:
                conn.close()
                creds = self.config.credentials(refresh=True, rejected=creds)
                continue
            break
        try:
            if response.status >= 300:
                raise ApiError(response.status, "WATCH", path, response.read(), server=self.config.server)
            while True:
                line = response.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            conn.close()
