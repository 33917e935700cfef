"""Go's ``time.ParseDuration`` (``1h30m``, ``90s``, ``500ms``) as seconds, in two strictnesses.

Why two: Lockstep's own fields and flags (``Application`` ``spec.interval``/``timeout``/retry backoff, the
CLI's ``--interval``/``--timeout``/``--request-timeout``, the sealed controller's key flags) are ours to
define, so :func:`parse_strict` accepts only the plain ``<number><ms|s|m|h>`` form and a typo stops with the
expected forms named. Fields copied from another project must accept whatever that project's users write:
ESO's ``refreshInterval``/``refreshTime`` go through Go's parser (``1h0m0s``, ``1.5h``, ``-5m``, ``0``,
``µs``) and arrive as JSON numbers too, so :func:`parse_lenient` takes Go's whole grammar plus a bare
number as seconds.
"""

from __future__ import annotations

import re

_STRICT_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_STRICT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_strict(text: str | None, default: float) -> float:
    """``1h30m``/``45s``/``500ms`` to seconds; ``default`` when unset; ``ValueError`` for anything else."""
    if not text:
        return default
    parts = _STRICT_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r} (expected e.g. 30s, 5m, 1h30m)")
    return sum(float(n) * _STRICT_SECONDS[u] for n, u in parts)


def parse_lenient(text: str | int | float | None, default: float = 3600.0) -> float:
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
