"""The ``ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`` value format and its typed plaintext.

AES-256-GCM with a 32-byte IV and the tag stored apart. The :class:`Cipher` remembers the IV of every value
it decrypted, keyed by (plaintext, AAD), and reuses it when the same value is encrypted again at the same
path, so re-encrypting an edited file changes only the lines that changed (sops' "stash").
"""

from __future__ import annotations

import binascii
import os
import re

from core_sync.primitives import AESGCM
from gocompat.yaml.v3.rules import parse_timestamp
from gocompat.yaml.v3.tree import Comment, GoTime

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from typing import Any


IV_SIZE = 32
_ENC_PREFIX = "ENC[AES256_GCM,data:"


class CipherError(Exception):
    """A value that cannot be decrypted; the message never contains plaintext."""


# U+DC80..U+DCFF carry raw bytes. Passed to re.sub (cached there): rare, so not compiled at import.
_LONE_SURROGATE = "[\ud800-\udc7f\udd00-\udfff]"


def format_bool(value: bool) -> str:
    """sops writes booleans Title-case into MACs and payloads (a Python-era habit)."""
    return "True" if value else "False"


def to_bytes(value: Any) -> bytes:
    """A leaf's byte form: what sops hashes into the MAC and encrypts."""
    if isinstance(value, str):
        try:
            return value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape: Go decodes it to U+FFFD
            return re.sub(_LONE_SURROGATE, "\ufffd", value).encode("utf-8", "surrogateescape")
    if isinstance(value, bool):
        return format_bool(value).encode()
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        from gocompat.strconv import format_f  # typed values are rare: not imported for strings

        return format_f(value).encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, GoTime):
        return value.text.encode()
    if isinstance(value, Comment):
        return value.value.encode("utf-8", "surrogateescape")
    raise CipherError(f"cannot convert a value of type {type(value).__name__} to bytes")


def type_name(value: Any) -> str:
    if isinstance(value, str):
        return "str"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, GoTime):
        return "time"
    if isinstance(value, Comment):
        return "comment"
    raise CipherError(f"value to encrypt has unsupported type {type(value).__name__}")


def _is_empty(value: Any) -> bool:
    if isinstance(value, str | bytes):
        return len(value) == 0
    if isinstance(value, Comment):
        return value.value == ""
    return False


def parse_enc(text: str) -> tuple[str, str, str, str] | None:
    """(data, iv, tag, type) of an ``ENC[…]`` value, or ``None``: exactly the groups that
    ``^ENC\\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\\]`` (``re.S``) finds, text after the ``]``
    ignored as the pattern does. Its greedy groups take the last separator that leaves the later groups
    non-empty, hence the ``rfind`` from the back. By hand: compiling the pattern cost each
    ``lockstep sops decrypt`` more than decrypting the file's values (a property test checks both agree)."""
    if not text.startswith(_ENC_PREFIX):
        return None
    start = len(_ENC_PREFIX)
    close = text.rfind("]", start)
    type_at = text.rfind(",type:", start, close - 1) if close >= 0 else -1
    tag_at = text.rfind(",tag:", start, type_at - 1) if type_at >= 0 else -1
    iv_at = text.rfind(",iv:", start + 1, tag_at - 1) if tag_at >= 0 else -1
    if iv_at < 0:
        return None
    return text[start:iv_at], text[iv_at + 4 : tag_at], text[tag_at + 5 : type_at], text[type_at + 6 : close]


def _b64(field: str, text: str) -> bytes:
    try:
        # binascii rather than base64: same strict decoding, one module less to import at start-up.
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise CipherError(f"error base64-decoding {field}") from None


def _restore(datatype: str, raw: bytes) -> Any:
    text = raw.decode("utf-8", "surrogateescape")
    try:
        if datatype == "str":
            return text
        if datatype == "int":
            from gocompat.strconv import parse_int

            return parse_int(text)
        if datatype == "float":
            return float(text)
        if datatype == "bytes":
            return raw
        if datatype == "bool":
            from gocompat.strconv import parse_bool

            return parse_bool(text)
        if datatype == "time":
            ts = parse_timestamp(text)
            if ts is None:
                raise ValueError(text)
            return GoTime(ts)
        if datatype == "comment":
            return Comment(text)
    except ValueError:
        raise CipherError(f"decrypted value is not a valid {datatype}") from None
    raise CipherError(f"Unknown datatype: {datatype}")


class Cipher:
    """AES-256-GCM over sops values, with the IV stash (see module doc)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise CipherError("the data key must be 32 bytes")
        self.key = key
        self._aes = AESGCM(key)
        self._stash: dict[tuple[str, bytes, str], bytes] = {}

    def decrypt(self, ciphertext: str, aad: str) -> Any:
        """Decrypt one ``ENC[…]`` string; ``""`` stays ``""`` (sops never encrypts empty values)."""
        if ciphertext == "":
            return ""
        fields = parse_enc(ciphertext)
        if fields is None:
            raise CipherError("value does not match sops' ENC[AES256_GCM,...] format")
        data, iv, tag = _b64("data", fields[0]), _b64("iv", fields[1]), _b64("tag", fields[2])
        if len(iv) == 0 or len(tag) != 16:
            raise CipherError("malformed iv or tag")
        try:
            raw = self._aes.decrypt(iv, data + tag, aad.encode("utf-8", "surrogateescape"))
        except Exception as exc:  # InvalidTag (cryptography.exceptions is not imported: it pulls in typing)
            if type(exc).__name__ != "InvalidTag":
                raise CipherError(f"could not decrypt with AES_GCM: {type(exc).__name__}") from None
            raise CipherError(
                "could not decrypt with AES_GCM: message authentication failed "
                "(wrong key, path or tampered value)"
            ) from None
        value = _restore(fields[3], raw)
        if not isinstance(value, bytes):
            self._stash[(type(value).__name__, to_bytes(value), aad)] = iv
        return value

    def adopt_ivs(self, other: Cipher) -> None:
        """Also reuse the IVs ``other`` remembered, when it holds the same data key (a three-way merge
        keeps the ciphertext of values taken from either side); this cipher's own IVs win."""
        if other.key == self.key:
            for found, iv in other._stash.items():
                self._stash.setdefault(found, iv)

    def encrypt(self, value: Any, aad: str) -> str:
        """Encrypt one leaf, reusing the stashed IV if this exact value was decrypted at this path."""
        if _is_empty(value):
            return ""
        datatype = type_name(value)
        plain = to_bytes(value)
        iv = self._stash.get((type(value).__name__, plain, aad)) or os.urandom(IV_SIZE)
        sealed = self._aes.encrypt(iv, plain, aad.encode("utf-8", "surrogateescape"))

        def enc(raw: bytes) -> bytes:
            return binascii.b2a_base64(raw, newline=False)

        return (
            f"ENC[AES256_GCM,data:{enc(sealed[:-16]).decode()},iv:{enc(iv).decode()},"
            f"tag:{enc(sealed[-16:]).decode()},type:{datatype}]"
        )
