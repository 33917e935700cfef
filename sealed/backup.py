"""Key backups that never go stale: after every new key, all keys age-encrypted to an S3 bucket.

The plaintext is Bitnami's backup format, a ``v1`` ``List`` of the key Secrets (what ``kubectl get secret
-l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`` saves, without server-set fields), so after
``age -d`` it restores with ``kubectl apply -f`` or ``lockstep keys restore`` and opens SealedSecrets with
``kubeseal --recovery-unseal --recovery-private-key``. Only the age recipients can read it; the plaintext
never touches a disk. Objects are named ``<prefix>/sealed-secrets-keys-<UTC time>.json.age``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sealed.keybackup import age_encrypt, backup_bytes, parse_recipients
from sealed.keys import key_secret_objects

if TYPE_CHECKING:
    from core_sync.kube import KubeClient


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → (bucket, prefix without slashes at the ends)."""
    if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
        raise ValueError(f"--key-backup: {url!r} is not an s3://BUCKET[/PREFIX] URL")
    bucket, _, prefix = url[5:].partition("/")
    return bucket, prefix.strip("/")


class S3KeyBackup:
    """Writes the age-encrypted key backup to ``s3://bucket/prefix`` (endpoint from the AWS environment)."""

    def __init__(self, url: str, recipients: Sequence[str]) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        parse_recipients(recipients)  # a bad recipient stops the operator at start-up, not at the first key
        self.recipients = list(recipients)

    def object_key(self, now: dt.datetime) -> str:
        name = f"sealed-secrets-keys-{now.strftime('%Y%m%dT%H%M%S.%fZ')}.json.age"
        return f"{self.prefix}/{name}" if self.prefix else name

    def write(self, client: KubeClient, namespace: str) -> str:
        """Back up every key Secret in ``namespace`` now; returns the object key written."""
        import boto3

        backup = backup_bytes(key_secret_objects(client, namespace))
        sealed = age_encrypt(backup, self.recipients, armor=False)
        key = self.object_key(dt.datetime.now(dt.UTC))
        boto3.client("s3").put_object(Bucket=self.bucket, Key=key, Body=sealed)
        return key
