"""Sprig's value conversions (``strval``, ``strslice``, ``cast.ToInt64``…), shared by the function modules.

Go strings hold arbitrary bytes; here a byte that is not valid UTF-8 travels as a surrogate escape, so
``b64dec`` followed by ``b64enc`` round-trips binary data exactly.
"""

from __future__ import annotations

import math
from typing import Any

from gocompat.template.values import MISSING, format_value, is_int, is_list, truth


def go_bytes(text: str) -> bytes:
    """The bytes of a Go string."""
    return text.encode("utf-8", "surrogateescape")


def go_string(data: bytes) -> str:
    """A Go ``string(data)`` conversion, lossless for non-UTF-8 bytes."""
    return data.decode("utf-8", "surrogateescape")


def strval(value: Any) -> str:
    """Sprig ``strval``: strings as is, bytes as text, anything else ``%v``."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return go_string(bytes(value))
    return format_value(None if value is MISSING else value)


def strslice(value: Any) -> list[str]:
    """Sprig ``strslice``: a list's non-nil items as strings; a scalar becomes a one-item list."""
    if is_list(value):
        return [strval(v) for v in value if v is not None]
    if value is None or value is MISSING:
        return []
    return [strval(value)]


def empty(value: Any) -> bool:
    """Sprig ``empty``: nil, zero numbers, false, and empty strings and collections."""
    return not truth(value)


def to_int(value: Any) -> int:
    """``cast.ToInt64`` with errors silenced to 0, as Sprig's math functions do."""
    if value is None or value is MISSING:
        return 0
    if isinstance(value, bool):
        return int(value)
    if is_int(value):
        return int(value)
    if isinstance(value, float):
        return 0 if math.isnan(value) or math.isinf(value) else int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return (
                int(text, 0)
                if not (len(text) > 1 and text.lstrip("+-").startswith("0") and text.lstrip("+-").isdigit())
                else int(text, 10)
            )
        except ValueError:
            return 0
    return 0


def to_float(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0
