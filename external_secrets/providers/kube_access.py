"""The few cluster reads a provider needs (credential Secrets, service-account tokens), behind a protocol.

Providers depend on this protocol, not on a client, so the render stage and the controller can hand in
whatever access they have.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from external_secrets.providers.base import AuthError

if TYPE_CHECKING:
    from core_sync.kube import KubeClient


class KubeAccess(Protocol):
    def secret_value(self, namespace: str, name: str, key: str) -> bytes: ...

    def service_account_token(
        self, namespace: str, name: str, audiences: Sequence[str], seconds: int
    ) -> str: ...

    def service_account_annotations(self, namespace: str, name: str) -> dict[str, str]: ...


class ClientKubeAccess:
    """:class:`KubeAccess` over a :class:`core_sync.kube.KubeClient`."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client

    def _read(self, path: str, what: str) -> dict[str, Any]:
        """One GET; a failure is an :class:`AuthError` naming ``what`` (credentials are unreadable)."""
        from core_sync.kube import ApiError

        try:
            return self.client.get(path)
        except ApiError as error:
            raise AuthError(f"cannot read {what}: {error.reason or error.status}") from None

    def secret_value(self, namespace: str, name: str, key: str) -> bytes:
        where = f"credentials Secret {namespace}/{name}"
        secret = self._read(f"/api/v1/namespaces/{namespace}/secrets/{name}", where)
        data = secret.get("data") or {}
        if key not in data:
            raise AuthError(f"credentials Secret {namespace}/{name} has no key {key!r}")
        return base64.b64decode(data[key])

    def service_account_token(self, namespace: str, name: str, audiences: Sequence[str], seconds: int) -> str:
        from core_sync.kube import ApiError

        spec: dict[str, object] = {"expirationSeconds": max(seconds, 600)}
        if audiences:
            spec["audiences"] = list(audiences)
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        try:
            answer = self.client.create(f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", body)
        except ApiError as error:
            raise AuthError(
                f"cannot get a token for ServiceAccount {namespace}/{name}: {error.reason or error.status}"
            ) from None
        return str(answer["status"]["token"])

    def service_account_annotations(self, namespace: str, name: str) -> dict[str, str]:
        """The ServiceAccount's annotations (IRSA keeps the role ARN there)."""
        where = f"ServiceAccount {namespace}/{name}"
        account = self._read(f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}", where)
        annotations = (account.get("metadata") or {}).get("annotations") or {}
        return {str(k): str(v) for k, v in annotations.items()}
