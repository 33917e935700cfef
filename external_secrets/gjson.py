"""The part of GJSON path syntax ESO users write in ``remoteRef.property`` (pure, no I/O).

Supported: nested keys ``a.b.c``, escaped dots ``a\\.b``, array indexes ``arr.0``, ``#`` (array length),
``arr.#.name`` (collect a field from every element), and ``*``/``?`` wildcards in key names. Queries
(``#(...)``) and modifiers (``@reverse``) are not supported and fail clearly rather than mis-select.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from gocompat.jsonenc import marshal

_MISSING = object()


class PathError(ValueError):
    """The path uses GJSON syntax this module does not implement."""


def split_path(path: str) -> list[str]:
    """Split on unescaped dots; ``\\.`` is a literal dot inside a component."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in path:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _step(value: Any, part: str, rest: list[str]) -> Any:
    if part.startswith(("#(", "@")) or "|" in part:
        raise PathError(f"GJSON queries and modifiers are not supported: {part!r}")
    if isinstance(value, list):
        if part == "#":
            if not rest:
                return len(value)
            collected = [_walk(item, rest) for item in value]
            return [item for item in collected if item is not _MISSING]
        if part.isdigit():
            index = int(part)
            return _walk(value[index], rest) if index < len(value) else _MISSING
        return _MISSING
    if isinstance(value, dict):
        if part in value:
            return _walk(value[part], rest)
        if "*" in part or "?" in part:
            for key in value:  # GJSON picks the first matching key in document order
                if fnmatch.fnmatchcase(key, part):
                    return _walk(value[key], rest)
        return _MISSING
    return _MISSING


def _walk(value: Any, parts: list[str]) -> Any:
    if not parts:
        return value
    return _step(value, parts[0], parts[1:])


def get(document: Any, path: str) -> tuple[bool, Any]:
    """``(found, value)`` for ``path`` inside an already-decoded JSON ``document``."""
    result = _walk(document, split_path(path))
    return (result is not _MISSING, None if result is _MISSING else result)


def go_json(value: Any) -> bytes:
    """JSON as Go's ``encoding/json`` writes it: sorted keys, compact, HTML-safe escapes."""
    return marshal(value).encode()


def to_bytes(value: Any) -> bytes:
    """A selected value as bytes: strings raw, numbers without exponent, objects as JSON, null empty."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return (str(int(value)) if value.is_integer() else format(value, "f").rstrip("0")).encode()
    return go_json(value)
