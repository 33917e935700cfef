"""go-yaml v3's scalar rules: how a plain scalar resolves to a type, and which style a string is written in.

sops reads and writes YAML with go-yaml v3 (YAML 1.2 core schema plus 1.1 leftovers such as octal
``0777``), so ``yes`` is a string but is written quoted, ``1e20`` is a float and ``2024-01-02`` a time.
"""

from __future__ import annotations

import re

from gocompat.yaml.numbers import all_digits, is_yaml_float
from gocompat.yaml.v3.tree import GoTime

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from typing import Any


_MAP: dict[str, Any] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), float("nan")),  # float(), not math: one module less to import
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), float("inf")),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), float("-inf")),
}
_OLD_BOOL = frozenset(
    ("y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF")
)
# Patterns for rare scalars, passed to re.match: re's own cache compiles them on first use, and this module
# (on `lockstep sops decrypt`'s path) need not import gocompat.lazy_regex.
_GO_FLOAT = r"(?i)[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|inf|infinity|nan)\Z"
_BASE60 = r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z"
_INT64 = (-(2**63), 2**63 - 1)


class _NoMatch(Exception):
    pass


def _go_parse_int(text: str) -> int:
    """``strconv.ParseInt(text, 0, 64)`` (underscores already removed), also accepting uint64."""
    body, sign = text, 1
    if body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    prefix = body[:2].lower()
    if prefix in ("0x", "0b", "0o"):
        base, digits = {"0x": 16, "0b": 2, "0o": 8}[prefix], body[2:]
    elif body[:1] == "0" and len(body) > 1:
        base, digits = 8, body[1:]
    else:
        base, digits = 10, body
    if not all_digits(digits, base):
        raise _NoMatch
    value = sign * int(digits, base)
    if not _INT64[0] <= value <= 2**64 - 1:
        raise _NoMatch
    return value


def resolve_plain(text: str) -> Any:
    """The value go-yaml v3 gives an untagged plain scalar."""
    if text in _MAP:
        return _MAP[text]
    hint = text[:1]
    if hint == ".":
        if re.match(_GO_FLOAT, text):
            return float(text)
        return text
    if hint and ((hint.isdigit() and hint.isascii()) or hint in "+-"):
        ts = parse_timestamp(text)
        if ts is not None:
            return GoTime(ts)
        plain = text.replace("_", "")
        try:
            return _go_parse_int(plain)
        except _NoMatch:
            pass
        if is_yaml_float(plain):
            return float(plain)
    return text


def resolves_to_str(text: str) -> bool:
    return isinstance(resolve_plain(text), str) and text != "<<"


def can_use_plain(text: str) -> bool:
    """go-yaml's encoder check: a plain string must read back as the same string."""
    return resolves_to_str(text) and not (
        text in _OLD_BOOL or (text[:1] in "+-0123456789" and ":" in text and re.match(_BASE60, text))
    )


_TS_PATTERN = (
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?P<sep>[Tt ])(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})(?:\.(?P<f>[0-9]+))?"
    r"(?P<z>Z|[+-][0-9]{2}:[0-9]{2})?)?\Z"
)
_TS: list[re.Pattern[str]] = []


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_date(year: int, month: int, day: int) -> bool:
    """What ``datetime.date`` accepts (years 1-9999, Gregorian leap years), without importing datetime."""
    if not (1 <= year <= 9999 and 1 <= month <= 12 and day >= 1):
        return False
    leap = month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= _MONTH_DAYS[month - 1] + leap


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
    if not _is_date(year, month, day):
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
