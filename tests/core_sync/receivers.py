"""A webhook receiver on loopback for the notification tests: records what it gets, checks the HMAC."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from core_sync.testing.processes import free_port


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST, checks ``X-Signature`` of ``/hmac`` against
    ``token``, takes 8 s to answer ``/slow``, and can be stopped and started again on the same port (a
    receiver that is down for a while)."""

    def __init__(self, token: bytes) -> None:
        self.token = token
        self.statuses: list[int] = []  # the answers to give, in order (then 200)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/slow":
                    time.sleep(8)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.received.append((self.path, headers, body))
                    if self.path == "/hmac":
                        expected = "sha256=" + hmac.new(receiver.token, body, hashlib.sha256).hexdigest()
                        receiver.bad_signatures += headers.get("x-signature") != expected
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self, path: str = "/hmac") -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for where, _, body in self.received if where == path]

    def reasons(self, path: str = "/hmac") -> list[str]:
        return [e["reason"] for e in self.events(path)]
