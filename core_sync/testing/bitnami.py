"""Bitnami's sealed-secrets controller against the test control plane: an oracle for Lockstep's controller.

It has no ``--kubeconfig`` flag and only reads client-go's in-cluster configuration, so it runs as a
ServiceAccount of ``kube-system`` (bound to cluster-admin) whose token, the serving CA and the namespace are
placed where client-go looks for them (``/run/secrets/kubernetes.io/serviceaccount``) inside a private mount
namespace (``unshare -m``): nothing on the host changes. Its keys live in ``kube-system``.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from core_sync.testing.binaries import sealed_secrets_controller
from core_sync.testing.processes import ManagedProcess, free_port, http_ok

if TYPE_CHECKING:
    from core_sync.testing.control_plane import ControlPlane

ACCOUNT = "sealed-secrets-controller"
_TOKEN_DIR = "/run/secrets/kubernetes.io/serviceaccount"  # noqa: S105 - a path, not a password


class BitnamiController:
    """``with BitnamiController(plane, [ns]) as bitnami:`` — serving ``bitnami.url`` once it has a key."""

    def __init__(self, plane: ControlPlane, namespaces: list[str] | tuple[str, ...] = ()) -> None:
        self.plane = plane
        self.namespaces = tuple(namespaces)
        self.port, self.metrics_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: ManagedProcess | None = None

    def _service_account_dir(self) -> Path:
        from core_sync.kube import ApiError

        client = self.plane.client
        for path, obj in (
            (
                "/api/v1/namespaces/kube-system/serviceaccounts",
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": ACCOUNT}},
            ),
            (
                "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": "lockstep-test-sealed-secrets"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "cluster-admin",
                    },
                    "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": "kube-system"}],
                },
            ),
        ):
            try:
                client.create(path, obj)
            except ApiError as error:
                if not error.conflict:  # there from an earlier start
                    raise
        token = client.create(
            f"/api/v1/namespaces/kube-system/serviceaccounts/{ACCOUNT}/token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": 3600},
            },
        )["status"]["token"]
        directory = self.plane.dir / f"bitnami-sa-{self.port}"
        directory.mkdir()
        (directory / "token").write_text(token)
        (directory / "ca.crt").write_bytes((self.plane.dir / "certs" / "serving-ca.crt").read_bytes())
        (directory / "namespace").write_text("kube-system")
        return directory

    def start(self, timeout: float = 120.0) -> BitnamiController:
        binary = sealed_secrets_controller()  # BinaryNotFound names the build script
        tokens = self._service_account_dir()
        flags = f"--listen-addr 127.0.0.1:{self.port} --listen-metrics-addr 127.0.0.1:{self.metrics_port}"
        if self.namespaces:
            flags += f" --all-namespaces=false --additional-namespaces={','.join(self.namespaces)}"
        script = (
            f"mount -t tmpfs tmpfs /run && mkdir -p {_TOKEN_DIR} && cp {tokens}/* {_TOKEN_DIR}/ && "
            f"exec {binary} {flags}"
        )
        host, _, port = self.plane.server.removeprefix("https://").rpartition(":")
        env = {"PATH": "/usr/bin:/bin", "KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}
        log = self.plane.dir / f"bitnami-controller-{self.port}.log"
        self.process = ManagedProcess(
            "sealed-secrets-controller", ["unshare", "-m", "sh", "-c", script], log, env=env
        )
        self.process.start()
        self.process.wait_until(lambda: http_ok(self.url + "/v1/cert.pem"), timeout, "Bitnami's /v1/cert.pem")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def __enter__(self) -> BitnamiController:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
