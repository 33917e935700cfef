"""A stand-in for the API server's *service proxy*, so the real kubeseal reaches the operator's HTTP API.

The test control plane cannot proxy to the operator (it refuses loopback endpoints), and kubeseal's
``--validate``/``--re-encrypt``/``--fetch-cert`` only talk to the controller through
``/api/v1/namespaces/<ns>/services/http:<name>:<port>/proxy/...``. This loopback server answers the two
requests kubeseal makes on that route, exactly shaped like the API server's: ``GET`` of the Service (whose
port is named ``http``, as Lockstep's deploy/operator.yaml names it) and the proxied request, forwarded
unchanged to the operator. Point ``KUBECONFIG`` at :attr:`kubeconfig`.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from core_sync.testing.processes import free_port

_SERVICE = re.compile(r"^/api/v1/namespaces/([^/]+)/services/([^/:]+)$")
_PROXY = re.compile(r"^/api/v1/namespaces/([^/]+)/services/http:([^/:]+):([^/]*)/proxy(/.*)$")


class ServiceProxy:
    """Serves Service ``namespace/name`` and proxies it to ``target`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, target: str, namespace: str, name: str, directory: Path) -> None:
        self.target, self.namespace, self.name = target.rstrip("/"), namespace, name
        self.port = free_port()
        self.kubeconfig = directory / "proxy-kubeconfig.yaml"
        self.requests: list[str] = []
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "p", "cluster": {"server": f"http://127.0.0.1:{self.port}"}}],
                    "users": [{"name": "p", "user": {}}],
                    "contexts": [
                        {"name": "p", "context": {"cluster": "p", "user": "p", "namespace": namespace}}
                    ],
                    "current-context": "p",
                }
            )
        )
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                path = self.path.split("?", 1)[0]
                proxy.requests.append(f"{self.command} {path}")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                service = _SERVICE.match(path)
                if service and service.groups() == (proxy.namespace, proxy.name) and self.command == "GET":
                    self._send(200, json.dumps(proxy.service()).encode(), "application/json")
                    return
                proxied = _PROXY.match(path)
                if proxied and proxied.group(1, 2, 3) == (proxy.namespace, proxy.name, "http"):
                    self._forward(proxied.group(4), body)
                    return
                status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                          "reason": "NotFound", "message": f"{path} not found"}  # fmt: skip
                self._send(404, json.dumps(status).encode(), "application/json")

            def _forward(self, suffix: str, body: bytes | None) -> None:
                request = urllib.request.Request(proxy.target + suffix, data=body, method=self.command)  # noqa: S310
                if self.headers.get("Content-Type"):
                    request.add_header("Content-Type", self.headers["Content-Type"])
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                        self._send(response.status, response.read(), response.headers.get("Content-Type"))
                except urllib.error.HTTPError as error:
                    self._send(error.code, error.read(), error.headers.get("Content-Type"))

            def _send(self, status: int, data: bytes, content_type: str | None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type or "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    def service(self) -> dict[str, object]:
        return {
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {"ports": [{"name": "http", "protocol": "TCP", "port": 8080, "targetPort": "http"}]},
        }

    def __enter__(self) -> ServiceProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
