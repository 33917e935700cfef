"""PushSecret end to end: the real operator (``lockstep operator --controllers external``) pushes Secret keys
to the real OpenBao (KV v1 and v2) and moto (Secrets Manager, Parameter Store); every value is read back
with the provider's own client (hvac, boto3)."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
from pathlib import Path
from typing import Any

import boto3
import hvac
import pytest
import yaml
from es_helpers import (
    bao,
    create,
    events_for,
    make_secret,
    store_object,
    vault_store_object,
    wait_for,
)

from core_sync.kube import ApiError, KubeClient

pytestmark = pytest.mark.integration

PS_BASE = "/apis/external-secrets.io/v1alpha1"
EXAMPLES = Path(__file__).parent / "eso_pushsecret_examples"


def ps_path(namespace: str, name: str = "") -> str:
    return f"{PS_BASE}/namespaces/{namespace}/pushsecrets" + (f"/{name}" if name else "")


def push_secret(
    name: str, data: list[dict[str, Any]], *, store: str = "vault", source: str = "src", **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1alpha1",
        "kind": "PushSecret",
        "metadata": {"name": name},
        "spec": {
            "refreshInterval": "1s",
            "secretStoreRefs": [{"name": store, "kind": "SecretStore"}],
            "selector": {"secret": {"name": source}},
            "data": data,
            **spec,
        },
    }


def entry(secret_key: str, remote_key: str, prop: str = "", **extra: Any) -> dict[str, Any]:
    remote = {"remoteKey": remote_key, **({"property": prop} if prop else {})}
    return {"match": {"secretKey": secret_key, "remoteRef": remote}, **extra}


def ready(kube: KubeClient, namespace: str, name: str) -> dict[str, Any]:
    obj = kube.get(ps_path(namespace, name))
    for condition in (obj.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return dict(condition)
    return {}


def wait_push(
    kube: KubeClient, namespace: str, name: str, status: str = "True", contains: str = "", timeout: float = 30
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        condition = ready(kube, namespace, name)
        if condition.get("status") == status and contains in condition.get("message", ""):
            return condition
        return None

    return wait_for(check, timeout, f"PushSecret {namespace}/{name} Ready={status} {contains}")


def hvac_client(openbao: Any) -> Any:
    return hvac.Client(url=openbao.url, token=openbao.token)


def kv2(openbao: Any, key: str) -> dict[str, Any] | None:
    try:
        answer = hvac_client(openbao).secrets.kv.v2.read_secret_version(
            path=key, mount_point="secret", raise_on_deleted_version=True
        )
    except hvac.exceptions.InvalidPath:
        return None
    return dict(answer["data"]["data"])


def aws(moto: Any, service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=moto.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def vault_store(kube: KubeClient, openbao: Any, namespace: str, name: str = "vault", **vault: Any) -> None:
    make_secret(kube, namespace, "vault-token", {"token": openbao.token})
    store = vault_store_object(openbao, name)
    store["spec"]["provider"]["vault"].update(vault)
    create(kube, store, namespace)


def aws_store(kube: KubeClient, namespace: str, name: str, service: str) -> None:
    make_secret(kube, namespace, "aws", {"id": "testing", "secret": "testing"})
    ref = {
        "accessKeyIDSecretRef": {"name": "aws", "key": "id"},
        "secretAccessKeySecretRef": {"name": "aws", "key": "secret"},
    }
    aws = {"service": service, "region": "us-east-1", "auth": {"secretRef": ref}}
    create(kube, store_object(name, {"aws": aws}), namespace)


def set_source(kube: KubeClient, namespace: str, data: dict[str, str], name: str = "src") -> None:
    with contextlib.suppress(ApiError):
        kube.delete(f"/api/v1/namespaces/{namespace}/secrets/{name}")
    make_secret(kube, namespace, name, data)


def no_values_leak(
    kube: KubeClient, namespace: str, name: str, values: list[str], operator: Any = None
) -> None:
    """Neither the PushSecret (status included), its events nor the operator's log carry a pushed value."""
    text = json.dumps([kube.get(ps_path(namespace, name)), events_for(kube, namespace, name)])
    if operator is not None:
        text += operator.log_tail(100_000)
    for value in values:
        assert value not in text


def test_eso_example_manifests_are_accepted(es_crds: list[str], kube: KubeClient, namespace: str) -> None:
    """ESO's documented PushSecrets, unchanged but for the namespace, pass the real API server's validation
    (server-side dry run) and read back as written: no defaults added (Argo CD drift, ESO #6797)."""
    assert "pushsecrets.external-secrets.io" in es_crds
    examples = sorted(EXAMPLES.glob("*.yaml"))
    assert len(examples) == 3
    for path in examples:
        obj = yaml.safe_load(path.read_text())
        obj["metadata"]["namespace"] = namespace
        answer = kube.create(ps_path(namespace), obj, dryRun="All")
        assert answer["kind"] == "PushSecret", path.name
        assert answer["spec"] == obj["spec"], path.name
    bad = yaml.safe_load((EXAMPLES / "full-pushsecret.yaml").read_text())
    bad["metadata"]["namespace"] = namespace
    bad["spec"]["deletionPolicy"] = "Retain"
    with pytest.raises(ApiError) as error:
        kube.create(ps_path(namespace), bad, dryRun="All")
    assert "deletionPolicy" in str(error.value.message)


def test_vault_kv2_push_update_if_not_exists_and_deletion_policies(
    operator: Any, kube: KubeClient, openbao: Any, namespace: str
) -> None:
    vault_store(kube, openbao, namespace)
    set_source(kube, namespace, {"password": "pw-1", "user": "app"})
    key = f"{namespace}/db"
    create(
        kube,
        push_secret(
            "db",
            [entry("password", key, "password"), entry("user", key, "user")],
            deletionPolicy="Delete",
        ),
        namespace,
    )
    condition = wait_push(kube, namespace, "db")
    assert condition["reason"] == "Synced" and condition["message"] == "PushSecret synced successfully"
    assert kv2(openbao, key) == {"password": "pw-1", "user": "app"}
    obj = kube.get(ps_path(namespace, "db"))
    synced = obj["status"]["syncedPushSecrets"]
    assert set(synced) == {"SecretStore/vault"}
    assert set(synced["SecretStore/vault"]) == {f"{key}/password", f"{key}/user"}
    assert "pushsecret.externalsecrets.io/finalizer" in obj["metadata"]["finalizers"]
    meta = hvac_client(openbao).secrets.kv.v2.read_secret_metadata(path=key, mount_point="secret")
    assert meta["data"]["custom_metadata"] == {"managed-by": "external-secrets"}
    versions = meta["data"]["current_version"]

    # an update of the source Secret propagates; refreshes with nothing new write no new version
    set_source(kube, namespace, {"password": "pw-2", "user": "app"})
    wait_for(lambda: (kv2(openbao, key) or {}).get("password") == "pw-2", 20, "updated value in OpenBao")
    time.sleep(3)
    meta = hvac_client(openbao).secrets.kv.v2.read_secret_metadata(path=key, mount_point="secret")
    assert meta["data"]["current_version"] == versions + 1

    # IfNotExists: a remote secret that exists is left as it is
    other = f"{namespace}/theirs"
    hvac_client(openbao).secrets.kv.v2.create_or_update_secret(
        path=other, secret={"password": "their-own-pw"}, mount_point="secret"
    )
    create(
        kube,
        push_secret("keep", [entry("password", other, "password")], updatePolicy="IfNotExists"),
        namespace,
    )
    condition = wait_push(kube, namespace, "keep")
    assert condition["message"] == "PushSecret synced successfully. Existing secrets in providers unchanged."
    time.sleep(2)
    assert kv2(openbao, other) == {"password": "their-own-pw"}
    # ... and Replace refuses one that no PushSecret wrote
    create(kube, push_secret("steal", [entry("password", other, "password")]), namespace)
    condition = wait_push(
        kube, namespace, "steal", status="False", contains="not managed by external-secrets"
    )
    assert condition["reason"] == "Errored"
    assert kv2(openbao, other) == {"password": "their-own-pw"}

    # deletionPolicy None keeps the remote secret when the PushSecret goes
    kept = f"{namespace}/kept"
    create(kube, push_secret("none", [entry("password", kept, "password")]), namespace)
    wait_push(kube, namespace, "none")
    kube.delete(ps_path(namespace, "none"))
    wait_for(lambda: kube.get_or_none(ps_path(namespace, "none")) is None, 20, "PushSecret none gone")
    assert kv2(openbao, kept) == {"password": "pw-2"}

    # deletionPolicy Delete: an entry removed from spec.data loses its property, then deletion removes all
    patch = {"spec": {"data": [entry("password", key, "password")]}}
    kube.merge_patch(ps_path(namespace, "db"), patch)
    wait_for(lambda: kv2(openbao, key) == {"password": "pw-2"}, 20, "property user removed")
    kube.delete(ps_path(namespace, "db"))
    wait_for(lambda: kube.get_or_none(ps_path(namespace, "db")) is None, 20, "PushSecret db gone")
    assert kv2(openbao, key) is None
    for name in ("keep", "steal"):
        no_values_leak(kube, namespace, name, ["pw-1", "pw-2", "their-own-pw"], operator)


def test_vault_kv1_whole_secret_and_reverse_unicode(
    operator: Any, kube: KubeClient, openbao: Any, namespace: str
) -> None:
    with contextlib.suppress(urllib.error.HTTPError):  # already mounted earlier in the session
        bao(openbao, "POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}})
    vault_store(kube, openbao, namespace, name="kv1", path="kv1", version="v1")
    # keys as an ExternalSecret with conversionStrategy Unicode writes them
    set_source(kube, namespace, {"db_U002e_password": "s3cret", "user": "app"})
    whole, single = f"{namespace}/whole", f"{namespace}/single"
    create(
        kube,
        push_secret(
            "kv1",
            [
                {"match": {"remoteRef": {"remoteKey": whole}}},
                entry("db.password", single, "pw", conversionStrategy="ReverseUnicode"),
            ],
            store="kv1",
            deletionPolicy="Delete",
        ),
        namespace,
    )
    wait_push(kube, namespace, "kv1")
    client = hvac_client(openbao)
    assert client.secrets.kv.v1.read_secret(path=whole, mount_point="kv1")["data"] == {
        "db_U002e_password": "s3cret",
        "user": "app",
    }
    assert client.secrets.kv.v1.read_secret(path=single, mount_point="kv1")["data"] == {"pw": "s3cret"}
    # a key without a property must be a JSON object for Vault: a clear error, nothing written
    bad = f"{namespace}/bad"
    create(kube, push_secret("bad", [entry("user", bad)], store="kv1"), namespace)
    condition = wait_push(kube, namespace, "bad", status="False", contains="must be a JSON object")
    assert "app" not in condition["message"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.secrets.kv.v1.read_secret(path=bad, mount_point="kv1")
    kube.delete(ps_path(namespace, "kv1"))
    wait_for(lambda: kube.get_or_none(ps_path(namespace, "kv1")) is None, 20, "PushSecret kv1 gone")
    for path in (whole, single):
        with pytest.raises(hvac.exceptions.InvalidPath):
            client.secrets.kv.v1.read_secret(path=path, mount_point="kv1")


def test_aws_secrets_manager_and_parameter_store(
    operator: Any, kube: KubeClient, moto_server: Any, namespace: str
) -> None:
    aws_store(kube, namespace, "sm", "SecretsManager")
    aws_store(kube, namespace, "ssm", "ParameterStore")
    set_source(kube, namespace, {"token": "tok-one-111", "tls.crt": "CERT-PEM-X"})
    sm, ssm = aws(moto_server, "secretsmanager"), aws(moto_server, "ssm")
    binary, text, props, param = (f"{namespace}/{n}" for n in ("bin", "text", "props", "param"))
    string_format = {"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata"}
    create(
        kube,
        push_secret(
            "sm",
            [
                entry("token", binary),
                entry("token", text, metadata={**string_format, "spec": {"secretPushFormat": "string"}}),
                entry("token", props, "token"),
                entry("tls.crt", props, "cert"),
            ],
            store="sm",
            deletionPolicy="Delete",
        ),
        namespace,
    )
    create(
        kube,
        push_secret("ssm", [entry("token", f"/{param}")], store="ssm", deletionPolicy="Delete"),
        namespace,
    )
    wait_push(kube, namespace, "sm")
    wait_push(kube, namespace, "ssm")
    assert sm.get_secret_value(SecretId=binary)["SecretBinary"] == b"tok-one-111"  # ESO's default format
    assert sm.get_secret_value(SecretId=text)["SecretString"] == "tok-one-111"
    pushed = json.loads(sm.get_secret_value(SecretId=props)["SecretBinary"])
    assert pushed == {"token": "tok-one-111", "cert": "CERT-PEM-X"}
    assert {"Key": "managed-by", "Value": "external-secrets"} in sm.describe_secret(SecretId=binary)["Tags"]
    assert ssm.get_parameter(Name=f"/{param}")["Parameter"]["Value"] == "tok-one-111"

    set_source(kube, namespace, {"token": "tok-two-222", "tls.crt": "CERT-PEM-X"})
    wait_for(lambda: sm.get_secret_value(SecretId=text)["SecretString"] == "tok-two-222", 20, "SM update")
    wait_for(
        lambda: ssm.get_parameter(Name=f"/{param}")["Parameter"]["Value"] == "tok-two-222", 20, "SSM update"
    )

    # IfNotExists leaves an existing parameter alone
    ssm.put_parameter(Name=f"/{namespace}/theirs", Value="their-param", Type="String")
    create(
        kube,
        push_secret(
            "keep", [entry("token", f"/{namespace}/theirs")], store="ssm", updatePolicy="IfNotExists"
        ),
        namespace,
    )
    wait_push(kube, namespace, "keep")
    time.sleep(2)
    assert ssm.get_parameter(Name=f"/{namespace}/theirs")["Parameter"]["Value"] == "their-param"

    for name in ("sm", "ssm"):
        kube.delete(ps_path(namespace, name))
        wait_for(
            lambda n=name: kube.get_or_none(ps_path(namespace, n)) is None, 20, f"PushSecret {name} gone"
        )
    for secret_id in (binary, text, props):
        with pytest.raises(sm.exceptions.ResourceNotFoundException):
            sm.get_secret_value(SecretId=secret_id)
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=f"/{param}")
    no_values_leak(kube, namespace, "keep", ["tok-one-111", "tok-two-222", "CERT-PEM-X"], operator)


def test_provider_down_is_ready_false_and_retried(
    operator: Any, kube: KubeClient, openbao: Any, namespace: str
) -> None:
    vault_store(kube, openbao, namespace)
    set_source(kube, namespace, {"password": "down-pw"})
    key = f"{namespace}/down"
    create(kube, push_secret("down", [entry("password", key, "password")], refreshInterval="1h"), namespace)
    wait_push(kube, namespace, "down")
    openbao.stop()
    try:
        # a spec change makes it push again, into the stopped server
        kube.merge_patch(ps_path(namespace, "down"), {"metadata": {"labels": {"changed": "yes"}}})
        condition = wait_push(kube, namespace, "down", status="False", contains="cannot reach")
        assert condition["reason"] == "Errored"
        assert "down-pw" not in condition["message"]
        warnings = [e for e in events_for(kube, namespace, "down") if e.get("reason") == "Errored"]
        assert len(warnings) == 1  # one event per distinct failure, not one per retry
    finally:
        openbao.start()
    # retried with backoff: the dev server forgot everything, and gets the value again
    wait_push(kube, namespace, "down", timeout=40)
    assert kv2(openbao, key) == {"password": "down-pw"}


def test_template_generator_label_selected_cluster_store_and_shards(
    operator: Any,
    control_plane: Any,
    kube: KubeClient,
    openbao: Any,
    moto_server: Any,
    namespace: str,
    tmp_path: Path,
) -> None:
    from conftest import running_operator

    from core_sync.sharding import SHARD_LABEL

    make_secret(kube, namespace, "vault-token", {"token": openbao.token})
    cluster = vault_store_object(openbao, f"cluster-{namespace}")
    cluster["kind"] = "ClusterSecretStore"
    cluster["metadata"]["labels"] = {"push-target": namespace}
    auth = cluster["spec"]["provider"]["vault"]["auth"]["tokenSecretRef"]
    auth["namespace"] = namespace
    kube.create("/apis/external-secrets.io/v1/clustersecretstores", cluster)
    selected = [{"kind": "ClusterSecretStore", "labelSelector": {"matchLabels": {"push-target": namespace}}}]
    set_source(kube, namespace, {"user": "app-user", "host": "db.local"})
    key = f"{namespace}/templated"
    create(
        kube,
        push_secret(
            "tpl",
            [entry("dsn", key, "dsn")],
            secretStoreRefs=selected,
            template={"data": {"dsn": "{{ .user | upper }}@{{ .host }}"}},
        ),
        namespace,
    )
    wait_push(kube, namespace, "tpl")
    assert kv2(openbao, key) == {"dsn": "APP-USER@db.local"}
    synced = kube.get(ps_path(namespace, "tpl"))["status"]["syncedPushSecrets"]
    assert list(synced) == [f"ClusterSecretStore/cluster-{namespace}"]

    # a template error names the field and pushes nothing
    create(
        kube,
        push_secret(
            "tpl-bad", [entry("dsn", f"{namespace}/never", "dsn")], template={"data": {"dsn": "{{ .x"}}
        ),
        namespace,
    )
    condition = wait_push(kube, namespace, "tpl-bad", status="False", contains="could not apply template")
    assert "spec.template.data[dsn]" in condition["message"]
    assert kv2(openbao, f"{namespace}/never") is None

    # the Password generator as the source: a fresh 24-character password lands in OpenBao
    kube.create(
        f"/apis/generators.external-secrets.io/v1alpha1/namespaces/{namespace}/passwords",
        {
            "apiVersion": "generators.external-secrets.io/v1alpha1",
            "kind": "Password",
            "metadata": {"name": "pw"},
            "spec": {"length": 24},
        },
    )
    vault_store(kube, openbao, namespace)
    generated = f"{namespace}/generated"
    gen = push_secret("gen", [entry("password", generated, "password")], refreshInterval="1h")
    gen["spec"]["selector"] = {
        "generatorRef": {
            "apiVersion": "generators.external-secrets.io/v1alpha1",
            "kind": "Password",
            "name": "pw",
        }
    }
    create(kube, gen, namespace)
    wait_push(kube, namespace, "gen")
    password = (kv2(openbao, generated) or {}).get("password", "")
    assert len(password) == 24
    no_values_leak(kube, namespace, "gen", [password], operator)

    # shards: the default replica leaves a shard-a PushSecret alone; the --shard a replica pushes it
    sharded = f"{namespace}/sharded"
    theirs = push_secret("theirs", [entry("user", sharded, "user")])
    theirs["metadata"]["labels"] = {SHARD_LABEL: "a"}
    create(kube, theirs, namespace)
    time.sleep(3)
    assert kv2(openbao, sharded) is None
    assert not (kube.get(ps_path(namespace, "theirs")).get("status") or {}).get("conditions")
    with running_operator(control_plane, moto_server, tmp_path / "shard-a.log", "--shard", "a"):
        wait_push(kube, namespace, "theirs")
    assert kv2(openbao, sharded) == {"user": "app-user"}
    with contextlib.suppress(ApiError):
        kube.delete(f"/apis/external-secrets.io/v1/clustersecretstores/cluster-{namespace}")


def test_cluster_store_conditions_refuse_other_namespaces(
    operator: Any, kube: KubeClient, openbao: Any, namespace: str
) -> None:
    """Tenancy: a ClusterSecretStore whose conditions leave this namespace out takes no push from it."""
    make_secret(kube, namespace, "vault-token", {"token": openbao.token})
    store = vault_store_object(openbao, f"fenced-{namespace}")
    store["kind"] = "ClusterSecretStore"
    store["spec"]["provider"]["vault"]["auth"]["tokenSecretRef"]["namespace"] = namespace
    store["spec"]["conditions"] = [{"namespaces": ["somebody-else"]}]
    kube.create("/apis/external-secrets.io/v1/clustersecretstores", store)
    set_source(kube, namespace, {"password": "fenced-pw"})
    key = f"{namespace}/fenced"
    ps = push_secret("fenced", [entry("password", key, "password")])
    ps["spec"]["secretStoreRefs"] = [{"name": f"fenced-{namespace}", "kind": "ClusterSecretStore"}]
    create(kube, ps, namespace)
    condition = wait_push(kube, namespace, "fenced", status="False", contains="not allowed from namespace")
    assert condition["reason"] == "Errored"
    assert kv2(openbao, key) is None
    kube.delete(f"/apis/external-secrets.io/v1/clustersecretstores/fenced-{namespace}")


def test_moto_down_is_ready_false_and_retried(
    operator: Any, kube: KubeClient, moto_server: Any, namespace: str
) -> None:
    aws_store(kube, namespace, "sm", "SecretsManager")
    set_source(kube, namespace, {"token": "moto-down-tok"})
    name = f"{namespace}/moto-down"
    create(
        kube,
        push_secret("aws-down", [entry("token", name, "token")], store="sm", refreshInterval="1h"),
        namespace,
    )
    wait_push(kube, namespace, "aws-down")
    moto_server.stop()
    try:
        kube.merge_patch(ps_path(namespace, "aws-down"), {"metadata": {"labels": {"changed": "yes"}}})
        condition = wait_push(
            kube, namespace, "aws-down", status="False", contains="could not write remote ref"
        )
        assert condition["reason"] == "Errored" and "moto-down-tok" not in condition["message"]
    finally:
        moto_server.start()
    wait_push(kube, namespace, "aws-down", timeout=40)  # moto forgot everything: pushed again
    sm = aws(moto_server, "secretsmanager")
    assert json.loads(sm.get_secret_value(SecretId=name)["SecretBinary"]) == {"token": "moto-down-tok"}
