"""The ``external`` render stage, called directly, against the real OpenBao, moto and API server."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
from es_helpers import create, kv_put, make_secret

from core_sync.stages import Stage, StageContext
from external_secrets.stage import ExternalStage


def token_secret(namespace: str, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "bao", "namespace": namespace},
        "data": {"token": base64.b64encode(token.encode()).decode()},
    }


def vault_store(openbao: Any, kind: str = "SecretStore", **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": kind,
        "metadata": {"name": "vault"},
        "spec": {
            "provider": {
                "vault": {
                    "server": openbao.url,
                    "path": "secret",
                    "auth": {"tokenSecretRef": {"name": "bao", "key": "token"}},
                }
            },
            **extra,
        },
    }


def es(name: str, key: str, store_kind: str = "SecretStore", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "vault", "kind": store_kind},
            "data": [{"secretKey": "password", "remoteRef": {"key": key, "property": "password"}}],
            **spec,
        },
    }


def test_is_a_stage_and_controller_mode_passes_through(openbao: Any) -> None:
    stage = ExternalStage()
    assert isinstance(stage, Stage) and stage.name == "external"
    objects = [es("a", "k"), vault_store(openbao)]
    result = stage.render(objects, StageContext(namespace="x"))
    assert result.objects == objects and not result.diagnostics
    explicit = stage.render(
        objects, StageContext(namespace="x", decryption={"external": {"mode": "controller"}})
    )
    assert explicit.objects == objects


def test_render_mode_resolves_with_rendered_store_and_credentials(openbao: Any, namespace: str) -> None:
    kv_put(openbao, f"{namespace}/db", {"password": "pw-1", "user": "app"})
    objects = [
        token_secret(namespace, openbao.token),
        vault_store(openbao),
        es(
            "db",
            f"{namespace}/db",
            target={
                "name": "db-creds",
                "template": {
                    "type": "kubernetes.io/basic-auth",
                    "data": {"password": "{{ .password }}", "url": "postgres://app:{{ .password }}@db"},
                },
            },
        ),
    ]
    result = ExternalStage().render(
        objects, StageContext(namespace=namespace, decryption={"external": {"mode": "render"}})
    )
    assert not result.diagnostics
    kinds = [o["kind"] for o in result.objects]
    assert "ExternalSecret" not in kinds and kinds.count("SecretStore") == 1
    secret = next(o for o in result.objects if o["metadata"]["name"] == "db-creds")
    assert secret["type"] == "kubernetes.io/basic-auth" and secret["metadata"]["namespace"] == namespace
    assert base64.b64decode(secret["data"]["url"]) == b"postgres://app:pw-1@db"


def test_render_mode_uses_cluster_stores_and_reports_errors(
    openbao: Any, moto_server: Any, kube: Any, namespace: str, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    kv_put(openbao, f"{namespace}/ok", {"password": "cluster-pw"})
    make_secret(kube, namespace, "bao", {"token": openbao.token})
    create(kube, vault_store(openbao), namespace)
    sm = boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url=moto_server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    sm.create_secret(Name=f"{namespace}/aws", SecretString=json.dumps({"password": "aws-pw"}))
    make_secret(kube, namespace, "aws", {"id": "testing", "secret": "testing"})
    aws_store = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": {"name": "aws"},
        "spec": {
            "provider": {
                "aws": {
                    "service": "SecretsManager",
                    "region": "us-east-1",
                    "auth": {
                        "secretRef": {
                            "accessKeyIDSecretRef": {"name": "aws", "key": "id"},
                            "secretAccessKeySecretRef": {"name": "aws", "key": "secret"},
                        }
                    },
                }
            }
        },
    }
    aws_es = es("from-aws", f"{namespace}/aws")
    aws_es["spec"]["secretStoreRef"] = {"name": "aws"}
    objects = [
        es("good", f"{namespace}/ok"),
        es("bad", f"{namespace}/absent"),
        aws_store,
        aws_es,
        es(
            "badprop",
            f"{namespace}/ok",
            data=[{"secretKey": "x", "remoteRef": {"key": f"{namespace}/ok", "property": "nope"}}],
        ),
    ]
    context = StageContext(namespace=namespace, client=kube, decryption={"external": {"mode": "render"}})
    from external_secrets.providers import aws_common

    shared_clients = dict(aws_common._CLIENTS)
    result = ExternalStage().render(objects, context)
    assert shared_clients == aws_common._CLIENTS  # nothing (credentials, clients) outlives the call
    names = {o["metadata"]["name"] for o in result.objects if o["kind"] == "Secret"}
    assert names == {"good", "from-aws"}
    good = next(o for o in result.objects if o["metadata"]["name"] == "good")
    assert base64.b64decode(good["data"]["password"]) == b"cluster-pw"
    assert good["metadata"]["labels"] == {"app": "web"}
    errors = {d.object: d.message for d in result.errors}
    assert set(errors) == {f"ExternalSecret/{namespace}/bad", f"ExternalSecret/{namespace}/badprop"}
    assert "not found" in errors[f"ExternalSecret/{namespace}/bad"]
    assert 'cannot find secret data for key: "nope"' in errors[f"ExternalSecret/{namespace}/badprop"]
    assert all("cluster-pw" not in d.message for d in result.diagnostics)


def test_render_mode_respects_cluster_store_conditions(openbao: Any, namespace: str) -> None:
    kv_put(openbao, f"{namespace}/t", {"password": "tenant"})
    store = vault_store(openbao, "ClusterSecretStore", conditions=[{"namespaces": ["someone-else"]}])
    store["spec"]["provider"]["vault"]["auth"]["tokenSecretRef"]["namespace"] = namespace
    objects = [token_secret(namespace, openbao.token), store, es("t", f"{namespace}/t", "ClusterSecretStore")]
    result = ExternalStage().render(
        objects, StageContext(namespace=namespace, decryption={"external": {"mode": "render"}})
    )
    assert len(result.errors) == 1
    assert result.errors[0].object == f"ExternalSecret/{namespace}/t"
    assert (
        f'using cluster store "vault" is not allowed from namespace "{namespace}"' in result.errors[0].message
    )
    assert not [o for o in result.objects if o["kind"] == "Secret" and o["metadata"]["name"] == "t"]
