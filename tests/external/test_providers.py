"""Providers against the real OpenBao dev server, moto server and API server."""

from __future__ import annotations

import json
import secrets
from typing import Any

import boto3
import pytest
from es_helpers import bao, kv_put, make_secret, setup_kubernetes_auth

from external_secrets.providers import (
    FetchKey,
    FindQuery,
    NoSecretError,
    ProviderUnavailable,
    open_provider,
)
from external_secrets.providers.vault import build_path
from external_secrets.stores import parse_store


def vault_store(
    openbao: Any, namespace: str, auth: dict[str, Any], *, path: str = "secret", version: str = "v2"
) -> Any:
    return parse_store(
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "SecretStore",
            "metadata": {"name": "vault", "namespace": namespace, "uid": secrets.token_hex(4)},
            "spec": {
                "provider": {"vault": {"server": openbao.url, "path": path, "version": version, "auth": auth}}
            },
        }
    )


def token_auth(kube: Any, namespace: str, openbao: Any) -> dict[str, Any]:
    make_secret(kube, namespace, "bao-token", {"token": openbao.token})
    return {"tokenSecretRef": {"name": "bao-token", "key": "token"}}


def test_build_path_follows_eso_rules() -> None:
    assert build_path("foo", "secret", "v2") == "secret/data/foo"
    assert build_path("secret/foo", "secret", "v2") == "secret/data/foo"
    assert build_path("secret/data/foo", "secret", "v2") == "secret/data/foo"
    assert build_path("app/db", "secret", "v1") == "secret/app/db"
    assert build_path("secret/app/db", None, "v2") == "secret/data/app/db"
    assert build_path("secret/data/app/db", None, "v2") == "secret/data/app/db"
    assert build_path("kv/app", None, "v1") == "kv/app"


def test_vault_kv2_token_versions_and_missing(openbao: Any, kube: Any, access: Any, namespace: str) -> None:
    key = f"providers/{namespace}/db"
    kv_put(openbao, key, {"user": "admin", "pass": "one"})
    kv_put(openbao, key, {"user": "admin", "pass": "two", "nested": {"a": [1, 2]}})
    provider = open_provider(
        vault_store(openbao, namespace, token_auth(kube, namespace, openbao)), namespace, access
    )
    latest = provider.fetch(FetchKey(key))
    assert json.loads(latest.value)["pass"] == "two"
    assert latest.value == b'{"nested":{"a":[1,2]},"pass":"two","user":"admin"}'
    assert json.loads(provider.fetch(FetchKey(key, version="1")).value)["pass"] == "one"
    with pytest.raises(NoSecretError):
        provider.fetch(FetchKey(f"providers/{namespace}/absent"))
    provider.validate()


def test_vault_kv1(openbao: Any, kube: Any, access: Any, namespace: str) -> None:
    mount = f"kv1-{namespace}"
    bao(openbao, "POST", f"sys/mounts/{mount}", {"type": "kv", "options": {"version": "1"}})
    bao(openbao, "POST", f"{mount}/app", {"api": "k-1"})
    store = vault_store(openbao, namespace, token_auth(kube, namespace, openbao), path=mount, version="v1")
    provider = open_provider(store, namespace, access)
    assert provider.fetch(FetchKey("app")).structured == {"api": "k-1"}
    assert set(provider.find(FindQuery(name_regexp="^app$"))) == {"app"}


def test_vault_find_by_name_and_tags(openbao: Any, kube: Any, access: Any, namespace: str) -> None:
    base = f"find-{namespace}"
    kv_put(openbao, f"{base}/one", {"v": "1"})
    kv_put(openbao, f"{base}/sub/two", {"v": "2"})
    kv_put(openbao, f"{base}/other", {"v": "3"})
    bao(openbao, "POST", f"secret/metadata/{base}/other", {"custom_metadata": {"team": "blue"}})
    provider = open_provider(
        vault_store(openbao, namespace, token_auth(kube, namespace, openbao)), namespace, access
    )
    found = provider.find(FindQuery(path=base, name_regexp="(one|two)$"))
    assert sorted(found) == [f"{base}/one", f"{base}/sub/two"]
    tagged = provider.find(FindQuery(path=base, tags=(("team", "blue"),)))
    assert list(tagged) == [f"{base}/other"]


def test_vault_approle(openbao: Any, kube: Any, access: Any, namespace: str) -> None:
    mount = f"approle-{namespace}"
    kv_put(openbao, f"approle/{namespace}", {"k": "v"})
    bao(openbao, "POST", f"sys/auth/{mount}", {"type": "approle"})
    bao(
        openbao,
        "PUT",
        "sys/policies/acl/es-read",
        {"policy": 'path "secret/*" { capabilities = ["read", "list"] }'},
    )
    bao(openbao, "POST", f"auth/{mount}/role/es", {"token_policies": ["es-read"], "token_ttl": "5m"})
    role_id = bao(openbao, "GET", f"auth/{mount}/role/es/role-id")["data"]["role_id"]
    secret_id = bao(openbao, "POST", f"auth/{mount}/role/es/secret-id")["data"]["secret_id"]
    make_secret(kube, namespace, "approle", {"secret-id": secret_id})
    auth = {
        "appRole": {"path": mount, "roleId": role_id, "secretRef": {"name": "approle", "key": "secret-id"}}
    }
    provider = open_provider(vault_store(openbao, namespace, auth), namespace, access)
    assert provider.fetch(FetchKey(f"approle/{namespace}")).structured == {"k": "v"}


def test_vault_kubernetes_auth_reviewed_by_real_apiserver(
    openbao: Any, control_plane: Any, kube: Any, access: Any, namespace: str
) -> None:
    mount = f"k8s-{namespace}"
    setup_kubernetes_auth(
        openbao, kube, control_plane.server, str(control_plane.kubeconfig), namespace, mount
    )
    kv_put(openbao, f"k8s/{namespace}", {"k": "from-k8s-auth"})
    auth = {"kubernetes": {"mountPath": mount, "role": "app", "serviceAccountRef": {"name": "app"}}}
    provider = open_provider(vault_store(openbao, namespace, auth), namespace, access)
    assert provider.fetch(FetchKey(f"k8s/{namespace}")).structured == {"k": "from-k8s-auth"}
    # a service account the role does not bind is refused by the review
    kube.create(
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "intruder"}},
    )
    bad = {"kubernetes": {"mountPath": mount, "role": "app", "serviceAccountRef": {"name": "intruder"}}}
    with pytest.raises(Exception, match=r"permission denied|denied|invalid"):
        open_provider(vault_store(openbao, namespace, bad), namespace, access).fetch(
            FetchKey(f"k8s/{namespace}")
        )


def test_vault_down_is_unavailable(kube: Any, access: Any, namespace: str) -> None:
    class Gone:
        url = "http://127.0.0.1:9"
        token = "x"

    provider = open_provider(
        vault_store(Gone(), namespace, token_auth(kube, namespace, Gone())), namespace, access
    )
    with pytest.raises(ProviderUnavailable):
        provider.fetch(FetchKey("x"))


def aws_store(namespace: str, service: str, kube: Any) -> Any:
    make_secret(kube, namespace, "awssm-secret", {"access-key": "testing", "secret-access-key": "testing"})
    return parse_store(
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "SecretStore",
            "metadata": {"name": "aws", "namespace": namespace, "uid": secrets.token_hex(4)},
            "spec": {
                "provider": {
                    "aws": {
                        "service": service,
                        "region": "eu-west-1",
                        "auth": {
                            "secretRef": {
                                "accessKeyIDSecretRef": {"name": "awssm-secret", "key": "access-key"},
                                "secretAccessKeySecretRef": {
                                    "name": "awssm-secret",
                                    "key": "secret-access-key",
                                },
                            }
                        },
                    }
                }
            },
        }
    )


def test_secrets_manager_versions_batch_and_find(
    aws_env: Any, kube: Any, access: Any, namespace: str
) -> None:
    sm = boto3.client(
        "secretsmanager",
        region_name="eu-west-1",
        endpoint_url=aws_env.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    first = sm.create_secret(
        Name=f"{namespace}/db", SecretString='{"password":"one"}', Tags=[{"Key": "team", "Value": "red"}]
    )
    sm.put_secret_value(SecretId=f"{namespace}/db", SecretString='{"password":"two"}')
    sm.create_secret(Name=f"{namespace}/api", SecretString="plain-token")
    provider = open_provider(aws_store(namespace, "SecretsManager", kube), namespace, access)
    assert provider.fetch(FetchKey(f"{namespace}/db")).value == b'{"password":"two"}'
    assert provider.fetch(FetchKey(f"{namespace}/db", version="AWSPREVIOUS")).value == b'{"password":"one"}'
    assert (
        provider.fetch(FetchKey(f"{namespace}/db", version=f"uuid/{first['VersionId']}")).value
        == b'{"password":"one"}'
    )
    many = provider.fetch_many(
        [FetchKey(f"{namespace}/db"), FetchKey(f"{namespace}/api"), FetchKey(f"{namespace}/no")]
    )
    assert many[FetchKey(f"{namespace}/api")].value == b"plain-token"  # type: ignore[union-attr]
    assert isinstance(many[FetchKey(f"{namespace}/no")], NoSecretError)
    assert set(provider.find(FindQuery(name_regexp=f"^{namespace}/"))) == {
        f"{namespace}/db",
        f"{namespace}/api",
    }
    assert set(provider.find(FindQuery(tags=(("team", "red"),)))) == {f"{namespace}/db"}
    with pytest.raises(NoSecretError):
        provider.fetch(FetchKey(f"{namespace}/missing"))


def test_parameter_store(aws_env: Any, kube: Any, access: Any, namespace: str) -> None:
    ssm = boto3.client(
        "ssm",
        region_name="eu-west-1",
        endpoint_url=aws_env.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ssm.put_parameter(Name=f"/{namespace}/db/password", Value="s3cr3t", Type="SecureString")
    ssm.put_parameter(Name=f"/{namespace}/db/password", Value="rotated", Type="SecureString", Overwrite=True)
    ssm.put_parameter(
        Name=f"/{namespace}/db/user", Value="admin", Type="String", Tags=[{"Key": "team", "Value": "red"}]
    )
    provider = open_provider(aws_store(namespace, "ParameterStore", kube), namespace, access)
    assert provider.fetch(FetchKey(f"/{namespace}/db/password")).value == b"rotated"
    assert provider.fetch(FetchKey(f"/{namespace}/db/password", version="1")).value == b"s3cr3t"
    many = provider.fetch_many([FetchKey(f"/{namespace}/db/user"), FetchKey(f"/{namespace}/db/nope")])
    assert many[FetchKey(f"/{namespace}/db/user")].value == b"admin"  # type: ignore[union-attr]
    assert isinstance(many[FetchKey(f"/{namespace}/db/nope")], NoSecretError)
    found = provider.find(FindQuery(path=f"/{namespace}/db"))
    assert {k: v.value for k, v in found.items()} == {
        f"/{namespace}/db/password": b"rotated",
        f"/{namespace}/db/user": b"admin",
    }
    assert set(provider.find(FindQuery(tags=(("team", "red"),)))) == {f"/{namespace}/db/user"}
