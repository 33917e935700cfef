"""Smart-HTTP git server for tests: ``git http-backend`` behind a small HTTP server with optional auth.

Run as ``python -m core_sync.testing.git_http ROOT PORT [--basic USER:PASS] [--bearer TOKEN]`` (the
credentials come from the environment variables ``GIT_HTTP_BASIC`` / ``GIT_HTTP_BEARER`` so they never
show in a process listing). Pushing works (``http.receivepack`` is on).
"""

from __future__ import annotations

import base64
import hmac
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def _authorized(header: str | None) -> bool:
    basic, bearer = os.environ.get("GIT_HTTP_BASIC"), os.environ.get("GIT_HTTP_BEARER")
    if not basic and not bearer:
        return True
    if not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme == "Basic" and basic:
        return hmac.compare_digest(base64.b64decode(value.encode()).decode(errors="replace"), basic)
    return bool(scheme == "Bearer" and bearer and hmac.compare_digest(value, bearer))


class GitHandler(BaseHTTPRequestHandler):
    root = "."

    def log_message(self, format: str, *args: object) -> None:
        return

    def _serve(self) -> None:
        if not _authorized(self.headers.get("Authorization")):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            **os.environ,
            "GIT_PROJECT_ROOT": self.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "tests",
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.receivepack",
            "GIT_CONFIG_VALUE_0": "true",
        }
        result = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode(errors="replace").split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve


def main(argv: list[str]) -> int:
    root, port = argv[0], int(argv[1])
    GitHandler.root = root
    ThreadingHTTPServer(("127.0.0.1", port), GitHandler).serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
