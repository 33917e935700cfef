"""Encodings, digests and JSON/YAML conversion, with Sprig's error behaviour.

``b64dec``/``b32dec`` return Go's error text instead of failing (Sprig silences the error, and ESO's
migration guide documents it); ``fromJson``/``toJson`` silence errors too, their ``must`` forms do not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from typing import Any

import yaml

from gocompat.jsonenc import UnsupportedValue
from gocompat.limits import LimitExceeded
from gocompat.template import gojson
from gocompat.template.errors import FuncError
from gocompat.template.functions.convert import go_bytes, go_string
from gocompat.template.signature import GoFunc

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _illegal_at(text: str, alphabet: str, block: int) -> int:
    """Where decoding fails: the first byte outside the alphabet, else the start of the short last block."""
    for i, ch in enumerate(text):
        if ch not in alphabet and ch != "=":
            return len(go_bytes(text[:i]))
    return len(text) - len(text) % block


def b64dec(text: str) -> str:
    cleaned = text.replace("\r", "").replace("\n", "")
    try:
        return go_string(base64.b64decode(cleaned, validate=True))
    except (binascii.Error, ValueError):
        return f"illegal base64 data at input byte {_illegal_at(cleaned, _B64, 4)}"


def b64enc(text: str) -> str:
    return base64.b64encode(go_bytes(text)).decode()


def b32enc(text: str) -> str:
    return base64.b32encode(go_bytes(text)).decode()


def b32dec(text: str) -> str:
    cleaned = text.replace("\r", "").replace("\n", "")
    try:
        return go_string(base64.b32decode(cleaned))
    except (binascii.Error, ValueError):
        return f"illegal base32 data at input byte {_illegal_at(cleaned, _B32, 8)}"


def _invalid_hex_byte(byte: int) -> str:
    """Go's ``hex.InvalidByteError`` text (``%#U`` of the byte as a rune)."""
    char = chr(byte)
    shown = f" '{char}'" if char.isprintable() else ""
    return f"encoding/hex: invalid byte: U+{byte:04X}{shown}"


def hexdec(text: str) -> str:
    """Sprig/ESO ``hexdec``: ``hex.DecodeString``, returning Go's error text instead of failing."""
    data = go_bytes(text)
    digits = b"0123456789abcdefABCDEF"
    for i in range(1, len(data), 2):
        for byte in (data[i - 1], data[i]):
            if byte not in digits:
                return _invalid_hex_byte(byte)
    if len(data) % 2:
        last = data[-1]
        return _invalid_hex_byte(last) if last not in digits else "encoding/hex: odd length hex string"
    return go_string(bytes.fromhex(data.decode("ascii")))


def bcrypt_hash(text: str) -> str:
    """Sprig ``bcrypt`` at Go's default cost (10); the ``bcrypt`` package is imported only when used."""
    import importlib

    try:
        bcrypt: Any = importlib.import_module("bcrypt")
    except ImportError:
        raise FuncError("bcrypt: the bcrypt package is not installed") from None
    return str(bcrypt.hashpw(go_bytes(text)[:72], bcrypt.gensalt(rounds=10)).decode())


def htpasswd(username: str, password: str, algorithm: str = "bcrypt") -> str:
    """Sprig ``htpasswd``: ``user:{SHA}base64(sha1)`` for ``sha``, else bcrypt; no ``:`` in the name."""
    if ":" in username:
        return f"invalid username: {username}"
    if algorithm == "sha":
        digest = base64.b64encode(hashlib.sha1(go_bytes(password)).digest()).decode()  # noqa: S324 - htpasswd format
        return f"{username}:{{SHA}}{digest}"
    return f"{username}:{bcrypt_hash(password)}"


def _digest(algorithm: str) -> GoFunc:
    return GoFunc(lambda text: hashlib.new(algorithm, go_bytes(text)).hexdigest(), ("str",))


def adler32sum(text: str) -> str:
    return str(zlib.adler32(go_bytes(text)))


def to_json(value: Any) -> str:
    try:
        return gojson.marshal(value)
    except UnsupportedValue:
        return ""


def must_to_json(value: Any) -> str:
    try:
        return gojson.marshal(value)
    except UnsupportedValue as error:
        raise FuncError(str(error)) from None


def to_pretty_json(value: Any) -> str:
    try:
        return gojson.marshal(value, indent="  ")
    except UnsupportedValue:
        return ""


def to_raw_json(value: Any) -> str:
    try:
        return gojson.marshal(value, escape_html=False)
    except UnsupportedValue as error:
        raise FuncError(str(error)) from None


def from_json(text: str) -> Any:
    try:
        return gojson.unmarshal(text)
    except LimitExceeded as error:
        raise FuncError(f"fromJson: {error}") from None
    except ValueError:
        return None


def must_from_json(text: str) -> Any:
    try:
        return gojson.unmarshal(text)
    except LimitExceeded as error:
        raise FuncError(f"mustFromJson: {error}") from None
    except ValueError:
        raise FuncError("invalid JSON input") from None


def to_yaml(value: Any) -> str:
    try:
        return gojson.to_yaml(value)
    except yaml.YAMLError:
        return ""


def from_yaml(text: str) -> Any:
    """Helm/ESO ``fromYaml``: a parse error becomes an ``Error`` key rather than a failure."""
    try:
        value = gojson.from_yaml(text)
    except LimitExceeded as error:
        raise FuncError(f"fromYaml: {error}") from None
    except yaml.YAMLError:
        return {"Error": "error converting YAML to JSON: invalid YAML input"}
    if value is None:
        return {}
    if not isinstance(value, dict):
        kind = (
            "array"
            if isinstance(value, list)
            else "bool"
            if isinstance(value, bool)
            else ("number" if isinstance(value, float) else "string")
        )
        return {
            "Error": "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
            f"{kind} into Go value of type map[string]interface {{}}"
        }
    return value


FUNCS: dict[str, GoFunc] = {
    "b64enc": GoFunc(b64enc, ("str",)),
    "b64dec": GoFunc(b64dec, ("str",)),
    "b32enc": GoFunc(b32enc, ("str",)),
    "b32dec": GoFunc(b32dec, ("str",)),
    "hexdec": GoFunc(hexdec, ("str",)),
    "bcrypt": GoFunc(bcrypt_hash, ("str",)),
    "htpasswd": GoFunc(htpasswd, ("str", "str", "str")),
    "sha1sum": _digest("sha1"),
    "sha256sum": _digest("sha256"),
    "sha512sum": _digest("sha512"),
    "adler32sum": GoFunc(adler32sum, ("str",)),
    "toJson": GoFunc(to_json, ("any",)),
    "mustToJson": GoFunc(must_to_json, ("any",)),
    "toPrettyJson": GoFunc(to_pretty_json, ("any",)),
    "mustToPrettyJson": GoFunc(to_pretty_json, ("any",)),
    "toRawJson": GoFunc(to_raw_json, ("any",)),
    "mustToRawJson": GoFunc(to_raw_json, ("any",)),
    "fromJson": GoFunc(from_json, ("str",)),
    "mustFromJson": GoFunc(must_from_json, ("str",)),
    "toYaml": GoFunc(to_yaml, ("any",)),
    "fromYaml": GoFunc(from_yaml, ("str",)),
}
