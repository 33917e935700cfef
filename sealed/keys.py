"""The cluster's sealing keys: TLS Secrets in the controller namespace, labelled as Bitnami labels them.

Keeping Bitnami's layout (``sealedsecrets.bitnami.com/sealed-secrets-key: active``, ``tls.key`` holding a
PKCS#1 PEM key) is what lets a cluster move its keys between a Bitnami controller and Lockstep. Keys
labelled anything but ``active`` (e.g. ``compromised``) are ignored, as Bitnami's controller ignores them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sealed.format import b64
from sealed.format.crypto import PrivateKey
from sealed.format.errors import FormatError
from sealed.format.keys import load_private_keys

if TYPE_CHECKING:
    from core_sync.kube import KubeClient

KEY_NAMESPACE = "lockstep-system"
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
ACTIVE = "active"


def read_sealing_keys(
    client: KubeClient, namespace: str = KEY_NAMESPACE
) -> tuple[list[PrivateKey], list[str]]:
    """Every active key pair's private key, newest first, and a note for each key Secret that is unusable."""
    listing = client.get(f"/api/v1/namespaces/{namespace}/secrets", labelSelector=f"{KEY_LABEL}={ACTIVE}")
    items = sorted(
        listing.get("items") or [],
        key=lambda s: str((s.get("metadata") or {}).get("creationTimestamp") or ""),
        reverse=True,  # the newest key most likely seals what is being opened
    )
    keys: list[PrivateKey] = []
    problems: list[str] = []
    for secret in items:
        name = f"{namespace}/{(secret.get('metadata') or {}).get('name', '?')}"
        encoded = (secret.get("data") or {}).get("tls.key")
        if not encoded:
            problems.append(f"Secret {name}: no tls.key")
            continue
        try:
            keys += load_private_keys(b64.decode(encoded), name)
        except ValueError as error:
            reason = error.message if isinstance(error, FormatError) else "tls.key is not base64"
            problems.append(f"Secret {name}: {reason}")
    return keys, problems
