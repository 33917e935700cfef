"""Key backups that never go stale: after every new key, all keys age-encrypted to an S3 bucket.

The plaintext is Bitnami's backup format, a ``v1`` ``List`` of the key Secrets (what ``kubectl get secret
-l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`` saves, without server-set fields), so after
``age -d`` it restores with ``kubectl apply -f`` or ``lockstep keys restore`` and opens SealedSecrets with
``kubeseal --recovery-unseal --recovery-private-key``. Only the age recipients can read it; the plaintext
never touches a disk. Objects are named ``<prefix>/sealed-secrets-keys-<UTC time>.json.age``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sealed.keys import key_secret_objects

if TYPE_CHECKING:
    from core_sync.kube import KubeClient

_KEPT_METADATA = ("name", "namespace", "labels", "annotations")


def backup_list(secrets: Sequence[Mapping[str, Any]]) -> bytes:
    """The key Secrets as one ``v1`` ``List`` (JSON), stripped of server-set metadata."""
    items = []
    for secret in sorted(secrets, key=lambda s: str((s.get("metadata") or {}).get("name"))):
        meta = secret.get("metadata") or {}
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {k: meta[k] for k in _KEPT_METADATA if meta.get(k)},
                "type": secret.get("type") or "kubernetes.io/tls",
                "data": dict(secret.get("data") or {}),
            }
        )
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=2).encode() + b"\n"


def parse_recipients(recipients: Sequence[str]) -> list[Any]:
    """age X25519 recipients (``age1…``); a bad one raises ``ValueError`` naming it."""
    from pyrage import x25519

    parsed = []
    for text in recipients:
        try:
            parsed.append(x25519.Recipient.from_str(text.strip()))
        except Exception:  # pyrage raises its own RecipientError
            raise ValueError(f"not an age X25519 recipient: {text.strip()!r}") from None
    if not parsed:
        raise ValueError("no age recipient")
    return parsed


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
        self.recipients = parse_recipients(recipients)

    def object_key(self, now: dt.datetime) -> str:
        name = f"sealed-secrets-keys-{now.strftime('%Y%m%dT%H%M%S.%fZ')}.json.age"
        return f"{self.prefix}/{name}" if self.prefix else name

    def write(self, client: KubeClient, namespace: str) -> str:
        """Back up every key Secret in ``namespace`` now; returns the object key written."""
        import boto3
        import pyrage

        sealed = pyrage.encrypt(backup_list(key_secret_objects(client, namespace)), self.recipients)
        key = self.object_key(dt.datetime.now(dt.UTC))
        boto3.client("s3").put_object(Bucket=self.bucket, Key=key, Body=sealed)
        return key
