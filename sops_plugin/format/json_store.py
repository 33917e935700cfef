"""JSON and binary stores, written as Go's ``encoding/json`` + ``json.Indent`` (tab indent) would.

An integer literal within int64 is an int (type ``int``), as sops 3.13.2 reads it; any other number is a
float64. sops 3.11 read every number as a float64, rounding integers above 2**53; both print the same text
for the values they agree on. A binary file is one string leaf under ``data``.
"""

from __future__ import annotations

from gocompat.jsonenc import quote
from gocompat.strconv import format_g, format_json_float
from gocompat.yaml.v3.tree import Branch, Comment, GoTime

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from typing import Any


class JsonError(Exception):
    pass


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
        return quote(value.text)
    if isinstance(value, bytes):
        import base64

        return quote(base64.b64encode(value).decode())
    return quote(str(value))


def _emit(value: Any, depth: int, indent: str, out: list[str]) -> None:
    if isinstance(value, Branch):
        items = [(k, v) for k, v in value if not isinstance(k, Comment)]
        if not items:
            out.append("{}")
            return
        out.append("{")
        for n, (k, v) in enumerate(items):
            out.append(("," if n else "") + "\n" + indent * (depth + 1) + quote(k) + ": ")
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


def emit_value(value: Any, indent: str = "\t") -> str:
    """One value as sops' JSON ``EmitValue`` writes it: indented, no trailing newline."""
    out: list[str] = []
    _emit(value, 0, indent, out)
    return "".join(out)


def emit(branch: Branch, indent: str = "\t") -> bytes:
    out: list[str] = []
    _emit(branch, 0, indent, out)
    out.append("\n")
    return "".join(out).encode("utf-8", "surrogateescape")


def _hook(pairs: list[tuple[str, Any]]) -> Branch:
    return Branch(pairs)


def _number(text: str) -> int | float:
    """sops 3.13.2's ``normalizeJSONNumber`` for an integer literal: int within int64, else float64
    (and, as Go, an error beyond float64's range)."""
    from gocompat import limits

    value = int(text)
    return value if -(2**63) <= value < 2**63 else limits.finite_number(text)


def _not_json(name: str) -> Any:
    raise JsonError(f"invalid character {name[0]!r} looking for beginning of value")


def load(data: bytes) -> Branch:
    from gocompat import limits

    if not data.strip(b" \t\r\n"):
        raise JsonError("Error unmarshaling input JSON: EOF")  # Go's decoder on an empty document
    try:
        value = limits.load_json(
            data.decode("utf-8", "surrogateescape"),
            object_pairs_hook=_hook,
            parse_int=_number,
            parse_float=limits.finite_number,
            parse_constant=_not_json,
        )
    except (ValueError, limits.LimitExceeded) as exc:  # JSONDecodeError, UnicodeDecodeError, a number
        raise JsonError(f"Error unmarshaling input JSON: {exc}") from None
    if not isinstance(value, Branch):
        raise JsonError(_not_an_object(value))
    return value


def _not_an_object(value: Any) -> str:
    """sops 3.13's message for a JSON document that is not an object (Go's ``%#v of type %T``)."""
    start = "SOPS only supports JSON files with a top-level object (starting with '{'), "
    if isinstance(value, list):
        return (
            start + "not arrays or other types. Got delimiter [ instead. To encrypt this file, wrap it in an "
            'object, e.g., {"data": [...]}'
        )
    if value is None:
        shown, go_type = "<nil>", "<nil>"
    elif isinstance(value, bool):
        shown, go_type = ("true" if value else "false"), "bool"
    elif isinstance(value, int):
        shown, go_type = str(value), "int"
    elif isinstance(value, float):
        shown, go_type = format_g(value), "float64"
    else:
        shown, go_type = quote(str(value)), "string"
    return start + f"not other JSON types. Got {shown} of type {go_type} instead"


def load_binary(data: bytes) -> Branch:
    return Branch([("data", data.decode("utf-8", "surrogateescape"))])


def emit_binary_plain(branch: Branch) -> bytes:
    missing = object()
    value = branch.get("data", missing)
    if value is missing:
        raise JsonError("error emitting binary store: no binary data found in tree")
    if not isinstance(value, str):
        raise JsonError("error emitting binary store: 'data' key in tree does not have a string value")
    return value.encode("utf-8", "surrogateescape")
