"""Helpers for the external-secrets tests: talking to OpenBao and the API server directly."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from core_sync.kube import ApiError, KubeClient


def bao(openbao: Any, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """One OpenBao API call with the root token."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"{openbao.url}/v1/{path}",
        data=data,
        method=method,
        headers={"X-Vault-Token": openbao.token, "Content-Type": "application/json"},
    )
    context = getattr(openbao, "ssl_context", None)  # a TLS dev server trusts its own CA
    with urllib.request.urlopen(request, timeout=10, context=context) as response:  # noqa: S310
        payload = response.read()
    return json.loads(payload) if payload else {}


def kv_put(openbao: Any, path: str, data: Mapping[str, Any], mount: str = "secret") -> None:
    bao(openbao, "POST", f"{mount}/data/{path}", {"data": dict(data)})


def make_secret(client: KubeClient, namespace: str, name: str, data: Mapping[str, str | bytes]) -> None:
    encoded = {
        k: base64.b64encode(v if isinstance(v, bytes) else v.encode()).decode() for k, v in data.items()
    }
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": encoded,
    }
    try:
        client.create(f"/api/v1/namespaces/{namespace}/secrets", body)
    except ApiError as error:
        if not error.conflict:
            raise
        client.request("PUT", f"/api/v1/namespaces/{namespace}/secrets/{name}", body=body)


def read_secret(client: KubeClient, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return client.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
    except ApiError as error:
        if error.not_found:
            return None
        raise


def decoded(secret: Mapping[str, Any]) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def kube_ca_pem(kubeconfig: str) -> str:
    config = yaml.safe_load(Path(kubeconfig).read_text())
    return base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()


def setup_kubernetes_auth(
    openbao: Any,
    client: KubeClient,
    server: str,
    kubeconfig: str,
    namespace: str,
    mount: str,
    sa: str = "app",
) -> None:
    """Kubernetes auth on OpenBao, reviewing tokens against the real API server."""
    sa_path = f"/api/v1/namespaces/{namespace}/serviceaccounts"
    for name in ("bao-reviewer", sa):
        try:
            client.create(sa_path, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
        except ApiError as error:
            if not error.conflict:
                raise
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"bao-reviewer-{namespace}"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "system:auth-delegator",
        },
        "subjects": [{"kind": "ServiceAccount", "name": "bao-reviewer", "namespace": namespace}],
    }
    try:
        client.create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", binding)
    except ApiError as error:
        if not error.conflict:
            raise
    token = client.create(
        f"{sa_path}/bao-reviewer/token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600},
        },
    )["status"]["token"]
    try:
        bao(openbao, "POST", f"sys/auth/{mount}", {"type": "kubernetes"})
    except urllib.error.HTTPError as error:
        if error.code != 400:  # already enabled
            raise
    bao(
        openbao,
        "POST",
        f"auth/{mount}/config",
        {
            "kubernetes_host": server,
            "kubernetes_ca_cert": kube_ca_pem(kubeconfig),
            "token_reviewer_jwt": token,
            "disable_local_ca_jwt": True,
        },
    )
    bao(
        openbao,
        "PUT",
        "sys/policies/acl/es-read",
        {
            "policy": 'path "secret/*" { capabilities = ["read", "list"] }\n'
            'path "kv1/*" { capabilities = ["read", "list"] }',
        },
    )
    bao(
        openbao,
        "POST",
        f"auth/{mount}/role/app",
        {
            "bound_service_account_names": [sa],
            "bound_service_account_namespaces": [namespace],
            "token_policies": ["es-read"],
            "token_ttl": "10m",
        },
    )


ES_BASE = "/apis/external-secrets.io/v1"


def create(client: KubeClient, obj: Mapping[str, Any], namespace: str | None = None) -> dict[str, Any]:
    kind = obj["kind"]
    if kind in ("ExternalSecret", "SecretStore", "ClusterSecretStore"):
        plural = {
            "ExternalSecret": "externalsecrets",
            "SecretStore": "secretstores",
            "ClusterSecretStore": "clustersecretstores",
        }[kind]
        path = (
            f"{ES_BASE}/{plural}"
            if kind == "ClusterSecretStore"
            else f"{ES_BASE}/namespaces/{namespace}/{plural}"
        )
    elif kind == "PushSecret":
        path = f"/apis/external-secrets.io/v1alpha1/namespaces/{namespace}/pushsecrets"
    else:
        path = f"/api/v1/namespaces/{namespace}/{kind.lower()}s"
    return client.create(path, obj)


def create_yaml(client: KubeClient, text: str, namespace: str, **subst: str) -> None:
    for key, value in subst.items():
        text = text.replace("{{" + key + "}}", value)
    for doc in yaml.safe_load_all(text):
        if doc:
            create(client, doc, namespace)


def es_path(namespace: str, name: str) -> str:
    return f"{ES_BASE}/namespaces/{namespace}/externalsecrets/{name}"


def ready(client: KubeClient, namespace: str, name: str, kind: str = "externalsecrets") -> dict[str, Any]:
    obj = client.get(f"{ES_BASE}/namespaces/{namespace}/{kind}/{name}")
    for condition in (obj.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return dict(condition)
    return {}


def wait_ready(
    client: KubeClient,
    namespace: str,
    name: str,
    status: str = "True",
    timeout: float = 30.0,
    reason: str | None = None,
    contains: str | None = None,
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        condition = ready(client, namespace, name)
        if condition.get("status") != status:
            return None
        if reason and condition.get("reason") != reason:
            return None
        if contains and contains not in condition.get("message", ""):
            return None
        return condition

    return wait_for(
        check, timeout, f"ExternalSecret {namespace}/{name} Ready={status} {reason or ''} {contains or ''}"
    )


def events_for(client: KubeClient, namespace: str, name: str) -> list[dict[str, Any]]:
    items = client.get(f"/api/v1/namespaces/{namespace}/events").get("items") or []
    return [e for e in items if (e.get("involvedObject") or {}).get("name") == name]


def store_object(name: str, provider: Mapping[str, Any]) -> dict[str, Any]:
    """A SecretStore ``name`` for ``provider`` (``{"vault": {...}}``, ``{"aws": {...}}``)."""
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": {"name": name},
        "spec": {"provider": dict(provider)},
    }


def vault_store_object(openbao: Any, name: str = "vault", credentials: str = "vault-token") -> dict[str, Any]:
    """A SecretStore for the test OpenBao's KV v2 mount, logged in with the token in ``credentials``."""
    vault = {
        "server": openbao.url,
        "path": "secret",
        "version": "v2",
        "auth": {"tokenSecretRef": {"name": credentials, "key": "token"}},
    }
    return store_object(name, {"vault": vault})


def password_external_secret(
    name: str, key: str, *, store: str = "vault", namespace: str | None = None, **spec: Any
) -> dict[str, Any]:
    """An ExternalSecret whose target ``name`` gets ``password`` from the remote ``key``'s property."""
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": meta,
        "spec": {
            **spec,
            "secretStoreRef": {"name": store, "kind": "SecretStore"},
            "target": {"name": name},
            "data": [{"secretKey": "password", "remoteRef": {"key": key, "property": "password"}}],
        },
    }


def wait_for_store_api(client: KubeClient, timeout: float = 30.0) -> None:
    """Wait until SecretStores can be listed (a new CRD's storage answers 429 for a moment)."""

    def serves() -> bool:
        try:
            client.get("/apis/external-secrets.io/v1/secretstores")
        except ApiError:
            return False
        return True

    wait_for(serves, timeout, "the SecretStore API to serve")


def vault_password_store(client: KubeClient, openbao: Any, namespace: str) -> str:
    """A SecretStore ``vault`` in ``namespace`` and a remote key holding ``password``; returns the key."""
    key = f"{namespace}/db"
    kv_put(openbao, key, {"password": "pw"})
    make_secret(client, namespace, "vault-token", {"token": openbao.token})
    create(client, vault_store_object(openbao), namespace)
    return key


def secret_writes(control_plane: Any, namespace: str, names: Iterable[str]) -> Counter[str]:
    """How many times the API server's audit log saw the Secrets ``names`` in ``namespace`` written."""
    wanted = set(names)
    return Counter(
        event["objectRef"]["name"]
        for event in control_plane.write_requests(namespaces=[namespace])
        if event.get("objectRef", {}).get("resource") == "secrets"
        and event["objectRef"].get("name") in wanted
    )
