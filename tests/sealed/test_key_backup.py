"""``--key-backup``: after every new key the operator writes all keys, age-encrypted, to S3 (moto here);
the decrypted backup is a List kubeseal --recovery-unseal accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pyrage
from pyrage import x25519

from core_sync.testing import ControlPlane
from core_sync.testing.services import MotoServer
from sealed.keys import list_keys
from tests.sealed.conftest import ok, run_kubeseal
from tests.sealed.operator import SealedOperator, as_json, wait_for


def s3(moto: MotoServer) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=moto.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def aws_env(moto: MotoServer) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": moto.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def test_every_new_key_is_backed_up_encrypted(
    control_plane: ControlPlane, moto_server: MotoServer, tmp_path: Path, kubeseal_bin: str
) -> None:
    client = control_plane.client
    key_namespace = control_plane.create_namespace("keys-")
    bucket = s3(moto_server)
    bucket.create_bucket(Bucket="key-backups")
    identity = x25519.Identity.generate()
    operator = SealedOperator(
        control_plane,
        tmp_path,
        key_namespace,
        (),
        "--key-backup",
        "s3://key-backups/cluster-a/",
        "--key-backup-age-recipient",
        str(identity.to_public()),
        env=aws_env(moto_server),
    )
    operator.start()
    try:
        listed = wait_for(
            lambda: bucket.list_objects_v2(Bucket="key-backups", Prefix="cluster-a/").get("Contents"),
            what="a backup object",
        )
        (entry,) = listed
        assert entry["Key"].startswith("cluster-a/sealed-secrets-keys-") and entry["Key"].endswith(
            ".json.age"
        )
        blob = bucket.get_object(Bucket="key-backups", Key=entry["Key"])["Body"].read()
        assert b"tls.key" not in blob and b"PRIVATE KEY" not in blob  # encrypted at rest
        backup = json.loads(pyrage.decrypt(blob, [identity]))
        (key,) = list_keys(client, key_namespace)
        assert backup["kind"] == "List" and [i["metadata"]["name"] for i in backup["items"]] == [key.name]
        raw = client.get(f"/api/v1/namespaces/{key_namespace}/secrets/{key.name}")
        assert backup["items"][0]["data"] == raw["data"]

        plain = tmp_path / "backup.json"
        plain.write_text(json.dumps(backup))
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"}}
        secret["stringData"] = {"k": "v"}  # type: ignore[assignment]
        sealed = ok(
            run_kubeseal(kubeseal_bin, "--cert", operator.url + "/v1/cert.pem", stdin=as_json(secret))
        )
        recover = ("--recovery-unseal", "--recovery-private-key", str(plain))
        assert json.loads(ok(run_kubeseal(kubeseal_bin, *recover, stdin=sealed)))["data"] == {"k": "dg=="}
    finally:
        operator.stop()


def test_bad_backup_recipient_stops_the_operator_naming_the_flag(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    args = ("--key-backup", "s3://b/p", "--key-backup-age-recipient", "not-a-recipient")
    operator = SealedOperator(control_plane, tmp_path, "keys-unused", (), *args)
    operator.process.start()
    wait_for(lambda: not operator.process.running(), what="the operator to exit")
    assert "error: --key-backup-age-recipient: not an age X25519 recipient: 'not-a-recipient'" in (
        operator.process.log_tail(5)
    )
