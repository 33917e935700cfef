"""Go ``time.ParseDuration`` for ``refreshInterval`` (``1h0m0s``, ``90s``, ``1.5h``, ``0``)."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str | int | float | None, default: float = 3600.0) -> float:
    """Seconds; ``ValueError`` naming the text if it is not a Go duration. A bare number means seconds."""
    if text is None or text == "":
        return default
    if isinstance(text, int | float):
        return float(text)
    raw = text.strip()
    sign = -1.0 if raw.startswith("-") else 1.0
    body = raw.lstrip("+-")
    if body in ("0", ""):
        return 0.0
    if re.fullmatch(r"\d+(\.\d+)?", body):
        return sign * float(body)
    total, pos = 0.0, 0
    for match in _PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body):
        raise ValueError(f"invalid duration {text!r}")
    return sign * total
