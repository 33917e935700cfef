"""Every way of failing to talk to the API server ends `lockstep diff` / `lockstep sync` with one error line
naming the server and the reason, and a non-zero exit; never a traceback, never a write.

The failures are real: a closed port, the real kube-apiserver behind the wrong CA, a token it answers 401,
a ServiceAccount without rights (403), a socket that accepts and never answers, an HTTP 503 answer.
"""

from __future__ import annotations

import base64
import http.server
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from core_sync.kube.client import describe_transport_error
from core_sync.testing import ControlPlane, GitServer
from core_sync.testing.certs import CertificateAuthority
from core_sync.testing.processes import free_port
from tests.core_sync.conftest import configmap, live
from tests.core_sync.test_engine_cli import lockstep


def _kubeconfig(path: Path, server: str, *, ca: bytes | None = None, token: str | None = None) -> Path:
    cluster: dict[str, Any] = {"server": server}
    if ca is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": {"token": token} if token else {}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _serving_ca(control_plane: ControlPlane) -> bytes:
    return (control_plane.dir / "certs" / "serving-ca.crt").read_bytes()


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port whose kernel backlog completes TCP handshakes that nobody ever answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@pytest.fixture
def failing_http_server() -> Iterator[int]:
    """A plain HTTP server answering 503 with a Status body to every request."""

    class Unavailable(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"kind":"Status","reason":"ServiceUnavailable","message":"etcd is down"}'
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_PATCH = do_POST = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _service_account_token(control_plane: ControlPlane, namespace: str) -> str:
    """A real token of a ServiceAccount that has no RBAC rights at all."""
    client = control_plane.client
    client.create(f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": "nobody"}})
    review = client.create(
        f"/api/v1/namespaces/{namespace}/serviceaccounts/nobody/token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 600},
        },
    )
    return str(review["status"]["token"])


def _assert_one_clean_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


CASES = ["closed port", "wrong CA", "401", "403", "timeout", "503"]


@pytest.fixture
def broken_kubeconfig(
    request: pytest.FixtureRequest,
    control_plane: ControlPlane,
    namespace: str,
    tmp_path: Path,
    black_hole: int,
    failing_http_server: int,
) -> tuple[Path, list[str]]:
    """A kubeconfig for one failure case, and the words its error line must carry."""
    case = request.param
    path = tmp_path / "kubeconfig"
    ca = _serving_ca(control_plane)
    if case == "closed port":
        server = f"https://127.0.0.1:{free_port()}"
        return _kubeconfig(path, server, ca=ca), [server, "connection refused"]
    if case == "wrong CA":
        other = CertificateAuthority("not-the-cluster-ca").cert_pem
        return _kubeconfig(path, control_plane.server, ca=other), [control_plane.server, "TLS certificate"]
    if case == "401":
        kubeconfig = _kubeconfig(path, control_plane.server, ca=ca, token="not-a-valid-token")
        return kubeconfig, [control_plane.server, "401", "Unauthorized"]
    if case == "403":
        token = _service_account_token(control_plane, namespace)
        needles = [control_plane.server, "forbidden", "system:serviceaccount", "nobody"]
        return _kubeconfig(path, control_plane.server, ca=ca, token=token), needles
    if case == "timeout":
        server = f"https://127.0.0.1:{black_hole}"
        return _kubeconfig(path, server, ca=ca), [server, "timed out"]
    server = f"http://127.0.0.1:{failing_http_server}"
    return _kubeconfig(path, server), [server, "503", "etcd is down"]


@pytest.mark.parametrize("broken_kubeconfig", CASES, indirect=True)
def test_diff_reports_cluster_failures_in_one_line(
    broken_kubeconfig: tuple[Path, list[str]], namespace: str, tmp_path: Path
) -> None:
    kubeconfig, needles = broken_kubeconfig
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "cm.yaml").write_text(configmap("a", "1"))
    result = lockstep(
        "diff", str(tmp_path / "deploy"), "-n", namespace, "--kubeconfig", str(kubeconfig),
        "--request-timeout", "2s",
    )  # fmt: skip
    _assert_one_clean_line(result, *needles)
    assert result.returncode == 2


@pytest.mark.parametrize("broken_kubeconfig", CASES, indirect=True)
def test_sync_reports_cluster_failures_in_one_line_and_writes_nothing(
    broken_kubeconfig: tuple[Path, list[str]],
    control_plane: ControlPlane,
    namespace: str,
    git_server: GitServer,
    tmp_path: Path,
) -> None:
    kubeconfig, needles = broken_kubeconfig
    url = git_server.create_repo("errors", {"deploy/cm.yaml": configmap("a", "1")})
    env = {**control_plane.env(), "LOCKSTEP_CACHE": str(tmp_path / "cache")}
    result = lockstep(
        "sync", "--repo", url, "--path", "deploy", "-n", namespace, "--once",
        "--kubeconfig", str(kubeconfig), "--request-timeout", "2s",
        env=env,
    )  # fmt: skip
    _assert_one_clean_line(result, *needles)
    assert live(control_plane.client, f"/api/v1/namespaces/{namespace}/configmaps/a") is None


def test_sync_refuses_an_invalid_name_before_applying_anything(
    control_plane: ControlPlane, namespace: str, git_server: GitServer, tmp_path: Path
) -> None:
    url = git_server.create_repo("badname", {"deploy/cm.yaml": configmap("a", "1")})
    env = {**control_plane.env(), "LOCKSTEP_CACHE": str(tmp_path / "cache")}
    sync = ["sync", "--repo", url, "--path", "deploy", "-n", namespace]
    for bad in ("Not_A_Label", "x" * 64, "-dash", "a/b"):
        result = lockstep(*sync, f"--name={bad}", env=env)
        _assert_one_clean_line(result, "--name", "not a valid name")
        assert live(control_plane.client, f"/api/v1/namespaces/{namespace}/configmaps/a") is None
    bad_namespace = lockstep("sync", "--repo", url, "--path", "deploy", "-n", "Bad_NS", env=env)
    _assert_one_clean_line(bad_namespace, "namespace", "Bad_NS")
    good = lockstep("sync", "--repo", url, "--path", "deploy", "-n", namespace, "--name", "ok-1", env=env)
    assert good.returncode == 0, good.stderr
    assert live(control_plane.client, f"/api/v1/namespaces/{namespace}/configmaps/lockstep-sync-ok-1")


def test_request_timeout_must_be_a_positive_duration(tmp_path: Path) -> None:
    for bad in ("0s", "soon"):
        result = lockstep("diff", str(tmp_path), "--request-timeout", bad)
        _assert_one_clean_line(result, "timeout")


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (socket.gaierror(-2, "Name or service not known"), "cannot resolve host name"),
        (TimeoutError("timed out"), "timed out"),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "TLS certificate verification"),
        (ConnectionResetError(104, "reset"), "connection closed by the server"),
    ],
)
def test_transport_errors_have_a_short_reason(error: BaseException, reason: str) -> None:
    """DNS is checked here on a constructed error: tests send no traffic beyond loopback."""
    assert describe_transport_error(error).startswith(reason)


@pytest.mark.parametrize("broken_kubeconfig", ["closed port", "401", "timeout"], indirect=True)
def test_render_that_needs_the_cluster_reports_its_failure_in_one_line(
    broken_kubeconfig: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """render reads the --sops-secret from the cluster: its failure names the server and the reason."""
    kubeconfig, needles = broken_kubeconfig
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "s.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  a: ENC[AES256_GCM,data:AA==,iv:AA==,"
        "tag:AA==,type:str]\nsops:\n  age: []\n  lastmodified: '2024-01-01T00:00:00Z'\n"
        "  mac: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n  version: 3.9.0\n"
    )
    result = lockstep(
        "render", str(deploy), "--sops-secret", "age-keys", "--kubeconfig", str(kubeconfig),
        "--request-timeout", "2s",
    )  # fmt: skip
    _assert_one_clean_line(result, "age-keys", *needles)
    assert result.stdout == ""
