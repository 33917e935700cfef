"""``--fetch-cert`` / ``--validate`` through the API server's service proxy, on the real control plane.

The test control plane has no pods and the API server refuses loopback addresses in Endpoints and
EndpointSlices, so no backend can sit behind the Service. What is proven here is that Lockstep finds the
Service, builds the proxy path with the Service's port name, and reports the API server's answer clearly,
exactly as kubeseal does against the same Service. To make the API server echo the path it was asked for,
the Service gets an Endpoints object whose only port has a *different* name: the proxy then answers
``no endpoints available for service "http:<name>:<port>"`` without dialling anything (the address is in
the documentation range 192.0.2.0/24 and is never contacted).
"""

from __future__ import annotations

from core_sync.testing import ControlPlane
from tests.sealed.conftest import run_kubeseal, run_lockstep

SECRET = b'{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"n"},"data":{"k":"dg=="}}'


def _service(control_plane: ControlPlane, namespace: str, name: str, port_name: str | None) -> None:
    port: dict[str, object] = {"port": 8080, "targetPort": 8080}
    if port_name:
        port["name"] = port_name
    control_plane.client.create(
        f"/api/v1/namespaces/{namespace}/services",
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": {"ports": [port]}},
    )
    control_plane.client.create(
        f"/api/v1/namespaces/{namespace}/endpoints",
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": name},
            "subsets": [
                {"addresses": [{"ip": "192.0.2.10"}], "ports": [{"name": "unmatched", "port": 8080}]}
            ],
        },
    )


def test_fetch_cert_goes_through_the_service_proxy(
    control_plane: ControlPlane, namespace: str, kubeseal_bin: str
) -> None:
    _service(control_plane, namespace, "lockstep-sealed-secrets", "http")
    env = {"KUBECONFIG": str(control_plane.kubeconfig)}
    ours = run_lockstep("--fetch-cert", "--controller-namespace", namespace, env=env)
    assert ours.returncode == 1
    message = ours.stderr.decode()
    assert message.startswith("error: cannot fetch certificate: 503 ")
    assert 'service "http:lockstep-sealed-secrets:http"' in message  # the proxy path named the port
    theirs = run_kubeseal(
        kubeseal_bin,
        "--fetch-cert",
        "--controller-namespace",
        namespace,
        "--controller-name",
        "lockstep-sealed-secrets",
        env=env,
    )
    assert theirs.returncode != 0
    assert b'"http:lockstep-sealed-secrets:http"' in theirs.stderr


def test_unnamed_port_and_custom_name(control_plane: ControlPlane, namespace: str) -> None:
    _service(control_plane, namespace, "sealed-secrets-controller", None)
    env = {"KUBECONFIG": str(control_plane.kubeconfig)}
    result = run_lockstep(
        "--controller-namespace",
        namespace,
        "--controller-name",
        "sealed-secrets-controller",
        stdin=SECRET,
        env=env,
    )
    assert result.returncode == 1
    assert 'service "http:sealed-secrets-controller:"' in result.stderr.decode()
    assert result.stdout == b""


def test_validate_goes_through_the_proxy(control_plane: ControlPlane, namespace: str) -> None:
    _service(control_plane, namespace, "lockstep-sealed-secrets", "http")
    sealed = (
        b'{"apiVersion":"bitnami.com/v1alpha1","kind":"SealedSecret","metadata":{"name":"s","namespace":"n"},'
        b'"spec":{"encryptedData":{"k":"AgA="},"template":{"metadata":{}}}}'
    )
    env = {"KUBECONFIG": str(control_plane.kubeconfig)}
    result = run_lockstep("--validate", "--controller-namespace", namespace, stdin=sealed, env=env)
    assert result.returncode == 1
    assert result.stderr.decode().startswith("error: cannot validate sealed secret: 503 ")


def test_missing_service_is_explained(control_plane: ControlPlane, namespace: str) -> None:
    env = {"KUBECONFIG": str(control_plane.kubeconfig)}
    result = run_lockstep("--fetch-cert", "--controller-namespace", namespace, env=env)
    assert result.returncode == 1
    message = result.stderr.decode()
    assert message.startswith("error: cannot get sealed secret service: GET ")
    assert "404" in message and "--controller-name and --controller-namespace" in message


def test_no_kubeconfig_is_explained() -> None:
    result = run_lockstep("--fetch-cert")
    assert result.returncode == 1
    assert result.stderr.decode().startswith("error: cannot reach the cluster: no kubeconfig found")
