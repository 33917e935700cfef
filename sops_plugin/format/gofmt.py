"""Go's text forms of numbers, booleans and times, because sops' bytes (MAC, ENC payloads, output) use them.

Python's ``repr`` yields the same shortest round-trip digits as Go's ``strconv`` with precision -1; only the
layout around them differs.
"""

from __future__ import annotations

import math
import re
from datetime import date

_INT = re.compile(r"[+-]?[0-9]+\Z")


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


def _format_e(value: float, min_exp_digits: int = 2) -> str:
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0e+00"
    digits, point = _digits(value)
    exp = point - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):0{min_exp_digits}d}"


def format_g(value: float) -> str:
    """``strconv.FormatFloat(v, 'g', -1, 64)``: go-yaml's float text (1e+20, 1.5, 1)."""
    special = _special(value)
    if special:
        return special
    if value == 0:
        return format_f(value)
    _, point = _digits(value)
    exp = point - 1
    if exp < -4 or exp >= 21 or exp >= 6:
        return _format_e(value)
    return format_f(value)


def format_yaml_float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    return format_g(value)


def format_json_float(value: float) -> str:
    """``encoding/json``'s float text: 'f' in [1e-6, 1e21), else 'e' with a short exponent."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"json: unsupported value: {format_f(value)}")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = _format_e(value)
        mant, _, exp = text.partition("e")
        return f"{mant}e{exp[0]}{int(exp[1:])}" if exp[0] == "-" else f"{mant}e+{int(exp[1:]):02d}"
    return format_f(value)


def format_bool(value: bool) -> str:
    """sops writes booleans Title-case into MACs and payloads (a Python-era habit)."""
    return "True" if value else "False"


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


_TS_PATTERN = (
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?P<sep>[Tt ])(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})(?:\.(?P<f>[0-9]+))?"
    r"(?P<z>Z|[+-][0-9]{2}:[0-9]{2})?)?\Z"
)
_TS: list[re.Pattern[str]] = []


def parse_timestamp(text: str) -> str | None:
    """go-yaml's timestamp forms → Go ``RFC3339Nano`` text, or ``None`` if ``text`` is not one."""
    if not text[:4].isdigit():
        return None
    if not _TS:
        _TS.append(re.compile(_TS_PATTERN))
    m = _TS[0].match(text)
    if not m:
        return None
    year, month, day = int(m["y"]), int(m["mo"]), int(m["d"])
    try:
        date(year, month, day)
    except ValueError:
        return None
    if m["sep"] is None:
        return f"{year:04d}-{month:02d}-{day:02d}T00:00:00Z"
    if m["sep"] == " " and m["z"] is not None:
        return None
    if m["sep"] in "Tt" and m["z"] is None:
        return None
    hour, minute, second = int(m["h"]), int(m["mi"]), int(m["s"])
    if hour > 23 or minute > 59 or second > 59:
        return None
    frac = (m["f"] or "")[:9].rstrip("0")
    zone = m["z"] or "Z"
    if zone in ("+00:00", "-00:00"):
        zone = "Z"
    if zone != "Z" and (int(zone[1:3]) > 23 or int(zone[4:6]) > 59):
        return None
    fraction = "." + frac if frac else ""
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}{zone}"
