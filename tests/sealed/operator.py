"""A real ``lockstep operator --controllers sealed`` process for the sealed controller tests."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from core_sync.kube import KubeClient
from core_sync.testing import ControlPlane
from core_sync.testing.processes import ManagedProcess, free_port, http_ok
from tests.core_sync.conftest import LOCKSTEP, wait_for
from tests.external.es_helpers import read_secret as secret_or_none

SS_API = "/apis/bitnami.com/v1alpha1"
__all__ = ["SealedOperator", "secret_or_none", "wait_for"]


class SealedOperator:
    """The operator running only the SealedSecret controller, watching ``namespaces``."""

    def __init__(
        self,
        control_plane: ControlPlane,
        workdir: Path,
        key_namespace: str,
        namespaces: tuple[str, ...],
        *extra: str,
        env: dict[str, str] | None = None,
        name: str = "sealed-operator",
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [str(LOCKSTEP), "operator", "--controllers", "sealed", "--http", f"127.0.0.1:{self.port}"]
        argv += ["--log-format", "plain", "--key-namespace", key_namespace, "--key-size", "2048", *extra]
        for namespace in namespaces:
            argv += ["-n", namespace]
        workdir.mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(
            name, argv, workdir / f"{name}-{self.port}.log", env={**control_plane.env(), **(env or {})}
        )

    def start(self, wait_for_cert: bool = True) -> SealedOperator:
        self.process.start()
        self.process.wait_until(lambda: http_ok(self.url + "/healthz"), 60, "operator /healthz")
        if wait_for_cert:
            self.process.wait_until(lambda: http_ok(self.url + "/v1/cert.pem"), 120, "/v1/cert.pem")
        return self

    def stop(self) -> None:
        self.process.stop()

    def get(self, path: str) -> tuple[int, bytes]:
        return self.post(path, None)

    def post(self, path: str, body: bytes | None) -> tuple[int, bytes]:
        method = "GET" if body is None else "POST"
        request = urllib.request.Request(self.url + path, data=body, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), bytes(error.read())

    def metrics(self) -> str:
        return self.get("/metrics")[1].decode()


def apply_sealed(client: KubeClient, sealed: dict[str, Any]) -> dict[str, Any]:
    meta = sealed["metadata"]
    path = f"{SS_API}/namespaces/{meta['namespace']}/sealedsecrets"
    return client.apply(f"{path}/{meta['name']}", sealed, field_manager="test")


def synced(client: KubeClient, namespace: str, name: str, status: str = "True") -> dict[str, Any] | None:
    """The SealedSecret once its Synced condition has ``status`` for its current generation."""
    obj = client.get(f"{SS_API}/namespaces/{namespace}/sealedsecrets/{name}")
    state = obj.get("status") or {}
    if state.get("observedGeneration") != obj["metadata"].get("generation"):
        return None
    for condition in state.get("conditions") or []:
        if condition.get("type") == "Synced" and condition.get("status") == status:
            return obj
    return None


def events(client: KubeClient, namespace: str, name: str) -> list[tuple[str, str, str]]:
    items = client.get(f"/api/v1/namespaces/{namespace}/events").get("items") or []
    return [
        (e["type"], e["reason"], e["message"])
        for e in items
        if e["involvedObject"].get("name") == name and e["involvedObject"].get("kind") == "SealedSecret"
    ]


def as_json(obj: Any) -> bytes:
    return json.dumps(obj).encode()
