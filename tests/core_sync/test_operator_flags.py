"""Every `lockstep operator` flag has an effect a test can see, through the real operator process.

The settings object carries the command line to every reader: ``--kubeconfig`` and ``--context`` must
reach kopf's login *and* the Application controller (the context was once lost on the way)."""

from __future__ import annotations

import base64
import json
import os
import pty
import time
from pathlib import Path
from typing import Any

import yaml

from core_sync.testing import ControlPlane
from core_sync.testing.connect_proxy import ConnectProxy
from core_sync.testing.credentials import CredentialPlugin, kubeconfig_for
from core_sync.testing.services import GitServer
from tests.core_sync.conftest import Apps, Operator, configmap, live, wait_for


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def two_context_kubeconfig(control_plane: ControlPlane, path: Path) -> Path:
    """The admin kubeconfig whose current context points at nothing; only context ``good`` works."""
    doc = yaml.safe_load(control_plane.kubeconfig.read_text())
    doc["clusters"].append({"name": "nowhere", "cluster": {"server": "https://127.0.0.1:1"}})
    doc["contexts"] = [
        {"name": "broken", "context": {"cluster": "nowhere", "user": "admin"}},
        {"name": "good", "context": {"cluster": "lockstep-test", "user": "admin"}},
    ]
    doc["current-context"] = "broken"
    path.write_text(yaml.safe_dump(doc))
    return path


def exec_kubeconfig_secret(control_plane: ControlPlane, namespace: str, plugin: CredentialPlugin) -> None:
    """A remote-cluster kubeconfig Secret whose user is a credential plugin handing out a client cert."""
    doc = kubeconfig_for(control_plane.server, control_plane.ca_pem, {"exec": plugin.exec_section()})
    control_plane.client.create(
        f"/api/v1/namespaces/{namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "remote-exec"},
            "data": {"value": b64(yaml.safe_dump(doc).encode())},
        },
    )


def cert_plugin(control_plane: ControlPlane, directory: Path, **extra: Any) -> CredentialPlugin:
    pair = control_plane.client_ca.issue("remote-deployer", organizations=("system:masters",))
    answer = {"clientCertificateData": pair.cert_pem.decode(), "clientKeyData": pair.key_pem.decode()}
    return CredentialPlugin(directory, [{**answer, **extra}])


def peering(control_plane: ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    return control_plane.client.get(f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings/{name}")


def test_operator_flags_reach_login_and_every_controller(
    control_plane: ControlPlane, git_server: GitServer, tmp_path: Path
) -> None:
    """--kubeconfig/--context (with a decoy $KUBECONFIG and a broken current-context), -n, --peering,
    --priority, --insecure-kubeconfig-exec, --log-format plain, -v, --controllers and --http."""
    client = control_plane.client
    watched, unwatched = control_plane.create_namespace("flags-"), control_plane.create_namespace("flags-")
    client.create(
        f"/apis/kopf.dev/v1/namespaces/{watched}/kopfpeerings",
        {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "lockstep-flags"}},
    )
    plugin = cert_plugin(control_plane, tmp_path / "plugin", ttl=3)
    exec_kubeconfig_secret(control_plane, watched, plugin)
    kubeconfig = two_context_kubeconfig(control_plane, tmp_path / "two-contexts")
    operator = Operator(
        control_plane,
        tmp_path,
        env={"KUBECONFIG": str(tmp_path / "decoy-does-not-exist")},
        args=(
            "--kubeconfig",
            str(kubeconfig),
            "--context",
            "good",
            "--namespace",
            watched,
            "--peering",
            "lockstep-flags",
            "--priority",
            "7",
            "--insecure-kubeconfig-exec",
            "--log-format",
            "plain",
            "--verbose",
            "--controllers",
            "application",
        ),
    )
    url = git_server.create_repo("flags", {"deploy/a.yaml": configmap("flagged", "1")})
    here, there = Apps(client, watched), Apps(client, unwatched)
    target = f"{watched}-remote"
    try:
        operator.start()  # --http: healthy on the port it was given
        here.create("local", url, interval="1h")
        here.create(
            "remote",
            url,
            interval="1h",
            syncOptions=["CreateNamespace=true"],
            destination={"namespace": target, "kubeconfigSecretRef": {"name": "remote-exec"}},
        )
        there.create("ignored", url, interval="1h")

        here.wait_ready("local", timeout=60)  # the Application controller used --kubeconfig --context good
        assert live(client, f"/api/v1/namespaces/{watched}/configmaps/flagged") is not None
        here.wait_ready("remote", timeout=60)  # --insecure-kubeconfig-exec: the Secret's plugin ran
        assert live(client, f"/api/v1/namespaces/{target}/configmaps/flagged") is not None
        assert plugin.calls and plugin.calls[0]["info"]["spec"]["interactive"] is False

        time.sleep(2)  # -n: the other namespace's Application is never looked at
        assert there.get("ignored").get("status") is None
        assert live(client, f"/api/v1/namespaces/{unwatched}/configmaps/flagged") is None

        peers = wait_for(
            lambda: peering(control_plane, watched, "lockstep-flags").get("status"), 30, "peer status"
        )
        assert [peer["priority"] for peer in peers.values()] == [7]  # --peering NAME --priority 7

        log = operator.log_path.read_text().splitlines()
        assert log and not any(line.startswith("{") for line in log)  # --log-format plain
        assert any(" DEBUG " in line for line in log)  # --verbose

        # The Secret's plugin fails when asked again after expiry: a clear failure, not a crashed loop.
        plugin.answer([{"fail": "token service unreachable"}])
        time.sleep(3)
        here.patch_spec("remote", {"interval": "30m"})
        condition = here.wait_failed("remote", timeout=60)
        assert condition["reason"] == "KubeconfigInvalid"
        assert "users[u].user.exec: plugin" in condition["message"]
        assert "exited 1: token service unreachable" in condition["message"]
    finally:
        operator.kill()
        here.cleanup()
        there.cleanup()


def test_operator_defaults_refuse_exec_in_secrets_and_log_json(
    control_plane: ControlPlane, git_server: GitServer, tmp_path: Path
) -> None:
    """Without --insecure-kubeconfig-exec a kubeconfig Secret cannot run commands in the operator; the
    default log format is JSON, one object a line; without -v there are no debug lines."""
    client = control_plane.client
    namespace = control_plane.create_namespace("noexec-")
    plugin = cert_plugin(control_plane, tmp_path / "plugin")
    exec_kubeconfig_secret(control_plane, namespace, plugin)
    args = ("--namespace", namespace, "--controllers", "application")
    operator = Operator(control_plane, tmp_path, args=args)
    url = git_server.create_repo("noexec", {"deploy/a.yaml": configmap("never", "1")})
    apps = Apps(client, namespace)
    try:
        operator.start()
        apps.create(
            "remote",
            url,
            interval="1h",
            destination={"namespace": namespace, "kubeconfigSecretRef": {"name": "remote-exec"}},
        )
        condition = apps.wait_failed("remote")
        assert condition["reason"] == "KubeconfigInvalid"
        assert "users[u].user.exec: credential plugins are not allowed here" in condition["message"]
        assert "--insecure-kubeconfig-exec" in condition["message"]
        assert plugin.calls == [] and live(client, f"/api/v1/namespaces/{namespace}/configmaps/never") is None
        records = [json.loads(line) for line in operator.log_path.read_text().splitlines() if line.strip()]
        assert records and all(record["level"] != "debug" for record in records)
    finally:
        operator.kill()
        apps.cleanup()


def test_operator_controllers_flag_leaves_out_the_application_controller(
    control_plane: ControlPlane, git_server: GitServer, tmp_path: Path
) -> None:
    """--controllers external runs only the ExternalSecret controller: Applications stay untouched."""
    client = control_plane.client
    namespace = control_plane.create_namespace("ctl-")
    operator = Operator(control_plane, tmp_path, args=("--namespace", namespace, "--controllers", "external"))
    apps = Apps(client, namespace)
    try:
        operator.start()
        apps.create("untouched", git_server.create_repo("ctl", {"deploy/a.yaml": configmap("x", "1")}))
        time.sleep(3)
        assert apps.get("untouched").get("status") is None
        assert "lockstep.dev/finalizer" not in (apps.get("untouched")["metadata"].get("finalizers") or [])
    finally:
        operator.kill()
        apps.cleanup()


def test_operator_with_a_broken_kubeconfig_exits_with_one_clear_error(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    kubeconfig = two_context_kubeconfig(control_plane, tmp_path / "two-contexts")
    operator = Operator(control_plane, tmp_path, args=("--kubeconfig", str(kubeconfig), "--context", "gone"))
    try:
        operator.start()
    except AssertionError as exited:
        message = str(exited)
    else:  # pragma: no cover - the assertion below reports it
        message = "operator started"
    finally:
        operator.kill()
    assert f"{kubeconfig}: context 'gone' not found (contexts: broken, good)" in message
    assert "Traceback" not in message


def test_operator_runs_on_an_exec_plugin_kubeconfig_and_re_runs_it_on_expiry(
    control_plane: ControlPlane, git_server: GitServer, tmp_path: Path
) -> None:
    """kopf's login and the Application controller share one plugin cache: credentials that expire every
    few seconds are asked for again, and the operator keeps watching and applying throughout."""
    client = control_plane.client
    namespace = control_plane.create_namespace("oplogin-")
    pair = control_plane.client_ca.issue("operator-by-plugin", organizations=("system:masters",))
    answer = {"clientCertificateData": pair.cert_pem.decode(), "clientKeyData": pair.key_pem.decode()}
    plugin = CredentialPlugin(tmp_path / "plugin", [{**answer, "ttl": 3}])
    doc = yaml.safe_load(control_plane.kubeconfig.read_text())
    doc["users"] = [{"name": "admin", "user": {"exec": plugin.exec_section(interactiveMode="IfAvailable")}}]
    kubeconfig = tmp_path / "exec-kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(doc))
    args = ("--kubeconfig", str(kubeconfig), "--namespace", namespace, "--controllers", "application")
    terminal, terminal_side = pty.openpty()  # even on a terminal, the operator gives plugins no stdin
    env = {"KUBECONFIG": "/nonexistent"}
    operator = Operator(control_plane, tmp_path, env=env, args=args, stdin=terminal_side)
    url = git_server.create_repo("oplogin", {"deploy/a.yaml": configmap("first", "1")})
    apps = Apps(client, namespace)
    try:
        operator.start()
        apps.create("app", url, interval="1h")
        apps.wait_ready("app", timeout=60)
        first_calls = len(plugin.calls)
        assert first_calls >= 1
        time.sleep(4)  # past expirationTimestamp
        git_server.commit("oplogin", {"deploy/b.yaml": configmap("second", "2")})
        apps.patch_spec("app", {"interval": "30m"})  # a new generation: kopf's watch must still deliver it
        wait_for(
            lambda: live(client, f"/api/v1/namespaces/{namespace}/configmaps/second"), 60, "second applied"
        )
        assert len(plugin.calls) > first_calls  # expired credentials were asked for again
        assert all(call["info"]["spec"]["interactive"] is False for call in plugin.calls)
    finally:
        operator.kill()
        apps.cleanup()
        os.close(terminal)
        os.close(terminal_side)


def test_operator_goes_through_the_kubeconfig_proxy(
    control_plane: ControlPlane, git_server: GitServer, tmp_path: Path
) -> None:
    """``proxy-url`` reaches kopf's own connections (its watches) and the Application controller's."""
    client = control_plane.client
    namespace = control_plane.create_namespace("proxy-")
    proxy = ConnectProxy()
    doc = yaml.safe_load(control_plane.kubeconfig.read_text())
    doc["clusters"][0]["cluster"]["proxy-url"] = proxy.url
    kubeconfig = tmp_path / "proxied"
    kubeconfig.write_text(yaml.safe_dump(doc))
    args = ("--kubeconfig", str(kubeconfig), "--namespace", namespace, "--controllers", "application")
    operator = Operator(control_plane, tmp_path, env={"KUBECONFIG": "/nonexistent"}, args=args)
    apps = Apps(client, namespace)
    try:
        operator.start()
        apps.create("app", git_server.create_repo("proxied", {"deploy/a.yaml": configmap("via-proxy", "1")}))
        apps.wait_ready("app", timeout=60)
        port = control_plane.server.rsplit(":", 1)[1]
        assert all(head.startswith(f"CONNECT 127.0.0.1:{port} ") for head in proxy.requests)
        # kopf's aiohttp tunnels with HTTP/1.1 and Accept-Encoding; Lockstep's http.client with HTTP/1.0
        kopf_tunnels = [head for head in proxy.requests if "Accept-Encoding" in head]
        ours = [head for head in proxy.requests if head.startswith(f"CONNECT 127.0.0.1:{port} HTTP/1.0")]
        assert kopf_tunnels and ours, proxy.requests
        assert all("Proxy-Authorization: Basic" in head for head in proxy.requests)
    finally:
        operator.kill()
        apps.cleanup()
        proxy.close()
