"""Cluster access the way kubectl does it, against the real API server: credential plugins returning a
ServiceAccount token or a client certificate, expiry and 401 re-runs, merged KUBECONFIG files, an
auth-provider, impersonation, tls-server-name and an HTTP CONNECT proxy."""

from __future__ import annotations

import base64
import os
import pty
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from core_sync.cli import main as lockstep
from core_sync.kube import ApiUnreachable, KubeClient, KubeConfig, KubeConfigError
from core_sync.testing import ControlPlane, credentials
from core_sync.testing.connect_proxy import ConnectProxy
from core_sync.testing.credentials import CredentialPlugin, grant, service_account_token, whoami

V1BETA1 = "client.authentication.k8s.io/v1beta1"
LOCKSTEP = Path(sys.executable).parent / "lockstep"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig_for(
    control_plane: ControlPlane, user: dict[str, Any], namespace: str, **cluster: Any
) -> dict[str, Any]:
    return credentials.kubeconfig_for(control_plane.server, control_plane.ca_pem, user, namespace, **cluster)


def client_for(doc: dict[str, Any], tmp_path: Path) -> KubeClient:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return KubeClient(KubeConfig.load(path))


@pytest.fixture
def token(control_plane: ControlPlane, namespace: str) -> str:
    return service_account_token(control_plane.client, namespace, "plugin")


def test_exec_plugin_token_from_token_request(
    control_plane: ControlPlane, namespace: str, token: str, tmp_path: Path
) -> None:
    plugin = CredentialPlugin(tmp_path / "plugin", [{"token": token}])
    section = plugin.exec_section(
        args=["--region", "here"],
        env=[{"name": "LOCKSTEP_PLUGIN_ENV", "value": "from-kubeconfig"}],
        provideClusterInfo=True,
    )
    kube = client_for(kubeconfig_for(control_plane, {"exec": section}, namespace), tmp_path)

    assert whoami(kube) == f"system:serviceaccount:{namespace}:plugin"
    kube.create(f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": "by-plugin"}})
    assert kube.get(f"/api/v1/namespaces/{namespace}/configmaps/by-plugin")["metadata"]["name"] == "by-plugin"
    [call] = plugin.calls  # cached: no expiry, no 401, one run for three requests
    assert call["args"] == ["--region", "here"] and call["env"] == "from-kubeconfig"
    info = call["info"]
    assert info["apiVersion"] == "client.authentication.k8s.io/v1" and info["kind"] == "ExecCredential"
    assert info["spec"]["interactive"] is False  # interactiveMode Never
    assert info["spec"]["cluster"]["server"] == control_plane.server
    assert base64.b64decode(info["spec"]["cluster"]["certificate-authority-data"]) == control_plane.ca_pem


def test_exec_plugin_client_certificate(control_plane: ControlPlane, namespace: str, tmp_path: Path) -> None:
    pair = control_plane.client_ca.issue("cert-plugin-user")
    grant(control_plane.client, namespace, {"kind": "User", "name": "cert-plugin-user"}, "cert-user")
    answer = {"clientCertificateData": pair.cert_pem.decode(), "clientKeyData": pair.key_pem.decode()}
    plugin = CredentialPlugin(tmp_path / "plugin", [answer], api_version=V1BETA1)
    section = plugin.exec_section(V1BETA1)
    del section["interactiveMode"]  # optional in v1beta1 (IfAvailable)
    kube = client_for(kubeconfig_for(control_plane, {"exec": section}, namespace), tmp_path)

    assert whoami(kube) == "cert-plugin-user"
    kube.get(f"/api/v1/namespaces/{namespace}/configmaps")
    assert len(plugin.calls) == 1


def test_expired_credentials_rerun_the_plugin(
    control_plane: ControlPlane, namespace: str, token: str, tmp_path: Path
) -> None:
    plugin = CredentialPlugin(tmp_path / "plugin", [{"token": token, "ttl": 2}])
    kube = client_for(kubeconfig_for(control_plane, {"exec": plugin.exec_section()}, namespace), tmp_path)
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    kube.get(path)
    kube.get(path)
    assert len(plugin.calls) == 1  # still valid
    time.sleep(2.2)
    kube.get(path)
    assert len(plugin.calls) == 2  # expired: asked again before the request
    kube.get(path)
    assert len(plugin.calls) == 2


def test_401_reruns_the_plugin_and_retries_once(
    control_plane: ControlPlane, namespace: str, token: str, tmp_path: Path
) -> None:
    """The first token is rejected (as a revoked one would be): re-run, retry, succeed; the caller never
    sees the 401. A plugin that keeps handing out bad tokens gets one retry, then the 401 is reported."""
    plugin = CredentialPlugin(tmp_path / "plugin", [{"token": "not-a-token"}, {"token": token}])
    kube = client_for(kubeconfig_for(control_plane, {"exec": plugin.exec_section()}, namespace), tmp_path)
    assert whoami(kube) == f"system:serviceaccount:{namespace}:plugin"
    assert len(plugin.calls) == 2

    stuck = CredentialPlugin(tmp_path / "stuck", [{"token": "bad"}])
    kube = client_for(kubeconfig_for(control_plane, {"exec": stuck.exec_section()}, namespace), tmp_path)
    status, _ = kube.raw("GET", f"/api/v1/namespaces/{namespace}/configmaps")
    assert status == 401 and len(stuck.calls) == 2

    watched = CredentialPlugin(tmp_path / "watch", [{"token": "not-a-token"}, {"token": token}])
    kube = client_for(kubeconfig_for(control_plane, {"exec": watched.exec_section()}, namespace), tmp_path)
    events = kube.watch(f"/api/v1/namespaces/{namespace}/configmaps", timeout_seconds=1)
    assert [e for e in events if e["type"] == "ERROR"] == [] and len(watched.calls) == 2


def test_missing_plugin_is_a_clear_error_with_the_install_hint(
    control_plane: ControlPlane, namespace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hint = "aws-iam-authenticator is needed: see https://example.invalid/install"
    section = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "lockstep-no-such-plugin",
        "interactiveMode": "IfAvailable",
        "installHint": hint,
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig_for(control_plane, {"exec": section}, namespace)))
    (tmp_path / "repo").mkdir()
    for argv in (["diff", str(tmp_path / "repo")], ["seal", "--fetch-cert"]):
        code = lockstep([*argv, "--kubeconfig", str(path)])
        err = capsys.readouterr().err
        assert code in (1, 2) and "Traceback" not in err
        assert f"{path}: users[u].user.exec.command: executable 'lockstep-no-such-plugin' not found" in err
        assert hint in err


def test_interactive_mode_on_a_terminal(control_plane: ControlPlane, namespace: str, tmp_path: Path) -> None:
    """On a terminal, IfAvailable and Always plugins are told ``interactive: true`` and get the terminal
    as stdin; Never plugins are not, even there (the CLI as kubectl; the operator never, see
    test_operator_flags)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    seen = {}
    for mode in ("Never", "IfAvailable", "Always"):
        plugin = CredentialPlugin(tmp_path / mode, [{"token": "any"}])
        doc = kubeconfig_for(control_plane, {"exec": plugin.exec_section(interactiveMode=mode)}, namespace)
        path = tmp_path / f"{mode}.yaml"
        path.write_text(yaml.safe_dump(doc))
        terminal, terminal_side = pty.openpty()
        try:
            subprocess.run(
                [str(LOCKSTEP), "diff", "--kubeconfig", str(path), str(repo)],
                stdin=terminal_side,
                capture_output=True,
                timeout=60,
                check=False,
            )
        finally:
            os.close(terminal)
            os.close(terminal_side)
        seen[mode] = [call["info"]["spec"]["interactive"] for call in plugin.calls][:1]
    assert seen == {"Never": [False], "IfAvailable": [True], "Always": [True]}


def test_interactive_mode_always_without_a_terminal_is_refused(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    plugin = CredentialPlugin(tmp_path / "plugin", [{"token": "x"}])
    doc = kubeconfig_for(control_plane, {"exec": plugin.exec_section(interactiveMode="Always")}, namespace)
    with pytest.raises(KubeConfigError, match="interactiveMode is Always but there is no terminal"):
        client_for(doc, tmp_path).get("/version")
    assert plugin.calls == []


def test_kubeconfig_files_merged_from_KUBECONFIG_with_diff(
    control_plane: ControlPlane,
    namespace: str,
    token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Clusters in one file (CA as a path relative to it), the exec user and current context in another,
    a decoy in a third that loses every clash: `lockstep diff` talks to the cluster as the plugin's user."""
    plugin = CredentialPlugin(tmp_path / "plugin", [{"token": token}])
    (tmp_path / "clusters" / "pki").mkdir(parents=True)
    (tmp_path / "clusters" / "pki" / "ca.crt").write_bytes(control_plane.ca_pem)
    cluster = {"server": control_plane.server, "certificate-authority": "pki/ca.crt"}
    clusters = {"clusters": [{"name": "cp", "cluster": cluster}]}
    users = {
        "current-context": "plugin",
        "users": [{"name": "u", "user": {"exec": plugin.exec_section()}}],
        "contexts": [{"name": "plugin", "context": {"cluster": "cp", "user": "u", "namespace": namespace}}],
    }
    decoy = kubeconfig_for(control_plane, {"token": "decoy"}, "default")
    decoy["current-context"] = "c"
    decoy["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    decoy["contexts"].append({"name": "plugin", "context": {"cluster": "cp", "user": "u"}})
    files = [tmp_path / "clusters" / "config", tmp_path / "users.yaml", tmp_path / "decoy.yaml"]
    for file, doc in zip(files, (clusters, users, decoy), strict=True):
        file.write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(map(str, files)))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: merged\n")

    code = lockstep(["diff", str(repo)])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    assert "merged" in out and namespace in out
    assert len(plugin.calls) == 1


def test_oidc_auth_provider_through_the_official_loader(
    control_plane: ControlPlane, namespace: str, token: str, tmp_path: Path
) -> None:
    """An OIDC id-token (here a ServiceAccount JWT, which the API server accepts as a bearer token)."""
    provider = {
        "name": "oidc",
        "config": {"client-id": "lockstep", "idp-issuer-url": "https://127.0.0.1:1", "id-token": token},
    }
    kube = client_for(kubeconfig_for(control_plane, {"auth-provider": provider}, namespace), tmp_path)
    assert whoami(kube) == f"system:serviceaccount:{namespace}:plugin"


def test_impersonation_from_the_kubeconfig(control_plane: ControlPlane, tmp_path: Path) -> None:
    admin = yaml.safe_load(control_plane.kubeconfig.read_text())
    user = dict(admin["users"][0]["user"])
    user.update(
        {
            "as": "jane",
            "as-uid": "uid-1234",
            "as-groups": ["devs", "system:authenticated"],
            "as-user-extra": {"team": ["a"]},
        }
    )
    admin["users"][0]["user"] = user
    kube = client_for(admin, tmp_path)
    review = kube.create(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )
    info = review["status"]["userInfo"]
    assert info["username"] == "jane" and info["uid"] == "uid-1234"
    assert set(info["groups"]) >= {"devs", "system:authenticated"}
    assert info["extra"] == {"team": ["a"]}


def test_tls_server_name_is_the_name_verified(control_plane: ControlPlane, tmp_path: Path) -> None:
    admin = yaml.safe_load(control_plane.kubeconfig.read_text())
    admin["clusters"][0]["cluster"]["tls-server-name"] = "localhost"  # on the serving cert; 127.0.0.1 too
    assert client_for(admin, tmp_path).get("/version")["major"]
    admin["clusters"][0]["cluster"]["tls-server-name"] = "not-the-apiserver.invalid"
    with pytest.raises(ApiUnreachable, match=r"TLS certificate verification failed .*not-the-apiserver"):
        client_for(admin, tmp_path).get("/version")


def test_without_the_ca_only_insecure_skip_tls_verify_connects(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    admin = yaml.safe_load(control_plane.kubeconfig.read_text())
    cluster = admin["clusters"][0]["cluster"]
    del cluster["certificate-authority-data"]
    with pytest.raises(ApiUnreachable, match="TLS certificate verification failed"):  # unknown test CA
        client_for(admin, tmp_path).get("/version")
    cluster["insecure-skip-tls-verify"] = True
    assert client_for(admin, tmp_path).get("/version")["major"]


@pytest.fixture
def connect_proxy() -> Iterator[ConnectProxy]:
    proxy = ConnectProxy()
    yield proxy
    proxy.close()


def test_proxy_url_tunnels_through_http_connect(
    control_plane: ControlPlane, connect_proxy: ConnectProxy, tmp_path: Path
) -> None:
    admin = yaml.safe_load(control_plane.kubeconfig.read_text())
    admin["clusters"][0]["cluster"]["proxy-url"] = connect_proxy.url
    kube = client_for(admin, tmp_path)
    assert kube.get("/version")["major"]
    assert list(kube.watch("/api/v1/namespaces", timeout_seconds=1, limit=1)) is not None
    port = control_plane.server.rsplit(":", 1)[1]
    assert len(connect_proxy.requests) == 2
    for request in connect_proxy.requests:
        assert request.startswith(f"CONNECT 127.0.0.1:{port} HTTP/1.")
        assert "Proxy-Authorization: Basic " + base64.b64encode(b"user:pa ss").decode() in request


def test_the_test_proxy_refuses_what_is_not_a_connect(connect_proxy: ConnectProxy) -> None:
    """The harness proxy answers 400 to a plain request instead of dying in its thread."""
    import socket

    port = int(connect_proxy.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"POST /hook HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.recv(100).startswith(b"HTTP/1.1 400 ")
