"""``--controller-url``, ``--cert URL``, ``--validate`` and ``--re-encrypt`` against a local HTTP controller.

The controller here is a small server on 127.0.0.1 whose answers come from the real kubeseal binary
(``--recovery-unseal`` to verify, unseal-then-``--cert`` to rotate), so the requests Lockstep sends are
checked by what a controller would do with them, not by a canned reply.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.sealed.conftest import SealingKey, kubeseal_unseal, ok, run_kubeseal, run_lockstep

SECRET = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "apps"},
        "data": {"password": base64.b64encode(b"hunter2").decode()},
    }
).encode()


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeController:
    url: str
    requests: list[Recorded] = field(default_factory=list)


@pytest.fixture
def controller(kubeseal_bin: str, sealing_key: SealingKey, other_key: SealingKey) -> Iterator[FakeController]:
    """Serves ``sealing_key``'s certificate; verifies with it; rotates from it to ``other_key``."""
    state = FakeController("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _record(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
            return body

        def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._record()
            if self.path == "/v1/cert.pem":
                self._reply(200, sealing_key.cert_pem, "application/x-pem-file")
            else:
                self._reply(404, b"404 page not found\n")

        def do_POST(self) -> None:
            body = self._record()
            unsealed = run_kubeseal(
                kubeseal_bin,
                "--recovery-unseal",
                "--recovery-private-key",
                str(sealing_key.key_path),
                stdin=body,
            )
            if self.path == "/v1/verify":
                self._reply(200 if unsealed.returncode == 0 else 409, b"")
            elif self.path == "/v1/rotate":
                if unsealed.returncode != 0:
                    self._reply(500, b"Error rotating secret\n")
                    return
                secret = json.loads(unsealed.stdout)
                secret["metadata"].pop("ownerReferences", None)
                resealed = ok(
                    run_kubeseal(
                        kubeseal_bin, "--cert", str(other_key.cert_path), stdin=json.dumps(secret).encode()
                    )
                )
                self._reply(200, json.dumps(json.loads(resealed), separators=(",", ":")).encode())
            else:
                self._reply(404, b"404 page not found\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_cert_from_controller_url(controller: FakeController, sealing_key: SealingKey) -> None:
    out = ok(run_lockstep("--controller-url", controller.url, "--fetch-cert"))
    assert out == sealing_key.cert_pem
    request = controller.requests[-1]
    assert (request.method, request.path) == ("GET", "/v1/cert.pem")
    assert request.headers["Accept"] == "application/x-pem-file, */*"


def test_seal_with_controller_url_and_cert_url(
    kubeseal_bin: str, controller: FakeController, sealing_key: SealingKey
) -> None:
    for args in (["--controller-url", controller.url], ["--cert", controller.url + "/v1/cert.pem"]):
        sealed = ok(run_lockstep(*args, stdin=SECRET))
        opened = kubeseal_unseal(kubeseal_bin, sealing_key, sealed)
        assert json.loads(opened)["data"]["password"] == base64.b64encode(b"hunter2").decode()


def test_cert_url_not_found(controller: FakeController) -> None:
    url = controller.url + "/missing.pem"
    result = run_lockstep("--cert", url, stdin=SECRET)
    assert result.returncode == 1
    assert result.stderr.decode() == f'error: cannot fetch "{url}": 404\n'


def test_validate_sends_sealed_secret_to_verify(controller: FakeController, sealing_key: SealingKey) -> None:
    sealed = ok(run_lockstep("--cert", str(sealing_key.cert_path), "-o", "yaml", stdin=SECRET))
    good = run_lockstep("--controller-url", controller.url, "--validate", stdin=sealed)
    assert good.returncode == 0, good.stderr
    request = controller.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/verify")
    assert json.loads(request.body) == yaml.safe_load(sealed)
    moved = yaml.safe_load(sealed)
    moved["metadata"]["namespace"] = "elsewhere"
    bad = run_lockstep("--controller-url", controller.url, "--validate", stdin=json.dumps(moved).encode())
    assert bad.returncode == 1
    assert bad.stderr.decode() == "error: unable to decrypt sealed secret: db\n"


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_re_encrypt_through_rotate(
    kubeseal_bin: str,
    controller: FakeController,
    sealing_key: SealingKey,
    other_key: SealingKey,
    tmp_path: Path,
    suffix: str,
) -> None:
    path = tmp_path / f"db{suffix}"
    fmt = "yaml" if suffix == ".yaml" else "json"
    path.write_bytes(ok(run_lockstep("--cert", str(sealing_key.cert_path), "-o", fmt, stdin=SECRET)))
    ok(run_lockstep("--controller-url", controller.url, "--re-encrypt", "-f", str(path)))
    assert [(r.method, r.path) for r in controller.requests] == [("POST", "/v1/rotate")]
    rotated = path.read_bytes()
    if fmt == "json":
        assert rotated.startswith(b'{\n  "kind": "SealedSecret",\n  "apiVersion": "bitnami.com/v1alpha1",')
    else:
        assert rotated.startswith(b"---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n")
    args = ("--recovery-unseal", "--recovery-private-key")
    assert run_kubeseal(kubeseal_bin, *args, str(sealing_key.key_path), stdin=rotated).returncode != 0
    opened = ok(run_kubeseal(kubeseal_bin, *args, str(other_key.key_path), stdin=rotated))
    assert json.loads(opened)["data"]["password"] == base64.b64encode(b"hunter2").decode()


def test_controller_unreachable() -> None:
    result = run_lockstep("--controller-url", "http://127.0.0.1:9", "--fetch-cert")
    assert result.returncode == 1
    assert result.stderr.decode().startswith("error: cannot reach http://127.0.0.1:9/v1/cert.pem: ")
