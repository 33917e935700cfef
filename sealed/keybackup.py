"""Key backups: Bitnami's format (a ``v1`` ``List`` of the key Secrets) and its age-encrypted form.

Pure apart from age: builds and reads backup bytes; the commands fetch, write (mode 0600) and restore.
A plain backup is what ``kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml``
gives (minus server-owned fields), so Bitnami's restore procedure and ``kubeseal --recovery-private-key``
read it. The age form (``--age-recipient``) is the same bytes encrypted with pyrage, ASCII-armoured, so a
backup can live in Git beside the repos it protects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sealed.format.documents import load_documents
from sealed.format.errors import FormatError
from sealed.keys import KeySecret, newest_first, parse_key_secret

AGE_ARMOR = b"-----BEGIN AGE ENCRYPTED FILE-----"
AGE_BINARY = b"age-encryption.org/v1"
# Server-owned fields a restore must not send back.
_SERVER_FIELDS = ("uid", "resourceVersion", "generation", "managedFields", "selfLink", "ownerReferences")
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def backup_list(secrets: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Bitnami's backup shape for the key Secrets as the API returned them."""
    items = []
    for secret in secrets:
        metadata = {k: v for k, v in (secret.get("metadata") or {}).items() if k not in _SERVER_FIELDS}
        annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k != _LAST_APPLIED}
        if annotations:
            metadata["annotations"] = annotations
        else:
            metadata.pop("annotations", None)
        items.append({**secret, "apiVersion": "v1", "kind": "Secret", "metadata": metadata})
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


def backup_bytes(secrets: Sequence[Mapping[str, Any]]) -> bytes:
    """:func:`backup_list` as the JSON bytes every backup writes (``keys backup``, ``--key-backup``)."""
    import json

    return json.dumps(backup_list(secrets), indent=2).encode() + b"\n"


def parse_recipients(recipients: Sequence[str]) -> list[Any]:
    """age X25519 recipients (``age1…``); a bad one raises :class:`FormatError` naming it."""
    import pyrage

    parsed = []
    for text in recipients:
        try:
            parsed.append(pyrage.x25519.Recipient.from_str(text.strip()))
        except pyrage.RecipientError:
            raise FormatError(f"not an age X25519 recipient: {text.strip()!r}") from None
    if not parsed:
        raise FormatError("no age recipient")
    return parsed


def is_age(data: bytes) -> bool:
    head = data.lstrip()[:64]
    return head.startswith(AGE_ARMOR) or head.startswith(AGE_BINARY)


def age_encrypt(data: bytes, recipients: Sequence[str], *, armor: bool = True) -> bytes:
    """``data`` for ``recipients``; ASCII-armoured (for Git) unless ``armor`` is false (S3 objects)."""
    import pyrage

    binary = bytes(pyrage.encrypt(data, parse_recipients(recipients)))
    return _armor(binary) if armor else binary


def age_decrypt(data: bytes, identities_text: Sequence[tuple[str, str]], source: str) -> bytes:
    """``identities_text``: (where it came from, text with ``AGE-SECRET-KEY-`` lines)."""
    import pyrage

    identities = []
    for where, text in identities_text:
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("AGE-SECRET-KEY-"):
                try:
                    identities.append(pyrage.x25519.Identity.from_str(line))
                except pyrage.IdentityError:
                    raise FormatError("not a valid age identity", where) from None
    if not identities:
        raise FormatError(
            "the backup is age-encrypted and no age identity was found "
            "(use --age-identity FILE, SOPS_AGE_KEY, SOPS_AGE_KEY_FILE or sops' default key file)",
            source,
        )
    try:
        return bytes(pyrage.decrypt(_dearmor(data, source), identities))
    except pyrage.DecryptError:
        raise FormatError("no age identity given can decrypt the backup", source) from None


def _armor(binary: bytes) -> bytes:
    import base64

    body = base64.b64encode(binary).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (AGE_ARMOR.decode() + "\n" + "\n".join(lines) + "\n-----END AGE ENCRYPTED FILE-----\n").encode()


def _dearmor(data: bytes, source: str) -> bytes:
    import base64
    import binascii

    text = data.strip()
    if not text.startswith(AGE_ARMOR):
        return data
    lines = text.decode("ascii", "replace").splitlines()
    if not lines[-1].startswith("-----END AGE ENCRYPTED FILE-----"):
        raise FormatError("age armor has no END line (file cut short?)", source)
    try:
        return base64.b64decode("".join(lines[1:-1]), validate=True)
    except binascii.Error:
        raise FormatError("age armor is not valid base64", source) from None


def read_backup_file(path: Path) -> bytes:
    """A backup's bytes (a regular file within the input size limit; a FIFO cannot block the command)."""
    from core_sync.confine import ConfinementError, read_named_file

    try:
        return read_named_file(path)
    except ConfinementError as error:
        raise FormatError(error.reason, str(path)) from None


def read_backup(data: bytes, source: str) -> list[tuple[KeySecret, dict[str, Any]]]:
    """Every key in a plain backup (a ``List`` of Secrets, or Secret documents), newest first, each with
    its Secret; a Secret whose key or certificate is unusable is refused, naming it."""
    try:
        documents = load_documents(data)
    except FormatError as error:
        raise error.at(source) from None
    secrets: list[dict[str, Any]] = []
    for document in documents:
        if isinstance(document, Mapping) and document.get("kind") == "List":
            items = document.get("items") or []
            if not isinstance(items, list):
                raise FormatError("not a key backup: the List's items is not a list", source)
            secrets += [dict(i) for i in items if isinstance(i, Mapping)]
        elif isinstance(document, Mapping) and document.get("kind") == "Secret":
            secrets.append(dict(document))
        else:
            raise FormatError("not a key backup: expected a List of Secrets, or Secrets", source)
    if not secrets:
        raise FormatError("the backup holds no key Secrets", source)
    parsed = {id(s): parse_key_secret(s) for s in secrets}
    for secret in secrets:
        key = parsed[id(secret)]
        if key.problem or key.key is None:
            raise FormatError(key.problem or "no usable tls.key", source)
    order = newest_first(list(parsed.values()))
    by_key = {id(parsed[id(s)]): s for s in secrets}
    return [(key, by_key[id(key)]) for key in order]
