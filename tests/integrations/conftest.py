"""Fixtures for the integration tests: age keys and the real sops binary (from the SOPS tests), a sealing key
pair (from the sealed tests), a loopback server for ``/v1/cert.pem``, and repositories laid out as users
keep them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from core_sync.testing.binaries import sops
from tests.sealed.conftest import SealingKey, make_sealing_key
from tests.sops.conftest import AgeKey, Sops, make_key

PASSWORD = "hunter2-plaintext-Zq9"  # the plaintext that must never leave memory unsealed
TOKEN = "tok-3f8a1c-plaintext"


@pytest.fixture(scope="session")
def age_key(tmp_path_factory: pytest.TempPathFactory) -> AgeKey:
    return make_key(tmp_path_factory.mktemp("age"), "app")


@pytest.fixture(scope="session")
def sops_bin(tmp_path_factory: pytest.TempPathFactory) -> Sops:
    return Sops(sops(), tmp_path_factory.mktemp("sopshome"))


@pytest.fixture(scope="session")
def sealing_key(tmp_path_factory: pytest.TempPathFactory) -> SealingKey:
    return make_sealing_key(tmp_path_factory.mktemp("sealing"), "active")


@dataclass
class CertServer:
    url: str
    hits: list[str]


@pytest.fixture
def cert_server(sealing_key: SealingKey) -> Iterator[CertServer]:
    """The controller's certificate endpoint (``GET /v1/cert.pem``) on loopback."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            hits.append(self.path)
            ok = self.path == "/v1/cert.pem"
            body = sealing_key.cert_pem if ok else b"404 page not found\n"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield CertServer(f"http://127.0.0.1:{server.server_address[1]}", hits)
    finally:
        server.shutdown()
        server.server_close()


def write_yaml(path: Path, *docs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("---\n" + yaml.safe_dump(d, sort_keys=False) for d in docs))
    return path


def secret(name: str, **items: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": items}


def encrypt_in_place(sops_bin: Sops, key: AgeKey, path: Path, *extra: str) -> None:
    """``sops encrypt -i`` with the real binary, for ``key``'s recipient."""
    sops_bin.ok("encrypt", "--age", key.recipient, *extra, "-i", str(path))


def sealed_secret_yaml(key: SealingKey, name: str, namespace: str, **items: str) -> str:
    """A SealedSecret as ``lockstep seal --cert`` writes it (YAML), for ``key``'s certificate."""
    plain = {**secret(name, **items), "metadata": {"name": name, "namespace": namespace}}
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "lockstep"),
            "seal",
            "--cert",
            str(key.cert_path),
            "--format",
            "yaml",
        ],
        input=yaml.safe_dump(plain),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "KUBECONFIG": "/nonexistent"},
    ).stdout
