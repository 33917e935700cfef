"""AWS ``auth.jwt`` (IRSA style): a ServiceAccount token from the real TokenRequest API, exchanged at STS
(AssumeRoleWithWebIdentity on moto) for the role named in the ServiceAccount's annotation.

moto accepts any web-identity token, so these tests show the exchange and the credentials' use, not
that AWS would trust the cluster's issuer.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import boto3
import pytest

from external_secrets.providers import AuthError, FetchKey, open_provider
from external_secrets.providers.aws_common import IRSA_ROLE_ANNOTATION
from external_secrets.providers.base import CALLS
from external_secrets.stores import StoreConfigError, parse_store

ROLE = "arn:aws:iam::123456789012:role/external-secrets"


def _store(namespace: str, auth: dict[str, Any], **extra: Any) -> Any:
    provider = {"service": "SecretsManager", "region": "eu-west-1", "auth": auth, **extra}
    return parse_store(
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "SecretStore",
            "metadata": {"name": "aws-irsa", "namespace": namespace, "uid": secrets.token_hex(4)},
            "spec": {"provider": {"aws": provider}},
        }
    )


def _service_account(kube: Any, namespace: str, name: str, annotations: dict[str, str]) -> None:
    kube.create(
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "annotations": annotations},
        },
    )


def test_web_identity_then_role_chain(aws_env: Any, kube: Any, access: Any, namespace: str) -> None:
    sm = boto3.client(
        "secretsmanager",
        endpoint_url=aws_env.url,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    sm.create_secret(Name=f"{namespace}/irsa", SecretString=json.dumps({"k": "via-web-identity"}))
    _service_account(kube, namespace, "es-irsa", {IRSA_ROLE_ANNOTATION: ROLE})
    auth = {"jwt": {"serviceAccountRef": {"name": "es-irsa"}}}
    store = _store(namespace, auth)
    before = dict(CALLS.calls)
    provider = open_provider(store, namespace, access)
    assert json.loads(provider.fetch(FetchKey(f"{namespace}/irsa")).value) == {"k": "via-web-identity"}
    exchanges = CALLS.calls.get(f"{store.ref}|sts:AssumeRoleWithWebIdentity", 0)
    assert exchanges - before.get(f"{store.ref}|sts:AssumeRoleWithWebIdentity", 0) == 1

    # ESO's chain: the web identity first, then the store's ``role`` assumed with those credentials
    chained = _store(namespace, auth, role="arn:aws:iam::123456789012:role/reader")
    provider = open_provider(chained, namespace, access)
    assert json.loads(provider.fetch(FetchKey(f"{namespace}/irsa")).value) == {"k": "via-web-identity"}
    assert CALLS.calls.get(f"{chained.ref}|sts:AssumeRole", 0) >= 1


def test_web_identity_needs_the_role_annotation(aws_env: Any, kube: Any, access: Any, namespace: str) -> None:
    _service_account(kube, namespace, "plain", {})
    store = _store(namespace, {"jwt": {"serviceAccountRef": {"name": "plain"}}})
    with pytest.raises(AuthError, match=IRSA_ROLE_ANNOTATION):
        open_provider(store, namespace, access).fetch(FetchKey(f"{namespace}/irsa"))
    with pytest.raises(StoreConfigError, match=r"auth\.jwt\.serviceAccountRef\.name is required"):
        _store(namespace, {"jwt": {}})
