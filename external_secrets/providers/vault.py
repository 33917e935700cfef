"""Vault / OpenBao KV v1 and v2 over plain HTTP(S) (stdlib); token, AppRole, Kubernetes, userPass, jwt, cert.

Why not hvac: the four endpoints we need are simple, and owning the transport lets us classify failures
exactly (down → retry, 404 → missing, 403 → auth) and count every call honestly. A login token is kept
for its TTL and reused by every ExternalSecret of the store, so there is no per-reconcile login and no
lease build-up (ESO #376).
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from external_secrets.gjson import go_json
from external_secrets.providers.base import (
    CALLS,
    AuthError,
    FetchKey,
    FindQuery,
    NoSecretError,
    ProviderError,
    ProviderUnavailable,
    RemoteSecret,
    fetch_each,
)
from external_secrets.providers.kube_access import KubeAccess
from external_secrets.push import MANAGED_BY, PushRef, with_property, without_property
from external_secrets.stores import Store
from gocompat import limits

TIMEOUT_S = 5.0
LOGIN_MARGIN_S = 30.0


def build_path(key: str, mount: str | None, version: str) -> str:
    """ESO's ``buildPath``: where a remote key lives, inserting ``data/`` for KV v2."""
    out = key
    if mount:
        cut = mount + "/"
        if out.startswith(cut):
            out = out[len(cut) :]
            if out.startswith("data/") and version == "v2":
                out = out[len("data/") :]
        parts = mount.split("/") + (["data"] if version == "v2" else []) + out.split("/")
        return "/".join(parts)
    if version == "v2" and "/data/" not in out:
        head, _, tail = out.partition("/")
        return "/".join(p for p in (head, "data", tail) if p) if tail else f"{head}/data"
    return out


def metadata_path(key: str, mount: str | None) -> str:
    """KV v2 metadata endpoint for ``key`` (``<mount>/metadata/<key>``)."""
    data_path = build_path(key, mount, "v2")
    head, _, tail = data_path.partition("/data/") if "/data/" in data_path else (data_path, "", "")
    return f"{head}/metadata/{tail}" if tail else f"{head}/metadata"


class VaultProvider:
    """A logged-in KV client for one store (and one namespace, for referent cluster stores)."""

    name = "vault"

    def __init__(self, store: Store, es_namespace: str, kube: KubeAccess) -> None:
        self.store = store
        self.es_namespace = es_namespace
        self.kube = kube
        config = store.config
        self.server = str(config["server"]).rstrip("/")
        self.mount = str(config["path"]).strip("/") if config.get("path") else None
        self.version = str(config.get("version") or "v2")
        self.vault_namespace = config.get("namespace")
        self.auth = dict(config.get("auth") or {})
        self.auth_namespace = self.auth.get("namespace") or self.vault_namespace
        self._context = self._ssl_context(config)
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = threading.Lock()

    # -- transport -------------------------------------------------------------------------------------
    def _ssl_context(self, config: Mapping[str, Any]) -> ssl.SSLContext | None:
        if not self.server.startswith("https"):
            return None
        bundle = config.get("caBundle")
        provider = config.get("caProvider")
        if bundle:
            import base64

            context = ssl.create_default_context(cadata=base64.b64decode(bundle).decode())
        elif provider and provider.get("type") == "Secret":
            ns = self.store.secret_namespace(provider, self.es_namespace)
            pem = self.kube.secret_value(ns, provider["name"], provider.get("key") or "ca.crt")
            context = ssl.create_default_context(cadata=pem.decode())
        else:
            context = ssl.create_default_context()
        if "cert" in self.auth:
            cert_auth = self.auth["cert"]
            chain = self._selector_bytes(cert_auth["clientCert"], "tls.crt")
            key = self._selector_bytes(cert_auth["secretRef"], "tls.key")
            load_client_certificate(context, chain, key, f"vault {self.store.ref}: auth.cert")
        return context

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        token: str | None = None,
        namespace: str | None = None,
        api: str = "read",
    ) -> dict[str, Any] | None:
        """One HTTP call; ``None`` for 404. Raises classified :class:`ProviderError`s without values."""
        url = f"{self.server}/v1/{path.lstrip('/')}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = {"Accept": "application/json"}
        if token:
            headers["X-Vault-Token"] = token
        if namespace:
            headers["X-Vault-Namespace"] = str(namespace)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        CALLS.add(self.store.ref, f"vault:{api}")
        where = f"vault {self.store.ref}: {method} {path}"
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=self._context) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as error:
            detail = _vault_errors(error.read())
            if error.code == 404:
                return None
            if error.code in (401, 403):
                raise AuthError(f"{where}: permission denied{detail}") from None
            if api == "login" and error.code == 400:  # Vault/OpenBao refuse bad credentials with 400
                raise AuthError(f"{where}: login refused{detail}") from None
            if error.code >= 500 or error.code == 429:
                raise ProviderUnavailable(f"{where}: server error {error.code}{detail}") from None
            raise ProviderError(f"{where}: HTTP {error.code}{detail}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ProviderUnavailable(f"{where}: cannot reach {self.server}: {reason}") from None
        try:
            return limits.load_json(payload) if payload else {}
        except ValueError as error:  # a reply that is not JSON, or over the parser limits
            raise ProviderError(f"{where}: unreadable reply: {error}") from None

    # -- auth ------------------------------------------------------------------------------------------
    def token(self) -> str:
        with self._lock:
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            self._token, ttl = self._login()
            self._token_expires = time.monotonic() + (max(ttl - LOGIN_MARGIN_S, 5.0) if ttl else 300.0)
            return self._token

    def _selector_bytes(self, selector: Mapping[str, Any], default_key: str) -> bytes:
        ns = self.store.secret_namespace(selector, self.es_namespace)
        key = str(selector.get("key") or default_key)
        return self.kube.secret_value(ns, str(selector["name"]), key)

    def _selector_value(self, selector: Mapping[str, Any], default_key: str) -> str:
        return self._selector_bytes(selector, default_key).decode().strip()

    def _login(self) -> tuple[str, float]:
        auth = self.auth
        if "tokenSecretRef" in auth:
            return self._selector_value(auth["tokenSecretRef"], "token"), 0.0
        if "appRole" in auth:
            app = auth["appRole"]
            role_id = app.get("roleId") or self._selector_value(app["roleRef"], "role-id")
            secret_id = self._selector_value(app["secretRef"], "secret-id")
            mount = str(app.get("path") or "approle").strip("/")
            body = {"role_id": role_id, "secret_id": secret_id}
            return self._login_at(f"auth/{mount}/login", body, "approle")
        if "userPass" in auth:
            user = auth["userPass"]
            password = self._selector_value(user["secretRef"], "password")
            mount = str(user.get("path") or "userpass").strip("/")
            username = urllib.parse.quote(str(user["username"]), safe="")
            return self._login_at(f"auth/{mount}/login/{username}", {"password": password}, "userpass")
        if "jwt" in auth:
            return self._jwt_login(auth["jwt"])
        if "cert" in auth:  # the client certificate is presented by the TLS context (_ssl_context)
            cert_auth = auth["cert"]
            mount = str(cert_auth.get("path") or "cert").strip("/")
            body = {"name": cert_auth["vaultRole"]} if cert_auth.get("vaultRole") else {}
            return self._login_at(f"auth/{mount}/login", body, "cert")
        k8s = auth["kubernetes"]
        if k8s.get("serviceAccountRef"):
            sa = k8s["serviceAccountRef"]
            ns = self.store.secret_namespace(sa, self.es_namespace)
            jwt = self.kube.service_account_token(ns, str(sa["name"]), list(sa.get("audiences") or ()), 600)
        else:
            jwt = self._selector_value(k8s["secretRef"], "token")
        mount = str(k8s.get("mountPath") or "kubernetes").strip("/")
        return self._login_at(f"auth/{mount}/login", {"role": k8s["role"], "jwt": jwt}, "kubernetes")

    def _jwt_login(self, jwt_auth: Mapping[str, Any]) -> tuple[str, float]:
        """ESO's ``jwt`` auth: a JWT from a Secret, or a ServiceAccount token from the TokenRequest API."""
        sa_token = jwt_auth.get("kubernetesServiceAccountToken")
        if sa_token:
            sa = sa_token["serviceAccountRef"]
            ns = self.store.secret_namespace(sa, self.es_namespace)
            audiences = sa_token.get("audiences") or sa.get("audiences") or ["vault"]
            seconds = int(sa_token.get("expirationSeconds") or 600)
            jwt = self.kube.service_account_token(ns, str(sa["name"]), list(audiences), seconds)
        else:
            jwt = self._selector_value(jwt_auth["secretRef"], "jwt")
        mount = str(jwt_auth.get("path") or "jwt").strip("/")
        body = {"jwt": jwt, **({"role": jwt_auth["role"]} if jwt_auth.get("role") else {})}
        return self._login_at(f"auth/{mount}/login", body, "jwt")

    def _login_at(self, path: str, body: Mapping[str, Any], method: str) -> tuple[str, float]:
        answer = self._call("POST", path, body=body, namespace=self.auth_namespace, api="login")
        auth = (answer or {}).get("auth") or {}
        if not auth.get("client_token"):
            raise AuthError(f"vault {self.store.ref}: {method} login at {path} returned no token")
        return str(auth["client_token"]), float(auth.get("lease_duration") or 0)

    def _read(
        self, path: str, params: Mapping[str, str] | None = None, api: str = "read"
    ) -> dict[str, Any] | None:
        return self._authed("GET", path, params=params, api=api)

    def _authed(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        api: str = "read",
    ) -> dict[str, Any] | None:
        """A call with the login token; a refused login token is renewed once."""
        token = self.token()
        try:
            return self._call(
                method, path, body=body, params=params, token=token, namespace=self.vault_namespace, api=api
            )
        except AuthError:
            if "tokenSecretRef" in self.auth:
                raise
            with self._lock:  # the login token may have been revoked: log in once more
                self._token = None
            return self._call(
                method,
                path,
                body=body,
                params=params,
                token=self.token(),
                namespace=self.vault_namespace,
                api=api,
            )

    # -- Provider --------------------------------------------------------------------------------------
    def fetch(self, ref: FetchKey) -> RemoteSecret:
        if ref.metadata:
            return self._fetch_metadata(ref)
        path = build_path(ref.key, self.mount, self.version)
        params = {"version": ref.version} if ref.version and self.version == "v2" else None
        answer = self._read(path, params)
        data = (answer or {}).get("data")
        if self.version == "v2" and isinstance(data, Mapping):
            data = data.get("data")
        if not isinstance(data, Mapping):
            raise NoSecretError(f"vault {self.store.ref}: secret {ref.key!r} not found")
        return RemoteSecret(go_json(dict(data)), dict(data), kind="vault")

    def _fetch_metadata(self, ref: FetchKey) -> RemoteSecret:
        if self.version != "v2":
            raise ProviderError(f"vault {self.store.ref}: metadataPolicy Fetch needs KV v2")
        answer = self._read(metadata_path(ref.key, self.mount), api="metadata")
        data = (answer or {}).get("data")
        if not isinstance(data, Mapping):
            raise NoSecretError(f"vault {self.store.ref}: secret {ref.key!r} not found")
        meta: dict[str, Any] = {
            k: str(data[k]) for k in ("created_time", "current_version", "delete_version_after") if k in data
        }
        meta.update({str(k): str(v) for k, v in (data.get("custom_metadata") or {}).items()})
        return RemoteSecret(go_json(meta), meta, kind="vault")

    def fetch_many(self, refs: Sequence[FetchKey]) -> dict[FetchKey, RemoteSecret | ProviderError]:
        return fetch_each(self, refs)

    def _list(self, path: str) -> list[str]:
        token = self.token()
        answer = self._call("LIST", path, token=token, namespace=self.vault_namespace, api="list")
        return [str(k) for k in ((answer or {}).get("data") or {}).get("keys") or ()]

    def find(self, query: FindQuery) -> dict[str, RemoteSecret]:
        if not self.mount:
            raise ProviderError(f"vault {self.store.ref}: dataFrom.find needs spec.provider.vault.path")
        if query.tags and self.version != "v2":
            raise ProviderError(f"vault {self.store.ref}: find by tags needs KV v2")
        pattern = re.compile(query.name_regexp) if query.name_regexp else None
        base = query.path.strip("/")
        list_root = f"{self.mount}/metadata" if self.version == "v2" else self.mount
        names: list[str] = []
        pending = [base]
        while pending:
            prefix = pending.pop()
            for entry in self._list(f"{list_root}/{prefix}".rstrip("/")):
                full = f"{prefix}/{entry}".lstrip("/") if prefix else entry
                if entry.endswith("/"):
                    pending.append(full.rstrip("/"))
                else:
                    names.append(full)
        out: dict[str, RemoteSecret] = {}
        for name in sorted(names):
            if pattern is not None and not pattern.search(name):
                continue
            if query.tags:
                meta = self._fetch_metadata(FetchKey(name, metadata=True)).structured or {}
                if any(meta.get(k) != v for k, v in query.tags):
                    continue
            try:
                out[name] = self.fetch(FetchKey(name))
            except NoSecretError:  # deleted latest version
                continue
        return out

    # -- PushSecret ------------------------------------------------------------------------------------
    def _current(self, key: str, *, managed: bool = True) -> dict[str, Any] | None:
        """The KV map at ``key`` (``None`` if absent); ``managed``: on KV v2 refuse one that no PushSecret
        wrote (ESO's ``managed-by`` custom metadata)."""
        answer = self._read(build_path(key, self.mount, self.version))
        data = (answer or {}).get("data")
        if self.version == "v2" and isinstance(data, Mapping):
            data = data.get("data")
        if not isinstance(data, Mapping):
            return None
        if managed and self.version == "v2":
            meta = self._read(metadata_path(key, self.mount), api="metadata") or {}
            custom = ((meta.get("data") or {}).get("custom_metadata")) or {}
            if custom.get(MANAGED_BY[0]) != MANAGED_BY[1]:
                raise ProviderError(f"vault {self.store.ref}: secret {key!r} not managed by external-secrets")
        return dict(data)

    def push(self, where: PushRef, value: bytes, metadata: Mapping[str, Any] | None = None) -> bool:
        current = self._current(where.remote_key)
        if where.prop:
            wanted = with_property(current, where.prop, value)
        else:
            try:
                wanted = limits.load_json(value)
            except ValueError:
                wanted = None
            if not isinstance(wanted, dict):
                raise ProviderError(
                    f"vault {self.store.ref}: secret {where.remote_key!r}: without remoteRef.property the "
                    "value must be a JSON object (or leave match.secretKey empty to push the whole Secret)"
                )
        if current == wanted:
            return False
        self._write(where.remote_key, wanted or {})
        return True

    def _write(self, key: str, data: Mapping[str, Any]) -> None:
        path = build_path(key, self.mount, self.version)
        if self.version == "v2":
            self._authed("POST", path, body={"data": dict(data)}, api="write")
            custom = {"custom_metadata": {MANAGED_BY[0]: MANAGED_BY[1]}}
            self._authed("POST", metadata_path(key, self.mount), body=custom, api="metadata")
        else:
            self._authed("POST", path, body=dict(data), api="write")

    def exists(self, where: PushRef) -> bool:
        current = self._current(where.remote_key, managed=False)
        return current is not None and (not where.prop or where.prop in current)

    def delete(self, where: PushRef) -> None:
        current = self._current(where.remote_key)
        if current is None:
            return
        if where.prop:
            rest = without_property(current, where.prop)
            if rest == current:
                return
            if rest:
                self._write(where.remote_key, rest)
                return
        if self.version == "v2":
            self._authed("DELETE", metadata_path(where.remote_key, self.mount), api="delete")
        else:
            self._authed("DELETE", build_path(where.remote_key, self.mount, self.version), api="delete")

    def validate(self) -> None:
        token = self.token()
        answer = self._call(
            "GET", "auth/token/lookup-self", token=token, namespace=self.auth_namespace, api="lookup"
        )
        if answer is None:
            raise AuthError(f"vault {self.store.ref}: token lookup failed")


def load_client_certificate(context: ssl.SSLContext, chain: bytes, key: bytes, where: str) -> None:
    """Give ``context`` a client certificate held in memory only.

    ``ssl`` loads certificates from paths; anonymous memory files (``memfd``) give it paths without the key
    ever touching a disk or a temp directory.
    """
    import os

    descriptors = []
    try:
        for payload in (chain, key):
            fd = os.memfd_create("lockstep-vault-client", os.MFD_CLOEXEC)
            descriptors.append(fd)
            os.write(fd, payload)
        context.load_cert_chain(f"/proc/self/fd/{descriptors[0]}", f"/proc/self/fd/{descriptors[1]}")
    except (ssl.SSLError, ValueError):
        raise AuthError(f"{where}: the client certificate and key do not load (PEM, matching pair)") from None
    finally:
        for fd in descriptors:
            os.close(fd)


def _vault_errors(payload: bytes) -> str:
    """Vault's ``errors`` list (messages about paths and permissions, never secret values)."""
    try:
        errors = limits.load_json(payload).get("errors") or []
    except (ValueError, AttributeError):
        return ""
    return (": " + "; ".join(str(e) for e in errors)[:300]) if errors else ""
