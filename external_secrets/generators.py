"""ESO's ``Password`` generator (``generators.external-secrets.io/v1alpha1``), pure apart from the RNG.

Same defaults and rules as ESO (which uses sethvargo/go-password): length 24, digits and symbols 25% of the
length each, lower- and upper-case letters for the rest, no character used twice unless ``allowRepeat``,
then one encoding per value. Values come from :mod:`secrets` and are never logged.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any

GENERATOR_GROUP = "generators.external-secrets.io"
DEFAULT_LENGTH = 24
DEFAULT_SYMBOLS = '~!@#$%^&*()_+`-={}|[]\\:"<>?,./'
LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
ENCODINGS = ("raw", "base64", "base64url", "base32", "hex")
MAX_LENGTH = 4096
SUPPORTED_KINDS = ("Password",)


class GeneratorError(ValueError):
    """The generator spec cannot produce a value; the message names the field, never a value."""


def _count(spec: Mapping[str, Any], field: str, length: int) -> int:
    value = spec.get(field)
    if value is None:
        return int(length * 0.25)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise GeneratorError(f"spec.{field}: must be a whole number ≥ 0")
    return value


def _pick(
    alphabet: str, count: int, allow_repeat: bool, what: str, used: set[str], rng: secrets.SystemRandom
) -> list[str]:
    """``count`` characters of ``alphabet``; without repeats, none already ``used`` (go-password retries)."""
    if not allow_repeat and count > len(alphabet):
        raise GeneratorError(f"number of {what} exceeds available {what} and repeats are not allowed")
    if allow_repeat:
        return [rng.choice(alphabet) for _ in range(count)]
    free = sorted(set(alphabet) - used)
    if count > len(free):
        raise GeneratorError(f"spec: not enough distinct {what} left and repeats are not allowed")
    chosen = rng.sample(free, count)
    used.update(chosen)
    return chosen


def password(spec: Mapping[str, Any], rng: secrets.SystemRandom | None = None) -> str:
    """One password for ``spec`` (go-password's Generate: digits, symbols, letters, shuffled)."""
    rng = rng or secrets.SystemRandom()
    length = spec.get("length") or DEFAULT_LENGTH
    if not isinstance(length, int) or isinstance(length, bool) or length < 0 or length > MAX_LENGTH:
        raise GeneratorError(f"spec.length: must be a whole number from 1 to {MAX_LENGTH}")
    digits, symbols = _count(spec, "digits", length), _count(spec, "symbols", length)
    symbol_chars = spec.get("symbolCharacters")
    symbol_chars = DEFAULT_SYMBOLS if symbol_chars is None else str(symbol_chars)
    if digits + symbols > length:
        raise GeneratorError("spec: number of digits and symbols must be less than total length")
    allow_repeat = bool(spec.get("allowRepeat", False))
    letters = LOWER if spec.get("noUpper") else LOWER + UPPER
    used: set[str] = set()
    chars = (
        _pick(DIGITS, digits, allow_repeat, "digits", used, rng)
        + _pick(symbol_chars, symbols, allow_repeat, "symbols", used, rng)
        + _pick(letters, length - digits - symbols, allow_repeat, "letters", used, rng)
    )
    rng.shuffle(chars)
    return "".join(chars)


def encode(value: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        return base64.b64encode(value)
    if encoding == "base64url":
        return base64.urlsafe_b64encode(value)
    if encoding == "base32":
        return base64.b32encode(value)
    if encoding == "hex":
        return value.hex().encode()
    return value


def generate(kind: str, spec: Mapping[str, Any], rng: secrets.SystemRandom | None = None) -> dict[str, bytes]:
    """The key → value map a generator of ``kind`` produces (ESO's ``Generate``)."""
    if kind not in SUPPORTED_KINDS:
        raise GeneratorError(f"generator kind {kind!r} is not supported ({', '.join(SUPPORTED_KINDS)} is)")
    keys = list(spec.get("secretKeys") or ["password"])
    if any(not isinstance(k, str) or not k for k in keys) or len(set(keys)) != len(keys):
        raise GeneratorError("spec.secretKeys: secretKeys must be non-empty and unique")
    encoding = spec.get("encoding") or "raw"
    if encoding not in ENCODINGS:
        raise GeneratorError(f"spec.encoding: {encoding!r} is not one of {', '.join(ENCODINGS)}")
    return {key: encode(password(spec, rng).encode(), str(encoding)) for key in keys}
