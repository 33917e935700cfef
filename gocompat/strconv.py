"""Go's ``strconv`` number texts: ``FormatFloat`` ('f', 'g', and ``encoding/json``'s float form),
``ParseBool`` and ``Atoi``.

Why one home: sops' bytes (MAC, ENC payloads, YAML/JSON output), go-yaml's float text and Go templates'
``%v`` all print float64 this way, and a difference of one character is a spurious change or a bad MAC.
Python's ``repr`` yields the same shortest round-trip digits as Go's ``strconv`` with precision -1; only the
layout around them differs.
"""

from __future__ import annotations

import math

from gocompat.lazy_regex import LazyRegex

_INT = LazyRegex(r"[+-]?[0-9]+\Z")


def _digits(value: float) -> tuple[str, int]:
    """Shortest decimal digits of ``|value|`` and the decimal-point position (Go's ``digs.d``/``digs.dp``)."""
    text = repr(abs(value))
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    point = len(whole) + (int(exp) if exp else 0)
    point -= len(whole + frac) - len((whole + frac).lstrip("0"))
    digits = digits.rstrip("0")
    return digits, point


def _special(value: float) -> str | None:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def format_f(value: float) -> str:
    """``strconv.FormatFloat(v, 'f', -1, 64)``: how sops writes floats into the MAC and ENC payloads."""
    special = _special(value)
    if special:
        return special
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    digits, point = _digits(value)
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def format_e(value: float, min_exp_digits: int = 2) -> str:
    """``strconv.FormatFloat(v, 'e', -1, 64)`` (finite ``v``)."""
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0e+00"
    digits, point = _digits(value)
    exp = point - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):0{min_exp_digits}d}"


def format_g(value: float) -> str:
    """``strconv.FormatFloat(v, 'g', -1, 64)``: go-yaml's float text (1e+20, 1.5, 1), ``%v`` in templates."""
    special = _special(value)
    if special:
        return special
    if value == 0:
        return format_f(value)
    _, point = _digits(value)
    exp = point - 1
    if exp < -4 or exp >= 21 or exp >= 6:
        return format_e(value)
    return format_f(value)


def format_json_float(value: float) -> str:
    """``encoding/json``'s float text: 'f' in [1e-6, 1e21), else 'e' with a short exponent."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"json: unsupported value: {format_f(value)}")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = format_e(value)
        mant, _, exp = text.partition("e")
        return f"{mant}e{exp[0]}{int(exp[1:])}" if exp[0] == "-" else f"{mant}e+{int(exp[1:]):02d}"
    return format_f(value)


def parse_bool(text: str) -> bool:
    """``strconv.ParseBool``."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f"invalid boolean {text!r}")


def parse_int(text: str) -> int:
    """``strconv.Atoi`` (64-bit)."""
    if not _INT.match(text):
        raise ValueError(f"invalid integer {text!r}")
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"integer out of range {text!r}")
    return value
