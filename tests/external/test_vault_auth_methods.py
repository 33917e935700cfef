"""Vault/OpenBao ``userPass``, ``jwt`` and ``cert`` auth, each enabled on the real OpenBao dev server.

The jwt test signs nothing itself: the token comes from the real API server's TokenRequest API and OpenBao
checks it with the API server's service-account public key, as a cluster with IRSA-style JWT auth would.
"""

from __future__ import annotations

import base64
import secrets
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from es_helpers import bao, kv_put, make_secret
from test_providers import vault_store

from core_sync.testing.certs import CertificateAuthority
from core_sync.testing.processes import http_ok
from core_sync.testing.services import OpenBao
from external_secrets.providers import AuthError, FetchKey, open_provider
from external_secrets.stores import StoreConfigError, parse_store

READ_POLICY = 'path "secret/*" { capabilities = ["read", "list"] }'


def _policy(openbao: Any) -> None:
    bao(openbao, "PUT", "sys/policies/acl/es-read", {"policy": READ_POLICY})


def test_vault_userpass_login(openbao: Any, kube: Any, access: Any, namespace: str) -> None:
    mount = f"up-{namespace}"
    _policy(openbao)
    bao(openbao, "POST", f"sys/auth/{mount}", {"type": "userpass"})
    password = secrets.token_urlsafe(16)
    bao(openbao, "POST", f"auth/{mount}/users/es-user", {"password": password, "token_policies": ["es-read"]})
    kv_put(openbao, f"userpass/{namespace}", {"k": "from-userpass"})
    make_secret(kube, namespace, "bao-user", {"password": password})
    auth = {
        "userPass": {
            "path": mount,
            "username": "es-user",
            "secretRef": {"name": "bao-user", "key": "password"},
        }
    }
    provider = open_provider(vault_store(openbao, namespace, auth), namespace, access)
    assert provider.fetch(FetchKey(f"userpass/{namespace}")).structured == {"k": "from-userpass"}

    make_secret(kube, namespace, "bao-user-wrong", {"password": "not-" + password})
    wrong = {"userPass": {"path": mount, "username": "es-user", "secretRef": {"name": "bao-user-wrong"}}}
    with pytest.raises(AuthError) as raised:
        open_provider(vault_store(openbao, namespace, wrong), namespace, access).fetch(
            FetchKey(f"userpass/{namespace}")
        )
    assert password not in str(raised.value)


def _enable_jwt(openbao: Any, control_plane: Any, namespace: str, mount: str) -> None:
    _policy(openbao)
    bao(openbao, "POST", f"sys/auth/{mount}", {"type": "jwt"})
    public_key = (control_plane.dir / "certs" / "sa-signer.pub").read_text()
    bao(
        openbao,
        "POST",
        f"auth/{mount}/config",
        {"jwt_validation_pubkeys": [public_key], "bound_issuer": f"{control_plane.server}/"},
    )
    bao(
        openbao,
        "POST",
        f"auth/{mount}/role/app",
        {
            "role_type": "jwt",
            "bound_audiences": ["vault"],
            "user_claim": "sub",
            "bound_subject": f"system:serviceaccount:{namespace}:app",
            "token_policies": ["es-read"],
            "token_ttl": "5m",
        },
    )


def test_vault_jwt_login_with_service_account_token(
    openbao: Any, control_plane: Any, kube: Any, access: Any, namespace: str
) -> None:
    mount = f"jwt-{namespace}"
    _enable_jwt(openbao, control_plane, namespace, mount)
    for name in ("app", "intruder"):
        kube.create(
            f"/api/v1/namespaces/{namespace}/serviceaccounts",
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
        )
    kv_put(openbao, f"jwt/{namespace}", {"k": "from-jwt"})
    auth = {
        "jwt": {
            "path": mount,
            "role": "app",
            "kubernetesServiceAccountToken": {"serviceAccountRef": {"name": "app"}},
        }
    }
    provider = open_provider(vault_store(openbao, namespace, auth), namespace, access)
    assert provider.fetch(FetchKey(f"jwt/{namespace}")).structured == {"k": "from-jwt"}

    # the same JWT kept in a Secret (secretRef) logs in too
    token = access.service_account_token(namespace, "app", ["vault"], 600)
    make_secret(kube, namespace, "jwt", {"jwt": token})
    from_secret = {"jwt": {"path": mount, "role": "app", "secretRef": {"name": "jwt"}}}
    provider = open_provider(vault_store(openbao, namespace, from_secret), namespace, access)
    assert provider.fetch(FetchKey(f"jwt/{namespace}")).structured == {"k": "from-jwt"}

    # a ServiceAccount the role does not bind, or the wrong audience, is refused by OpenBao
    intruder = {
        "jwt": {
            "path": mount,
            "role": "app",
            "kubernetesServiceAccountToken": {"serviceAccountRef": {"name": "intruder"}},
        }
    }
    wrong_audience = {
        "jwt": {
            "path": mount,
            "role": "app",
            "kubernetesServiceAccountToken": {"serviceAccountRef": {"name": "app"}, "audiences": ["sts"]},
        }
    }
    for refused in (intruder, wrong_audience):
        with pytest.raises(AuthError):
            open_provider(vault_store(openbao, namespace, refused), namespace, access).fetch(
                FetchKey(f"jwt/{namespace}")
            )


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({"userPass": {"secretRef": {"name": "s"}}}, "auth.userPass.username is required"),
        ({"userPass": {"username": "u"}}, "auth.userPass.secretRef.name is required"),
        ({"jwt": {"role": "r"}}, "auth.jwt: secretRef or kubernetesServiceAccountToken is required"),
        ({"jwt": {"kubernetesServiceAccountToken": {}}}, "serviceAccountRef.name is required"),
    ],
)
def test_vault_auth_config_errors_name_the_field(auth: dict[str, Any], message: str) -> None:
    store = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": {"name": "vault", "namespace": "ns", "uid": "u"},
        "spec": {"provider": {"vault": {"server": "http://127.0.0.1:1", "auth": auth}}},
    }
    with pytest.raises(StoreConfigError, match=message):
        parse_store(store)


class TlsOpenBao(OpenBao):
    """The OpenBao dev server on TLS (``-dev-tls``): cert auth needs the client certificate on the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.url = f"https://127.0.0.1:{self.port}"
        self.tls_dir = self.dir / "tls"
        self.tls_dir.mkdir(mode=0o700)

    @property
    def ca_pem(self) -> str:
        return (self.tls_dir / "vault-ca.pem").read_text()

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        ca = self.tls_dir / "vault-ca.pem"
        return ssl.create_default_context(cafile=str(ca)) if ca.exists() else None

    def _argv(self) -> list[str]:
        return [*super()._argv(), "-dev-tls", f"-dev-tls-cert-dir={self.tls_dir}"]

    def _ready(self) -> bool:
        context = self.ssl_context
        return context is not None and http_ok(self.url + "/v1/sys/health", context=context)


@pytest.fixture(scope="module")
def tls_openbao() -> Iterator[TlsOpenBao]:
    with TlsOpenBao() as server:
        yield server


def test_vault_cert_auth_over_tls(tls_openbao: Any, kube: Any, access: Any, namespace: str) -> None:
    client_ca = CertificateAuthority("lockstep-vault-client-ca")
    client = client_ca.issue("external-secrets")
    stranger = CertificateAuthority("someone-else").issue("external-secrets")
    _policy(tls_openbao)
    bao(tls_openbao, "POST", "sys/auth/cert", {"type": "cert"})
    bao(
        tls_openbao,
        "POST",
        "auth/cert/certs/es",
        {"certificate": client_ca.cert_pem.decode(), "token_policies": ["es-read"], "token_ttl": "5m"},
    )
    kv_put(tls_openbao, f"cert/{namespace}", {"k": "from-cert"})
    make_secret(kube, namespace, "client-tls", {"tls.crt": client.cert_pem, "tls.key": client.key_pem})
    make_secret(kube, namespace, "stranger-tls", {"tls.crt": stranger.cert_pem, "tls.key": stranger.key_pem})
    ca_bundle = base64.b64encode(tls_openbao.ca_pem.encode()).decode()

    def store(secret: str) -> Any:
        auth = {"cert": {"vaultRole": "es", "clientCert": {"name": secret}, "secretRef": {"name": secret}}}
        obj = vault_store(tls_openbao, namespace, auth)
        return parse_store(
            {
                "apiVersion": "external-secrets.io/v1",
                "kind": "SecretStore",
                "metadata": {"name": obj.name, "namespace": namespace, "uid": secrets.token_hex(4)},
                "spec": {"provider": {"vault": {**obj.config, "caBundle": ca_bundle}}},
            }
        )

    provider = open_provider(store("client-tls"), namespace, access)
    assert provider.fetch(FetchKey(f"cert/{namespace}")).structured == {"k": "from-cert"}
    with pytest.raises(AuthError):
        open_provider(store("stranger-tls"), namespace, access).fetch(FetchKey(f"cert/{namespace}"))
