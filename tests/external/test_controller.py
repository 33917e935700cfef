"""The real operator (``lockstep operator --controllers external``) against the real API server, OpenBao
and moto: ESO's documented manifests, failures that keep the Secret, rotation, tenant isolation."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
from pathlib import Path
from typing import Any

import boto3
import pytest
from es_helpers import (
    create,
    create_yaml,
    decoded,
    es_path,
    events_for,
    kv_put,
    make_secret,
    read_secret,
    wait_for,
    wait_ready,
)

pytestmark = pytest.mark.integration

# ESO docs, provider/hashicorp-vault.md (server URL replaced by the test's OpenBao)
VAULT_EXAMPLE = """
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: vault-backend
spec:
  provider:
    vault:
      server: "{{server}}"
      path: "secret"
      version: "v2"
      auth:
        tokenSecretRef:
          name: "vault-token"
          key: "token"
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: vault-example
spec:
  refreshInterval: "15s"
  secretStoreRef:
    name: vault-backend
    kind: SecretStore
  target:
    name: example-sync
  data:
  - secretKey: foobar
    remoteRef:
      key: {{key}}
      property: my-value
  # metadataPolicy to fetch all the labels in JSON format
  - secretKey: tags
    remoteRef:
      metadataPolicy: Fetch
      key: {{key}}
  # metadataPolicy to fetch a specific label (dev) from the source secret
  - secretKey: developer
    remoteRef:
      metadataPolicy: Fetch
      key: {{key}}
      property: dev
"""

# ESO docs, provider/aws-secrets-manager.md
AWS_EXAMPLE = """
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: secretstore-sample
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth:
        secretRef:
          accessKeyIDSecretRef:
            name: awssm-secret
            key: access-key
          secretAccessKeySecretRef:
            name: awssm-secret
            key: secret-access-key
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: example
spec:
  refreshInterval: 1h0m0s
  secretStoreRef:
    name: secretstore-sample
    kind: SecretStore
  target:
    name: secret-to-be-created
    creationPolicy: Owner
  data:
  - secretKey: secret-key-to-be-managed
    remoteRef:
      key: {{prefix}}provider-key
      version: provider-key-version
      property: provider-key-property
  dataFrom:
  - extract:
      key: {{prefix}}remote-key-in-the-provider
"""


def sm_client(moto: Any) -> Any:
    return boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url=moto.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def vault_store_setup(kube: Any, namespace: str, openbao: Any, name: str = "vault-backend") -> None:
    make_secret(kube, namespace, "vault-token", {"token": openbao.token})
    create(
        kube,
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "SecretStore",
            "metadata": {"name": name},
            "spec": {
                "provider": {
                    "vault": {
                        "server": openbao.url,
                        "path": "secret",
                        "version": "v2",
                        "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}},
                    }
                }
            },
        },
        namespace,
    )


def external_secret(
    name: str, data: list[dict[str, Any]], store: str = "vault-backend", interval: str = "2s", **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name},
        "spec": {
            "refreshInterval": interval,
            "secretStoreRef": {"name": store, "kind": "SecretStore"},
            "target": {"name": name},
            "data": data,
            **spec,
        },
    }


def test_eso_vault_example(operator: Any, kube: Any, openbao: Any, namespace: str) -> None:
    key = f"{namespace}/foo"
    kv_put(openbao, key, {"my-value": "s3cr3t", "other": "x"})
    from es_helpers import bao

    bao(openbao, "POST", f"secret/metadata/{key}", {"custom_metadata": {"dev": "alice", "team": "core"}})
    make_secret(kube, namespace, "vault-token", {"token": openbao.token})
    create_yaml(kube, VAULT_EXAMPLE, namespace, server=openbao.url, key=key)
    condition = wait_ready(kube, namespace, "vault-example")
    assert condition["reason"] == "SecretSynced"
    secret = read_secret(kube, namespace, "example-sync")
    assert secret is not None
    data = decoded(secret)
    assert data["foobar"] == b"s3cr3t"
    assert data["developer"] == b"alice"
    assert json.loads(data["tags"])["team"] == "core"
    assert secret["metadata"]["labels"]["reconcile.external-secrets.io/managed"] == "true"
    assert "reconcile.external-secrets.io/data-hash" in secret["metadata"]["annotations"]
    owner = secret["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("ExternalSecret", "vault-example", True)
    es = kube.get(es_path(namespace, "vault-example"))
    assert es["status"]["refreshTime"] and es["status"]["syncedResourceVersion"].startswith("1-")
    store = kube.get(f"/apis/external-secrets.io/v1/namespaces/{namespace}/secretstores/vault-backend")
    assert store["status"]["conditions"][0]["reason"] == "Valid"
    assert any(e["reason"] == "SecretSynced" for e in events_for(kube, namespace, "vault-example"))
    for event in events_for(kube, namespace, "vault-example"):
        assert "s3cr3t" not in event["message"]


def test_eso_aws_example_and_rotation(operator: Any, kube: Any, moto_server: Any, namespace: str) -> None:
    sm = sm_client(moto_server)
    prefix = f"{namespace}/"
    sm.create_secret(
        Name=f"{prefix}provider-key", SecretString=json.dumps({"provider-key-property": "old-stage"})
    )
    sm.put_secret_value(
        SecretId=f"{prefix}provider-key",
        SecretString=json.dumps({"provider-key-property": "v1"}),
        VersionStages=["provider-key-version"],
    )
    sm.create_secret(
        Name=f"{prefix}remote-key-in-the-provider",
        SecretString=json.dumps({"username": "app", "password": "p1", "port": 5432}),
    )
    make_secret(kube, namespace, "awssm-secret", {"access-key": "testing", "secret-access-key": "testing"})
    create_yaml(kube, AWS_EXAMPLE, namespace, prefix=prefix)
    wait_ready(kube, namespace, "example")
    data = decoded(read_secret(kube, namespace, "secret-to-be-created") or {})
    assert data == {"secret-key-to-be-managed": b"v1", "username": b"app", "password": b"p1", "port": b"5432"}

    # rotation: a 2 s refresh interval picks up a new value at the source
    kube.merge_patch(es_path(namespace, "example"), {"spec": {"refreshInterval": "2s"}})
    time.sleep(0.5)
    sm.put_secret_value(
        SecretId=f"{prefix}remote-key-in-the-provider",
        SecretString=json.dumps({"username": "app", "password": "p2", "port": 5432}),
    )
    wait_for(
        lambda: decoded(read_secret(kube, namespace, "secret-to-be-created") or {}).get("password") == b"p2",
        15,
        "rotated password",
    )


def test_provider_down_keeps_secret_and_recovers(
    operator: Any, kube: Any, openbao: Any, namespace: str
) -> None:
    key = f"{namespace}/db"
    kv_put(openbao, key, {"password": "before"})
    vault_store_setup(kube, namespace, openbao)
    create(
        kube,
        external_secret("db", [{"secretKey": "password", "remoteRef": {"key": key, "property": "password"}}]),
        namespace,
    )
    wait_ready(kube, namespace, "db")
    before = read_secret(kube, namespace, "db")
    assert before is not None
    openbao.stop()
    try:
        condition = wait_ready(kube, namespace, "db", status="False", timeout=20)
        assert condition["reason"] == "SecretSyncedError"
        assert "cannot reach" in condition["message"]
        time.sleep(3)  # several failed refreshes
        after = read_secret(kube, namespace, "db")
        assert after is not None
        assert after["data"] == before["data"]
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    finally:
        openbao.start()
    kv_put(openbao, key, {"password": "after"})  # the dev server forgot everything
    wait_ready(kube, namespace, "db", timeout=30)
    wait_for(
        lambda: decoded(read_secret(kube, namespace, "db") or {}).get("password") == b"after",
        20,
        "recovered value",
    )


def test_missing_key_bad_property_template_error_keep_secret(
    operator: Any, kube: Any, openbao: Any, namespace: str
) -> None:
    key = f"{namespace}/app"
    kv_put(openbao, key, {"user": "u1", "nested": {"level": "deep"}})
    vault_store_setup(kube, namespace, openbao)
    cases = {
        "missing": [{"secretKey": "v", "remoteRef": {"key": f"{namespace}/absent"}}],
        "badprop": [{"secretKey": "v", "remoteRef": {"key": key, "property": "nested.nope"}}],
        "tpl": [{"secretKey": "v", "remoteRef": {"key": key, "property": "nested.level"}}],
    }
    for name, data in cases.items():
        make_secret(kube, namespace, name, {"keep": "me"})  # a pre-existing Secret that must survive
        extra: dict[str, Any] = {}
        if name == "tpl":
            extra = {"target": {"name": name, "template": {"data": {"out": "{{ .missing_key }}"}}}}
        create(kube, external_secret(name, data, **extra), namespace)
    wait_ready(kube, namespace, "missing", status="False", contains="not found")
    wait_ready(
        kube, namespace, "badprop", status="False", contains='cannot find secret data for key: "nested.nope"'
    )
    condition = wait_ready(kube, namespace, "tpl", status="False", contains="template")
    assert "deep" not in condition["message"]
    for name in cases:
        assert decoded(read_secret(kube, namespace, name) or {}) == {"keep": b"me"}


def test_store_not_ready_fails_fast(operator: Any, kube: Any, openbao: Any, namespace: str) -> None:
    make_secret(kube, namespace, "vault-token", {"token": "not-a-valid-token"})
    create(
        kube,
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "SecretStore",
            "metadata": {"name": "broken"},
            "spec": {
                "provider": {
                    "vault": {
                        "server": openbao.url,
                        "path": "secret",
                        "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}},
                    }
                }
            },
        },
        namespace,
    )
    create(
        kube,
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "SecretStore",
            "metadata": {"name": "invalid"},
            "spec": {"provider": {"vault": {"server": openbao.url, "path": "secret", "auth": {}}}},
        },
        namespace,
    )
    create(
        kube,
        external_secret("es", [{"secretKey": "v", "remoteRef": {"key": "x"}}], store="broken"),
        namespace,
    )
    create(
        kube,
        external_secret("es2", [{"secretKey": "v", "remoteRef": {"key": "x"}}], store="invalid"),
        namespace,
    )
    wait_ready(kube, namespace, "es", status="False", contains='SecretStore "broken" is not ready')
    wait_ready(kube, namespace, "es2", status="False", contains='SecretStore "invalid" is not ready')
    store = kube.get(f"/apis/external-secrets.io/v1/namespaces/{namespace}/secretstores/broken")
    assert store["status"]["conditions"][0]["reason"] == "ValidationFailed"
    invalid = kube.get(f"/apis/external-secrets.io/v1/namespaces/{namespace}/secretstores/invalid")
    assert invalid["status"]["conditions"][0]["reason"] == "InvalidStoreConfiguration"
    assert read_secret(kube, namespace, "es") is None
    # fixing the credentials makes the store Ready and its ExternalSecret follows
    kv_put(openbao, f"{namespace}/x", {"a": "b"})
    make_secret(kube, namespace, "vault-token", {"token": openbao.token})
    kube.merge_patch(
        f"/apis/external-secrets.io/v1/namespaces/{namespace}/secretstores/broken",
        {"spec": {"refreshInterval": 1}},
    )
    kube.merge_patch(
        es_path(namespace, "es"),
        {"spec": {"data": [{"secretKey": "v", "remoteRef": {"key": f"{namespace}/x", "property": "a"}}]}},
    )
    wait_ready(kube, namespace, "es", timeout=30)
    assert decoded(read_secret(kube, namespace, "es") or {}) == {"v": b"b"}


def test_cluster_store_conditions_refuse_other_namespaces(
    operator: Any, control_plane: Any, kube: Any, openbao: Any, namespace: str
) -> None:
    allowed = control_plane.create_namespace("t-allowed-")
    kv_put(openbao, f"{namespace}/shared", {"v": "tenant-data"})
    make_secret(kube, namespace, "vault-token", {"token": openbao.token})
    css_name = f"css-{namespace}"
    create(
        kube,
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ClusterSecretStore",
            "metadata": {"name": css_name},
            "spec": {
                "provider": {
                    "vault": {
                        "server": openbao.url,
                        "path": "secret",
                        "auth": {
                            "tokenSecretRef": {"name": "vault-token", "key": "token", "namespace": namespace}
                        },
                    }
                },
                "conditions": [{"namespaces": [allowed]}],
            },
        },
    )
    try:
        for ns in (allowed, namespace):
            es = external_secret(
                "tenant", [{"secretKey": "v", "remoteRef": {"key": f"{namespace}/shared", "property": "v"}}]
            )
            es["spec"]["secretStoreRef"] = {"name": css_name, "kind": "ClusterSecretStore"}
            create(kube, es, ns)
        wait_ready(kube, allowed, "tenant")
        assert decoded(read_secret(kube, allowed, "tenant") or {}) == {"v": b"tenant-data"}
        wait_ready(kube, namespace, "tenant", status="False", contains="denied by spec.condition")
        assert read_secret(kube, namespace, "tenant") is None
    finally:
        kube.delete(f"/apis/external-secrets.io/v1/clustersecretstores/{css_name}")


def test_creation_policies_drift_and_deletion(operator: Any, kube: Any, openbao: Any, namespace: str) -> None:
    key = f"{namespace}/pol"
    kv_put(openbao, key, {"v": "one"})
    vault_store_setup(kube, namespace, openbao)
    ref = [{"secretKey": "added", "remoteRef": {"key": key, "property": "v"}}]
    make_secret(kube, namespace, "merge", {"keep": "me"})

    def es(name: str, interval: str = "1h", **target: Any) -> dict[str, Any]:
        obj = external_secret(name, ref, interval=interval)
        obj["spec"]["target"].update(target)
        return obj

    create(kube, es("merge", creationPolicy="Merge"), namespace)
    create(kube, es("merge-missing", creationPolicy="Merge"), namespace)
    create(kube, es("orphan", creationPolicy="Orphan"), namespace)
    create(kube, es("none", creationPolicy="None"), namespace)
    create(kube, es("owned", deletionPolicy="Delete"), namespace)
    once = es("once")
    once["spec"]["refreshPolicy"] = "CreatedOnce"
    once["spec"]["refreshInterval"] = "1s"
    create(kube, once, namespace)
    for name in ("merge", "orphan", "none", "owned", "once"):
        wait_ready(kube, namespace, name)
    wait_ready(kube, namespace, "merge-missing", reason="SecretMissing")
    assert decoded(read_secret(kube, namespace, "merge") or {}) == {"keep": b"me", "added": b"one"}
    assert read_secret(kube, namespace, "merge-missing") is None
    assert read_secret(kube, namespace, "none") is None
    assert "ownerReferences" not in (read_secret(kube, namespace, "orphan") or {})["metadata"]

    # drift repair: editing an owned Secret is undone although the refresh interval is 1h
    kube.merge_patch(f"/api/v1/namespaces/{namespace}/secrets/owned", {"stringData": {"added": "tampered"}})
    wait_for(
        lambda: decoded(read_secret(kube, namespace, "owned") or {}).get("added") == b"one",
        15,
        "drift repair",
    )

    # CreatedOnce: a new value at the source and a metadata change do not refresh it
    kv_put(openbao, key, {"v": "two"})
    kube.merge_patch(es_path(namespace, "once"), {"metadata": {"annotations": {"force-sync": "1"}}})
    time.sleep(3)
    assert decoded(read_secret(kube, namespace, "once") or {}) == {"added": b"one"}

    # a new target.name: the Secret created under the old name is deleted (created-by label)
    kube.merge_patch(es_path(namespace, "owned"), {"spec": {"target": {"name": "owned-2"}}})
    wait_for(lambda: read_secret(kube, namespace, "owned-2") is not None, 15, "Secret under the new name")
    wait_for(lambda: read_secret(kube, namespace, "owned") is None, 15, "old Secret deleted")

    # deletionPolicy=Delete: deleting the ExternalSecret deletes the Secret it owns (via its finalizer)
    owned = kube.get(es_path(namespace, "owned"))
    assert "externalsecrets.external-secrets.io/externalsecret-cleanup" in owned["metadata"]["finalizers"]
    kube.delete(es_path(namespace, "owned"))
    wait_for(lambda: read_secret(kube, namespace, "owned-2") is None, 15, "owned Secret deleted")


def test_parameter_store_find_and_kubernetes_auth(
    operator: Any, control_plane: Any, kube: Any, openbao: Any, moto_server: Any, namespace: str
) -> None:
    ssm = boto3.client(
        "ssm",
        region_name="eu-west-1",
        endpoint_url=moto_server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ssm.put_parameter(Name=f"/{namespace}/app/user", Value="svc", Type="String")
    ssm.put_parameter(Name=f"/{namespace}/app/password", Value="pw", Type="SecureString")
    make_secret(kube, namespace, "aws", {"id": "testing", "secret": "testing"})
    create(
        kube,
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "SecretStore",
            "metadata": {"name": "ssm"},
            "spec": {
                "provider": {
                    "aws": {
                        "service": "ParameterStore",
                        "region": "eu-west-1",
                        "auth": {
                            "secretRef": {
                                "accessKeyIDSecretRef": {"name": "aws", "key": "id"},
                                "secretAccessKeySecretRef": {"name": "aws", "key": "secret"},
                            }
                        },
                    }
                }
            },
        },
        namespace,
    )
    create(
        kube,
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": "params"},
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"name": "ssm"},
                "target": {"name": "params"},
                "dataFrom": [
                    {
                        "find": {"path": f"/{namespace}/app"},
                        "rewrite": [{"regexp": {"source": ".*/app/(.*)", "target": "APP_$1"}}],
                    }
                ],
            },
        },
        namespace,
    )

    from es_helpers import setup_kubernetes_auth

    mount = f"k8s-op-{namespace}"
    setup_kubernetes_auth(
        openbao, kube, control_plane.server, str(control_plane.kubeconfig), namespace, mount
    )
    kv_put(openbao, f"{namespace}/k8s", {"token": "via-sa"})
    create(
        kube,
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "SecretStore",
            "metadata": {"name": "vault-k8s"},
            "spec": {
                "provider": {
                    "vault": {
                        "server": openbao.url,
                        "path": "secret",
                        "version": "v2",
                        "auth": {
                            "kubernetes": {
                                "mountPath": mount,
                                "role": "app",
                                "serviceAccountRef": {"name": "app"},
                            }
                        },
                    }
                }
            },
        },
        namespace,
    )
    create(
        kube,
        external_secret(
            "k8s",
            [{"secretKey": "t", "remoteRef": {"key": f"{namespace}/k8s", "property": "token"}}],
            store="vault-k8s",
        ),
        namespace,
    )
    wait_ready(kube, namespace, "params")
    assert decoded(read_secret(kube, namespace, "params") or {}) == {
        "APP_user": b"svc",
        "APP_password": b"pw",
    }
    wait_ready(kube, namespace, "k8s")
    assert decoded(read_secret(kube, namespace, "k8s") or {}) == {"t": b"via-sa"}


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "external-secrets"
FRIENDS = {
    "name": {"first": "Tom", "last": "Anderson"},
    "friends": [{"first": "Dale", "last": "Murphy"}, {"first": "Roger", "last": "Craig"}],
}


def test_eso_example_files_apply_unchanged(
    operator: Any, kube: Any, openbao: Any, moto_server: Any, namespace: str
) -> None:
    """examples/external-secrets/{vault-kv-v2,aws-secrets-manager,aws-parameter-store}.yaml as written
    (only the Vault server URL points at the test's OpenBao), including the AWS ``role`` (STS AssumeRole)."""
    from es_helpers import bao

    with contextlib.suppress(urllib.error.HTTPError):  # the docs' token is "root"; it may exist already
        bao(openbao, "POST", "auth/token/create", {"id": "root", "policies": ["root"], "no_parent": True})
    kv_put(openbao, "foo", {"my-value": "from-vault"})
    bao(openbao, "POST", "secret/metadata/foo", {"custom_metadata": {"dev": "vault-dev"}})
    session = {
        "region_name": "eu-central-1",
        "endpoint_url": moto_server.url,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    sm, ssm = boto3.client("secretsmanager", **session), boto3.client("ssm", **session)
    for name, value, tags in (
        ("friendslist", json.dumps(FRIENDS), []),
        ("database-credentials", '{"u":"x"}', [{"Key": "dev", "Value": "seb"}]),
    ):
        try:
            sm.create_secret(Name=name, SecretString=value, Tags=tags)
        except sm.exceptions.ResourceExistsException:
            sm.put_secret_value(SecretId=name, SecretString=value)
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    ssm.add_tags_to_resource(
        ResourceType="Parameter", ResourceId="database-credentials", Tags=[{"Key": "dev", "Value": "seb"}]
    )
    make_secret(kube, namespace, "awssm-secret", {"access-key": "testing", "secret-access-key": "testing"})
    vault_text = (
        (EXAMPLES / "vault-kv-v2.yaml").read_text().replace("http://my.vault.server:8200", openbao.url)
    )
    create_yaml(kube, vault_text, namespace)
    create_yaml(kube, (EXAMPLES / "aws-secrets-manager.yaml").read_text(), namespace)
    create_yaml(kube, (EXAMPLES / "aws-parameter-store.yaml").read_text(), namespace)
    for name in ("vault-example", "example", "extract-data"):
        wait_ready(kube, namespace, name)
    vault = decoded(read_secret(kube, namespace, "example-sync") or {})
    assert vault["foobar"] == b"from-vault" and vault["developer"] == b"vault-dev"
    assert json.loads(vault["tags"])["dev"] == "vault-dev"
    for target in ("friends", "extract-data"):
        data = decoded(read_secret(kube, namespace, target) or {})
        assert data["my_name"] == b"Tom" and data["first_friend"] == b"Roger"
        assert data["developer"] == b"seb" and json.loads(data["tags"]) == {"dev": "seb"}


def test_moto_down_keeps_secret_and_recovers(
    operator: Any, kube: Any, moto_server: Any, namespace: str
) -> None:
    sm = sm_client(moto_server)
    name = f"{namespace}/down"
    sm.create_secret(Name=name, SecretString=json.dumps({"token": "t1"}))
    make_secret(kube, namespace, "awssm-secret", {"access-key": "testing", "secret-access-key": "testing"})
    store = AWS_EXAMPLE.split("---")[0]
    create_yaml(kube, store, namespace)
    create(
        kube,
        external_secret(
            "aws-down",
            [{"secretKey": "token", "remoteRef": {"key": name, "property": "token"}}],
            store="secretstore-sample",
        ),
        namespace,
    )
    wait_ready(kube, namespace, "aws-down")
    before = read_secret(kube, namespace, "aws-down")
    assert before is not None
    moto_server.stop()
    try:
        condition = wait_ready(kube, namespace, "aws-down", status="False", timeout=30)
        assert condition["reason"] == "SecretSyncedError"
        time.sleep(2)
        after = read_secret(kube, namespace, "aws-down")
        assert (
            after is not None
            and after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
        )
    finally:
        moto_server.start()
    sm_client(moto_server).create_secret(
        Name=name, SecretString=json.dumps({"token": "t2"})
    )  # moto forgot it
    wait_ready(kube, namespace, "aws-down", timeout=30)
    wait_for(
        lambda: decoded(read_secret(kube, namespace, "aws-down") or {}).get("token") == b"t2", 20, "recovery"
    )


def test_eso_vault_auth_example_files(
    operator: Any, control_plane: Any, kube: Any, openbao: Any, namespace: str
) -> None:
    """vault-approle-store.yaml and vault-kubernetes-store.yaml as written (server URL aside): AppRole with
    the docs' fixed RoleID, Kubernetes auth reviewing the ServiceAccount token against the real API server."""
    from es_helpers import bao, setup_kubernetes_auth

    kv_put(openbao, f"{namespace}/auth", {"v": "via-store"})
    with contextlib.suppress(urllib.error.HTTPError):  # already enabled earlier in the session
        bao(openbao, "POST", "sys/auth/approle", {"type": "approle"})
    bao(openbao, "PUT", "sys/policies/acl/es-read", {"policy": 'path "secret/*" { capabilities = ["read"] }'})
    bao(openbao, "POST", "auth/approle/role/docs", {"token_policies": ["es-read"], "token_ttl": "5m"})
    bao(
        openbao, "POST", "auth/approle/role/docs/role-id", {"role_id": "db02de05-fa39-4855-059b-67221c5c2f63"}
    )
    secret_id = bao(openbao, "POST", "auth/approle/role/docs/secret-id")["data"]["secret_id"]
    make_secret(kube, namespace, "my-secret", {"secret-id": secret_id, "vault": "unused-jwt"})
    setup_kubernetes_auth(
        openbao,
        kube,
        control_plane.server,
        str(control_plane.kubeconfig),
        namespace,
        "kubernetes",
        sa="my-sa",
    )
    bao(
        openbao,
        "POST",
        "auth/kubernetes/role/demo",
        {
            "bound_service_account_names": ["my-sa"],
            "bound_service_account_namespaces": [namespace],
            "token_policies": ["es-read"],
            "token_ttl": "10m",
        },
    )
    for file in ("vault-approle-store.yaml", "vault-kubernetes-store.yaml"):
        text = (EXAMPLES / file).read_text().replace("https://vault.acme.org", openbao.url)
        create_yaml(kube, text, namespace)
    for store in ("vault-backend-approle", "vault-backend-kubernetes"):
        create(
            kube,
            external_secret(
                store,
                [{"secretKey": "v", "remoteRef": {"key": f"{namespace}/auth", "property": "v"}}],
                store=store,
            ),
            namespace,
        )
    for store in ("vault-backend-approle", "vault-backend-kubernetes"):
        wait_ready(kube, namespace, store)
        assert decoded(read_secret(kube, namespace, store) or {}) == {"v": b"via-store"}
