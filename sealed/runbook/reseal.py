"""Re-encrypting every SealedSecret in one file to the newest key, keeping the file's bytes otherwise.

Why substitution and not re-rendering: a repo's files are JSON or YAML, one or many documents, written by
kubeseal or by hand, with comments and other objects beside the SealedSecrets. Each sealed value is a long
base64 string of random bytes, so it is unique in the file: replacing each old value's text with the new
value's text changes nothing else — no re-indenting, no reordering, no lost comments. The result is parsed
again and checked item by item; if a value cannot be found verbatim (e.g. a YAML block scalar folded it),
a single-document file is re-rendered in kubeseal's layout for its format, anything else is refused.

Two ciphers do the work: :class:`LocalCipher` (``--offline --keys BACKUP``: open with the backup's keys,
seal with the newest one's public key) and :class:`ControllerCipher` (``/v1/rotate`` and ``/v1/verify``,
so plaintext never leaves the cluster).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sealed.format import b64, crypto
from sealed.format.convert import decode_base64, is_kind, sealed_parts, unseal
from sealed.format.documents import load_documents
from sealed.format.errors import FormatError
from sealed.format.scopes import label_for

UNKNOWN_KEY = "unknown"


class Resealed:
    """One SealedSecret's new values: ``values`` maps each old base64 text to its new one."""

    __slots__ = ("encrypted", "legacy", "old_keys", "sessions", "values")

    def __init__(
        self,
        values: dict[str, str],
        encrypted: dict[str, str],
        legacy: str | None,
        old_keys: set[str],
        sessions: dict[str, bytes] | None = None,
    ) -> None:
        self.values = values
        self.encrypted = encrypted
        self.legacy = legacy
        self.old_keys = old_keys
        self.sessions = sessions or {}  # new value -> its session key (memory only), for verify_written


class Cipher(Protocol):
    def reseal(self, document: Mapping[str, Any]) -> Resealed:
        """New ciphertexts for every item, sealed with the target key."""
        ...

    def verify(self, document: Mapping[str, Any]) -> None:
        """Raise :class:`FormatError` unless the SealedSecret opens (with the target key, where knowable)."""
        ...


class LocalCipher:
    """Opens with any key of a backup, seals with ``target``'s public key (nothing leaves this process)."""

    def __init__(self, keys: Sequence[crypto.PrivateKey], target: crypto.PrivateKey) -> None:
        self.keys = list(keys)
        self.target = target
        self.public = crypto.public_key_of(target.key)

    def open(self, blob: bytes, label: bytes) -> tuple[bytes, str]:
        """Plaintext and the fingerprint of the key that opened it; the last key that worked is tried first
        (files in one repo are mostly sealed by the same key, and each failed try costs an RSA operation)."""
        try:
            plaintext, used = crypto.hybrid_open(self.keys, blob, label)
        except FormatError as error:
            if error.message != crypto.NO_KEY:
                raise
            raise FormatError(f"{crypto.NO_KEY}: none of the {len(self.keys)} key(s) opens it") from None
        if self.keys[0] is not used:
            self.keys.remove(used)
            self.keys.insert(0, used)
        return plaintext, used.fingerprint

    def reseal(self, document: Mapping[str, Any]) -> Resealed:
        metadata, _, encrypted, legacy = sealed_parts(document)
        label = label_for(metadata)
        values: dict[str, str] = {}
        new_encrypted: dict[str, str] = {}
        old_keys: set[str] = set()
        sessions: dict[str, bytes] = {}

        def reseal_one(text: str, where: str) -> str:
            try:
                plaintext, used = self.open(decode_base64(text, where), label)
            except FormatError as error:
                raise error.at(where) from None
            old_keys.add(used)
            session = os.urandom(crypto.SESSION_KEY_BYTES)
            new = values[text] = b64.encode(crypto.hybrid_encrypt(self.public, plaintext, label, session))
            sessions[new] = session
            return new

        for item, text in encrypted.items():
            new_encrypted[item] = reseal_one(text, f"spec.encryptedData.{item}")
        new_legacy = reseal_one(legacy, "spec.data") if legacy is not None else None
        return Resealed(values, new_encrypted, new_legacy, old_keys, sessions)

    def verify(self, document: Mapping[str, Any]) -> None:
        unseal(document, [self.target])  # the target key alone must open every item


class ControllerCipher:
    """``/v1/rotate`` re-seals in the cluster; ``/v1/verify`` checks. The controller does not say which
    key opened an item, so old keys are reported as ``unknown`` here (``keys usage`` knows them)."""

    def __init__(self, controller: Any) -> None:
        self.controller = controller

    def reseal(self, document: Mapping[str, Any]) -> Resealed:
        from sealed.format.serialize import to_compact_json
        from sealed.remote import rotate

        _, _, encrypted, legacy = sealed_parts(document)
        reply = rotate(self.controller, to_compact_json(document).encode())
        try:
            _, _, new_encrypted, new_legacy = sealed_parts(json.loads(reply))
        except ValueError:
            raise FormatError("the controller's /v1/rotate reply is not a SealedSecret") from None
        # The reply may carry more items (spec.template.data rendered into the Secret); never fewer.
        if not set(encrypted) <= set(new_encrypted) or (legacy is None) != (new_legacy is None):
            raise FormatError("the controller's /v1/rotate reply lacks items of the file")
        new_encrypted = {item: new_encrypted[item] for item in encrypted}
        values = {encrypted[item]: new_encrypted[item] for item in encrypted}
        if legacy is not None and new_legacy is not None:
            values[legacy] = new_legacy
        return Resealed(values, new_encrypted, new_legacy, {UNKNOWN_KEY})

    def verify(self, document: Mapping[str, Any]) -> None:
        from sealed.format.serialize import to_compact_json
        from sealed.remote import verify

        name = str((document.get("metadata") or {}).get("name") or "?")
        verify(self.controller, to_compact_json(document).encode(), name)


class FileReseal:
    """The outcome for one file: new bytes (None if nothing to do) and the keys its items were sealed by."""

    __slots__ = ("content", "old_keys", "sealed_secrets", "sessions")

    def __init__(
        self,
        content: bytes | None,
        sealed_secrets: int,
        old_keys: set[str],
        sessions: dict[str, bytes] | None = None,
    ) -> None:
        self.content = content
        self.sealed_secrets = sealed_secrets
        self.old_keys = old_keys
        self.sessions = sessions or {}


def sealed_documents(data: bytes) -> list[Any]:
    return [d for d in load_documents(data) if is_kind(d, "SealedSecret")]


def reseal_file(data: bytes, cipher: Cipher) -> FileReseal:
    """Every SealedSecret in ``data`` re-sealed; other bytes of the file unchanged."""
    documents = load_documents(data)
    sealed = [d for d in documents if is_kind(d, "SealedSecret")]
    results = [cipher.reseal(d) for d in sealed]
    old_keys = {k for r in results for k in r.old_keys}
    text = data.decode()
    new_text = text
    for result in results:
        for old, new in result.values.items():
            new_text = new_text.replace(old, new)
    content = new_text.encode()
    if not _carries(content, results):
        if len(documents) != 1:
            raise FormatError("a sealed value is not written verbatim (folded?); cannot keep the file layout")
        content = _rerender(data, sealed[0], results[0])
    sessions = {new: key for r in results for new, key in r.sessions.items()}
    return FileReseal(content, len(sealed), old_keys, sessions)


def _carries(content: bytes, results: Sequence[Resealed]) -> bool:
    """Does ``content`` hold exactly the new values, SealedSecret by SealedSecret?"""
    try:
        documents = sealed_documents(content)
    except FormatError:
        return False
    if len(documents) != len(results):
        return False
    for document, result in zip(documents, results, strict=True):
        _, _, encrypted, legacy = sealed_parts(document)
        if encrypted != result.encrypted or legacy != result.legacy:
            return False
    return True


def _rerender(data: bytes, document: Mapping[str, Any], result: Resealed) -> bytes:
    from sealed.format.objects import sealed_secret
    from sealed.sealing import render

    updated = sealed_secret(document)
    if result.encrypted:
        updated["spec"]["encryptedData"] = dict(sorted(result.encrypted.items()))
    if result.legacy is not None:
        updated["spec"]["data"] = result.legacy
    output_format = "json" if data.lstrip().startswith(b"{") else "yaml"
    return render(updated, output_format).encode()


def verify_written(data: bytes, sessions: dict[str, bytes]) -> int:
    """Verify a file this process re-sealed, as read back from disk: every value must be one it sealed
    under the target's public key, and must open (AES-GCM, authenticated) with that value's session key.
    Together with the target's certificate matching its private key (checked when the keys are loaded),
    this proves each value opens with the target key, without a private-key operation per value."""
    documents = sealed_documents(data)
    for document in documents:
        _, _, encrypted, legacy = sealed_parts(document)
        name = str((document.get("metadata") or {}).get("name") or "?")
        for item, text in [*encrypted.items(), *([("spec.data", legacy)] if legacy else [])]:
            session = sessions.get(text)
            if session is None:
                raise FormatError(
                    "not the value this run sealed (changed on disk?)", f"SealedSecret {name}: {item}"
                )
            try:
                crypto.open_with_session(session, decode_base64(text, item))
            except ValueError:
                raise FormatError("does not open with the new key", f"SealedSecret {name}: {item}") from None
    return len(documents)


def verify_file(data: bytes, cipher: Cipher) -> int:
    """Verify every SealedSecret in ``data``; returns how many there are."""
    documents = sealed_documents(data)
    for document in documents:
        name = str((document.get("metadata") or {}).get("name") or "?")
        try:
            cipher.verify(document)
        except FormatError as error:
            raise error.at(f"SealedSecret {name}") from None
    return len(documents)
