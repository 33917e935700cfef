"""Sealing key Secrets as records: name, state, fingerprint, validity — from the cluster or a backup file.

Pure: takes Secret objects (what ``GET .../secrets`` lists, or the items of a Bitnami backup ``List``) and
returns :class:`KeyEntry` values; the commands and the runbook decide what to do with them. A key's age is
its certificate's NotBefore, the order Bitnami's controller uses by default (``--key-order-priority
CertNotBefore``) to pick the key that seals; the Secret's ``creationTimestamp`` breaks ties.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sealed.format import b64
from sealed.format.certs import SealingCert, parse_certificate_pem
from sealed.format.crypto import PrivateKey
from sealed.format.documents import load_documents
from sealed.format.errors import FormatError
from sealed.format.keys import load_private_keys

KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
ACTIVE = "active"
COMPROMISED = "compromised"
# Server-owned fields dropped from a backup: a restore creates the Secrets afresh.
_SERVER_FIELDS = ("uid", "resourceVersion", "generation", "managedFields", "selfLink", "ownerReferences")


class KeyEntry:
    """One sealing key Secret; ``key`` is None for a record read without the private half."""

    __slots__ = ("cert", "cert_pem", "created", "key", "name", "namespace", "secret", "state")

    def __init__(
        self,
        name: str,
        namespace: str,
        state: str,
        cert: SealingCert,
        cert_pem: bytes,
        key: PrivateKey,
        created: str,
        secret: dict[str, Any],
    ) -> None:
        self.name = name
        self.namespace = namespace
        self.state = state
        self.cert = cert
        self.cert_pem = cert_pem
        self.key = key
        self.created = created
        self.secret = secret

    @property
    def fingerprint(self) -> str:
        return self.key.fingerprint

    def sort_key(self) -> tuple[int, str]:
        return (self.cert.not_before, self.created)


def entry_from_secret(secret: Mapping[str, Any], where: str = "") -> KeyEntry:
    """A key Secret → :class:`KeyEntry`; a Secret without a usable ``tls.key``/``tls.crt`` is refused."""
    metadata = secret.get("metadata") or {}
    name = str(metadata.get("name") or "?")
    namespace = str(metadata.get("namespace") or "")
    label = f"Secret {namespace + '/' if namespace else ''}{name}"
    data = secret.get("data") or {}
    if not isinstance(data, Mapping) or not data.get("tls.key") or not data.get("tls.crt"):
        raise FormatError("not a sealing key: needs data tls.key and tls.crt", where or label)
    try:
        key_pem, cert_pem = b64.decode(str(data["tls.key"])), b64.decode(str(data["tls.crt"]))
    except ValueError:
        raise FormatError("tls.key or tls.crt is not base64", where or label) from None
    try:
        keys = load_private_keys(key_pem, label)
        cert = parse_certificate_pem(cert_pem)
    except FormatError as error:
        raise error.at(where or label) from None
    if len(keys) != 1:
        raise FormatError(f"expected one private key in tls.key, found {len(keys)}", where or label)
    if (cert.modulus, cert.exponent) != _public_numbers(keys[0]):
        raise FormatError("tls.crt does not belong to tls.key", where or label)
    labels = metadata.get("labels") or {}
    state = str(labels.get(KEY_LABEL) or "")
    created = str(metadata.get("creationTimestamp") or "")
    return KeyEntry(name, namespace, state, cert, cert_pem, keys[0], created, dict(secret))


def _public_numbers(key: PrivateKey) -> tuple[int, int]:
    numbers = key.key.public_key().public_numbers()
    return numbers.n, numbers.e


def newest_first(entries: Iterable[KeyEntry]) -> list[KeyEntry]:
    return sorted(entries, key=KeyEntry.sort_key, reverse=True)


def newest_active(entries: Sequence[KeyEntry]) -> KeyEntry | None:
    """The key the controller seals with: the newest ``active`` one."""
    active = [e for e in entries if e.state == ACTIVE]
    return newest_first(active)[0] if active else None


def read_backup(data: bytes, source: str) -> list[KeyEntry]:
    """Every key in a backup (a ``List`` of Secrets, or Secret documents), newest first."""
    try:
        documents = load_documents(data)
    except FormatError as error:
        raise error.at(source) from None
    secrets: list[Mapping[str, Any]] = []
    for document in documents:
        if isinstance(document, Mapping) and document.get("kind") == "List":
            secrets += [i for i in document.get("items") or [] if isinstance(i, Mapping)]
        elif isinstance(document, Mapping) and document.get("kind") == "Secret":
            secrets.append(document)
        else:
            raise FormatError("not a key backup: expected a List of Secrets or Secrets", source)
    if not secrets:
        raise FormatError("the backup holds no key Secrets", source)
    return newest_first(entry_from_secret(s, f"{source}: {_secret_name(s)}") for s in secrets)


def _secret_name(secret: Mapping[str, Any]) -> str:
    return f"Secret {(secret.get('metadata') or {}).get('name') or '?'}"


def backup_list(entries: Sequence[KeyEntry]) -> dict[str, Any]:
    """Bitnami's backup shape: a ``v1`` ``List`` of the key Secrets, without server-owned fields."""
    items = []
    for entry in newest_first(entries):
        secret = dict(entry.secret)
        metadata = {k: v for k, v in (secret.get("metadata") or {}).items() if k not in _SERVER_FIELDS}
        annotations = {
            k: v
            for k, v in (metadata.get("annotations") or {}).items()
            if k != "kubectl.kubernetes.io/last-applied-configuration"
        }
        if annotations:
            metadata["annotations"] = annotations
        else:
            metadata.pop("annotations", None)
        items.append({"apiVersion": "v1", "kind": "Secret", **secret, "metadata": metadata})
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}
