"""Private sealing keys from the files ``--recovery-private-key`` accepts.

A file is either PEM (one or more ``RSA PRIVATE KEY`` / ``PRIVATE KEY`` blocks) or a key backup: Secrets
(JSON or YAML, several documents) or a ``v1`` ``List`` of them, each holding the PEM key in ``tls.key``,
which is what the controller stores and what ``kubectl get secret -o yaml`` backs up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sealed.format.certs import pem_blocks
from sealed.format.convert import decode_base64, describe
from sealed.format.crypto import PrivateKey, private_key
from sealed.format.documents import load_documents
from sealed.format.errors import FormatError

_KEY_BLOCKS = ("RSA PRIVATE KEY", "PRIVATE KEY")


def load_private_keys(data: bytes, source: str = "") -> list[PrivateKey]:
    """Every RSA private key in ``data``; anything else is refused with the reason."""
    if b"-----BEGIN" in data:
        return _pem_keys(data, source)
    try:
        documents = load_documents(data)
    except FormatError:
        documents = []
    if not documents:
        raise FormatError("not a private key: no PEM PRIVATE KEY block, and not a Secret or List of Secrets")
    keys: list[PrivateKey] = []
    for index, document in enumerate(documents):
        keys += _backup_keys(document, source, f"document {index + 1}")
    return keys


def _pem_keys(data: bytes, source: str) -> list[PrivateKey]:
    blocks = [(kind, der) for kind, der, _ in pem_blocks(data) if kind in _KEY_BLOCKS]
    if not blocks:
        kinds = sorted({kind for kind, _, _ in pem_blocks(data)})
        found = f" (found {', '.join(kinds)})" if kinds else ""
        raise FormatError(f"not a private key: no PEM PRIVATE KEY block{found}")
    keys = []
    for kind, der in blocks:
        try:
            # OpenSSL's RSA key check costs ~0.3 s of CPU per 4096-bit key (primality tests), paid by every
            # command that loads a backup. These are the user's own keys (a backup, a cluster Secret); a
            # malformed one fails to open anything (and the key store checks tls.crt against tls.key).
            key = serialization.load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=True)
        except (ValueError, TypeError) as error:
            raise FormatError(f"not a valid {kind}: {error}") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise FormatError(f"expected an RSA private key, found {type(key).__name__}")
        keys.append(private_key(key, source))
    return keys


def _backup_keys(document: Any, source: str, where: str) -> list[PrivateKey]:
    if isinstance(document, Mapping) and document.get("kind") == "List":
        keys: list[PrivateKey] = []
        for index, item in enumerate(document.get("items") or []):
            keys += _backup_keys(item, source, f"{where} item {index + 1}")
        return keys
    if not (isinstance(document, Mapping) and document.get("kind") == "Secret"):
        raise FormatError(f"not a private key: {describe(document)} is not a key Secret", where)
    metadata = document.get("metadata")
    name = (metadata.get("name") if isinstance(metadata, Mapping) else None) or where
    data = document.get("data") or {}
    if not isinstance(data, Mapping) or "tls.key" not in data:
        raise FormatError("secret must contain a 'tls.key' key", f"Secret {name}")
    pem = decode_base64(data["tls.key"], f"Secret {name}: data.tls.key")
    try:
        return _pem_keys(pem, source)
    except FormatError as error:
        raise error.at(f"Secret {name}: tls.key") from None
