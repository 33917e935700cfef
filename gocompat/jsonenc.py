"""Go ``encoding/json``'s output, byte for byte: string escaping, float text and (Marshal)Indent layout.

Why one home: kubeseal's JSON, sops' JSON store, ESO's ``toJson`` family and ESO's provider values are all
written by Go, and a single differing byte is a spurious change (or a bad MAC). Go (since 1.22) escapes
``"``, ``\\``, ``\\n``, ``\\r``, ``\\t``, ``\\b`` and ``\\f`` short, other control characters as ``\\u00XX``,
U+2028/U+2029 always, ``<``, ``>`` and ``&`` unless HTML escaping is off, and writes each byte of invalid
UTF-8 (which Lockstep carries in ``str`` as the surrogate escapes U+DC80..U+DCFF) as ``\\ufffd``.
"""

from __future__ import annotations

import re

from gocompat.lazy_regex import LazyRegex

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_SPECIAL_HTML = LazyRegex('[\\x00-\\x1f"\\\\<>&\u2028\u2029\udc80-\udcff]')
_SPECIAL = LazyRegex('[\\x00-\\x1f"\\\\\u2028\u2029\udc80-\udcff]')


class UnsupportedValue(ValueError):
    """A value Go's JSON encoder refuses (NaN, Inf, non-string map keys, other types)."""


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    escaped = _ESCAPES.get(ch)
    if escaped is not None:
        return escaped
    if ch >= "\udc80":
        return "\\ufffd"  # a raw byte carried in a Go string: invalid UTF-8, which Go writes as this escape
    return f"\\u{ord(ch):04x}"


def quote(text: str, *, escape_html: bool = True) -> str:
    """``json.Marshal`` of a string (``escape_html=False``: an encoder with ``SetEscapeHTML(false)``)."""
    plain = text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
    if plain and (not escape_html or ("<" not in text and ">" not in text and "&" not in text)):
        return '"' + text + '"'  # nothing to escape: the common case, without compiling the regex
    return '"' + (_SPECIAL_HTML if escape_html else _SPECIAL).sub(_escape, text) + '"'


def marshal(
    value: Any,
    *,
    indent: str | None = None,
    sort_keys: bool = True,
    escape_html: bool = True,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """``json.Marshal`` (``MarshalIndent(v, "", indent)`` with ``indent``) of JSON-shaped data.

    Go sorts map keys; ``sort_keys=False`` keeps dict order, for dicts built in a Go struct's field order.
    ``bytes`` are base64 (Go's ``[]byte``); ``default`` maps any other object to a JSON-shaped value.
    """
    out: list[str] = []
    _emit(value, out, indent, 0, sort_keys, escape_html, default)
    return "".join(out)


def _emit(
    value: Any,
    out: list[str],
    indent: str | None,
    level: int,
    sort_keys: bool,
    escape_html: bool,
    default: Callable[[Any], Any] | None,
) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        from gocompat.strconv import format_f, format_json_float  # floats only (Kubernetes objects rarely)

        if value != value or value in (float("inf"), float("-inf")):
            raise UnsupportedValue(f"json: unsupported value: {format_f(value)}")
        out.append(format_json_float(value))
    elif isinstance(value, str):
        out.append(quote(value, escape_html=escape_html))
    elif isinstance(value, (bytes, bytearray)):
        import base64

        out.append('"' + base64.b64encode(bytes(value)).decode() + '"')
    elif isinstance(value, dict) or _is_mapping(value):
        if not value:
            out.append("{}")
            return
        if any(not isinstance(key, str) for key in value):
            raise UnsupportedValue("json: unsupported type: map with non-string keys")
        keys = sorted(value) if sort_keys else list(value)
        inner = "" if indent is None else "\n" + indent * (level + 1)
        colon = ":" if indent is None else ": "
        out.append("{")
        for n, key in enumerate(keys):
            out.append(("," if n else "") + inner + quote(key, escape_html=escape_html) + colon)
            _emit(value[key], out, indent, level + 1, sort_keys, escape_html, default)
        out.append(("" if indent is None else "\n" + indent * level) + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = "" if indent is None else "\n" + indent * (level + 1)
        out.append("[")
        for n, item in enumerate(value):
            out.append(("," if n else "") + inner)
            _emit(item, out, indent, level + 1, sort_keys, escape_html, default)
        out.append(("" if indent is None else "\n" + indent * level) + "]")
    elif default is not None:
        _emit(default(value), out, indent, level, sort_keys, escape_html, None)
    else:
        raise UnsupportedValue(f"json: unsupported type: {type(value).__name__}")


def _is_mapping(value: Any) -> bool:
    from collections.abc import Mapping

    return isinstance(value, Mapping)
