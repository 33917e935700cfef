"""Talking to the sealing controller: its certificate, ``/v1/verify`` and ``/v1/rotate``.

Two routes, as kubeseal has: through the API server's service proxy (``--controller-name/-namespace``,
using ``core_sync.kube``; the port name is read from the Service, because the path differs between an
unnamed port and a port named ``http``), or straight to ``--controller-url``. Certificates may also come
from ``--cert URL``. Everything here is imported only by the code paths that need the network.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sealed.format.errors import FormatError

PEM_ACCEPT = "application/x-pem-file, */*"
TIMEOUT_S = 30.0  # one request to the controller or a certificate URL (callers with a budget pass less)


class Controller(Protocol):
    def call(
        self, method: str, path: str, body: bytes | None = None, accept: str = "*/*"
    ) -> tuple[int, bytes]:
        """One HTTP request to the controller's server (``path`` like ``/v1/cert.pem``)."""
        ...

    def describe(self) -> str: ...


def _http(
    method: str, url: str, body: bytes | None, accept: str, timeout: float = TIMEOUT_S
) -> tuple[int, bytes]:
    """A plain HTTP(S) request that honours ``HTTP(S)_PROXY`` (as kubeseal's Go client does)."""
    import urllib.error
    import urllib.request

    headers = {"Accept": accept, "User-Agent": "lockstep-seal"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read() or b"")
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError):
            reason = f"no answer within {timeout:g}s"
        raise FormatError(f"cannot reach {url}: {reason}") from None


@dataclass
class DirectController:
    """``--controller-url``: the controller's HTTP server reached directly (port-forward, ingress, local)."""

    url: str
    timeout: float = TIMEOUT_S

    def call(
        self, method: str, path: str, body: bytes | None = None, accept: str = "*/*"
    ) -> tuple[int, bytes]:
        return _http(method, self.url.rstrip("/") + path, body, accept, self.timeout)

    def describe(self) -> str:
        return self.url


class ProxyController:
    """The controller's Service, via ``/api/v1/namespaces/<ns>/services/http:<name>:<port>/proxy``."""

    def __init__(
        self,
        namespace: str,
        name: str,
        kubeconfig: str | None,
        context: str | None,
        timeout: float = TIMEOUT_S,
    ) -> None:
        from core_sync.kube import KubeClient, KubeConfig, KubeConfigError

        try:
            config = KubeConfig.load(kubeconfig, context)
            config.credentials()  # a credential plugin that cannot run: said now, with its install hint
            self.client = KubeClient(config, timeout=timeout)
        except (KubeConfigError, ValueError) as error:
            raise FormatError(f"cannot reach the cluster: {error}") from None
        self.namespace = namespace
        self.name = name
        self._port: str | None = None

    def proxy_path(self) -> str:
        if self._port is None:
            self._port = self._port_name()
        ns, name = urllib.parse.quote(self.namespace, safe=""), urllib.parse.quote(self.name, safe="")
        return f"/api/v1/namespaces/{ns}/services/http:{name}:{self._port}/proxy"

    def _port_name(self) -> str:
        from core_sync.kube import ApiError

        try:
            service = self.client.get(f"/api/v1/namespaces/{self.namespace}/services/{self.name}")
        except (ApiError, OSError) as error:
            raise FormatError(
                f"cannot get sealed secret service: {error}.\nPlease, use the flag --controller-name and "
                "--controller-namespace to set up the name and namespace of the sealed secrets controller"
            ) from None
        ports = (service.get("spec") or {}).get("ports") or [{}]
        return str(ports[0].get("name") or "")

    def call(
        self, method: str, path: str, body: bytes | None = None, accept: str = "*/*"
    ) -> tuple[int, bytes]:
        target = self.proxy_path() + path
        try:
            return self.client.raw(method, target, body=body, accept=accept)
        except OSError as error:
            raise FormatError(f"cannot reach the API server: {error}") from None

    def describe(self) -> str:
        return f"service {self.namespace}/{self.name}"


def _status_message(body: bytes) -> str:
    """The API server's Status message (e.g. ``no endpoints available for service ...``), or the body."""
    from gocompat.limits import load_json

    try:
        status = load_json(body)
        if isinstance(status, dict) and status.get("message"):
            return str(status["message"])
    except ValueError:
        pass
    return body.decode(errors="replace").strip()[:300]


def fetch_controller_cert(controller: Controller) -> bytes:
    status, body = controller.call("GET", "/v1/cert.pem", accept=PEM_ACCEPT)
    if status != 200:
        raise FormatError(f"cannot fetch certificate: {status} {_status_message(body)}")
    return body


def read_cert_source(source: str, timeout: float = TIMEOUT_S) -> bytes:
    """``--cert``: a path, ``file://`` URL or ``http(s)://`` URL (a one-letter scheme is a Windows drive)."""
    parsed = urllib.parse.urlsplit(source)
    if len(parsed.scheme) > 1 and parsed.scheme in ("http", "https"):
        status, body = _http("GET", source, None, PEM_ACCEPT, timeout)
        if status != 200:
            raise FormatError(f'cannot fetch "{source}": {status}')
        return body
    path = parsed.path if parsed.scheme == "file" else source
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise FormatError(error.strerror or str(error), source) from None


def verify(controller: Controller, sealed_json: bytes, name: str) -> None:
    status, body = controller.call("POST", "/v1/verify", sealed_json)
    if status == 409:
        raise FormatError(f"unable to decrypt sealed secret: {name}")
    if status != 200:
        raise FormatError(f"cannot validate sealed secret: {status} {_status_message(body)}")


def rotate(controller: Controller, sealed_json: bytes) -> bytes:
    status, body = controller.call("POST", "/v1/rotate", sealed_json)
    if status == 409:
        raise FormatError("unable to rotate secret")
    if status != 200:
        raise FormatError(f"cannot re-encrypt secret: {status} {_status_message(body)}")
    return body
