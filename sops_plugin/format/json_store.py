"""JSON and binary stores, written as Go's ``encoding/json`` + ``json.Indent`` (tab indent) would.

sops 3.11 reads every JSON number as a float64, so ``1`` becomes the float 1 (type ``float``) and is written
back as ``1``. A binary file is one string leaf under ``data``.
"""

from __future__ import annotations

from sops_plugin.format.gofmt import format_json_float
from sops_plugin.format.tree import Branch, Comment, GoTime

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from typing import Any


_ESC = {
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


class JsonError(Exception):
    pass


def go_string(text: str) -> str:
    """``json.Marshal`` of a string: HTML-safe escapes, invalid UTF-8 as U+FFFD."""
    out = ['"']
    for ch in text:
        esc = _ESC.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        elif "\udc80" <= ch <= "\udcff":
            out.append("\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        try:
            return format_json_float(value)
        except ValueError as exc:
            raise JsonError(str(exc)) from None
    if isinstance(value, GoTime):
        return go_string(value.text)
    if isinstance(value, bytes):
        import base64

        return go_string(base64.b64encode(value).decode())
    return go_string(str(value))


def _emit(value: Any, depth: int, indent: str, out: list[str]) -> None:
    if isinstance(value, Branch):
        items = [(k, v) for k, v in value if not isinstance(k, Comment)]
        if not items:
            out.append("{}")
            return
        out.append("{")
        for n, (k, v) in enumerate(items):
            out.append(("," if n else "") + "\n" + indent * (depth + 1) + go_string(k) + ": ")
            _emit(v, depth + 1, indent, out)
        out.append("\n" + indent * depth + "}")
    elif isinstance(value, list):
        entries = [v for v in value if not isinstance(v, Comment)]
        if not entries:
            out.append("[]")
            return
        out.append("[")
        for n, v in enumerate(entries):
            out.append(("," if n else "") + "\n" + indent * (depth + 1))
            _emit(v, depth + 1, indent, out)
        out.append("\n" + indent * depth + "]")
    else:
        out.append(_scalar(value))


def emit(branch: Branch, indent: str = "\t") -> bytes:
    out: list[str] = []
    _emit(branch, 0, indent, out)
    out.append("\n")
    return "".join(out).encode("utf-8", "surrogateescape")


def _hook(pairs: list[tuple[str, Any]]) -> Branch:
    return Branch(pairs)


def _not_json(name: str) -> Any:
    raise JsonError(f"invalid character {name[0]!r} looking for beginning of value")


def load(data: bytes) -> Branch:
    from core_sync import limits

    try:
        value = limits.load_json(
            data.decode("utf-8", "surrogateescape"),
            object_pairs_hook=_hook,
            parse_int=limits.finite_number,
            parse_float=limits.finite_number,
            parse_constant=_not_json,
        )
    except (ValueError, limits.LimitExceeded) as exc:  # JSONDecodeError, UnicodeDecodeError, a number
        raise JsonError(f"Error unmarshaling input JSON: {exc}") from None
    if not isinstance(value, Branch):
        raise JsonError("Expected JSON object start")
    return value


def load_binary(data: bytes) -> Branch:
    return Branch([("data", data.decode("utf-8", "surrogateescape"))])


def emit_binary_plain(branch: Branch) -> bytes:
    value = branch.get("data")
    if not isinstance(value, str):
        raise JsonError("no binary data found in tree")
    return value.encode("utf-8", "surrogateescape")
