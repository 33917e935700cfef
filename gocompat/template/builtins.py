"""Go's predefined template functions (``and``/``or`` are evaluated lazily by the executor)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from gocompat.template.errors import FuncError
from gocompat.template.gofmt import sprintf
from gocompat.template.signature import GoFunc
from gocompat.template.values import (
    is_int,
    is_list,
    is_map,
    sprint,
    sprintln,
    truth,
    type_name,
    zero_of_map,
)


def _basic_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if is_int(value):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return None


def _eq_one(a: Any, b: Any) -> bool:
    ka, kb = _basic_kind(a), _basic_kind(b)
    if ka != kb:
        if a is not None and b is not None:
            raise FuncError(f"incompatible types for comparison: {type_name(a)} and {type_name(b)}")
        return False
    if ka is None:
        if a is None or b is None:
            return a is None and b is None
        raise FuncError(f"non-comparable type {type_name(b)}")
    return bool(a == b)


def eq(arg1: Any, *rest: Any) -> bool:
    """True if ``arg1`` equals any of the others (Go 1.18+ semantics)."""
    if not rest:
        raise FuncError("missing argument for comparison")
    return any(_eq_one(arg1, other) for other in rest)


def ne(a: Any, b: Any) -> bool:
    return not _eq_one(a, b)


def lt(a: Any, b: Any) -> bool:
    ka, kb = _basic_kind(a), _basic_kind(b)
    if ka is None or kb is None or ka == "bool":
        raise FuncError("invalid type for comparison")
    if ka != kb:
        raise FuncError(f"incompatible types for comparison: {type_name(a)} and {type_name(b)}")
    return bool(a < b)


def le(a: Any, b: Any) -> bool:
    return lt(a, b) or eq(a, b)


def gt(a: Any, b: Any) -> bool:
    return not le(a, b)


def ge(a: Any, b: Any) -> bool:
    return not lt(a, b)


def length(item: Any) -> int:
    if item is None:
        raise FuncError("len of nil pointer")
    if isinstance(item, str):
        return len(item.encode("utf-8", "surrogateescape"))
    if isinstance(item, (bytes, bytearray, list, tuple)) or is_map(item):
        return len(item)
    raise FuncError(f"len of type {type_name(item)}")


def _int_index(index: Any, cap: int) -> int:
    if not is_int(index):
        raise FuncError(f"cannot index slice/array with type {type_name(index)}")
    if index < 0 or index >= cap:
        raise FuncError(f"index out of range: {index}")
    return int(index)


def index(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise FuncError("index of untyped nil")
    for key in indexes:
        if item is None:
            raise FuncError("index of nil pointer")
        if is_map(item):
            if not isinstance(key, str):
                raise FuncError(f"value has type {type_name(key)}; should be string")
            item = item[key] if key in item else zero_of_map(item)
        elif is_list(item) or isinstance(item, (bytes, bytearray)):
            item = item[_int_index(key, len(item))]
        elif isinstance(item, str):
            data = item.encode("utf-8", "surrogateescape")
            item = data[_int_index(key, len(data))]
        else:
            raise FuncError(f"can't index item of type {type_name(item)}")
    return item


def slice_(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        data = item.encode("utf-8", "surrogateescape")
    elif is_list(item):
        data = item
    else:
        raise FuncError(f"can't slice item of type {type_name(item)}")
    bounds = [0, len(data)]
    for i, idx in enumerate(indexes[:2]):
        bounds[i] = _int_index(idx, len(data) + 1)
    if bounds[0] > bounds[1]:
        raise FuncError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    part = data[bounds[0] : bounds[1]]
    if isinstance(item, str):
        assert isinstance(part, bytes)
        return part.decode("utf-8", "surrogateescape")
    return list(part)


def not_(arg: Any) -> bool:
    return not truth(arg)


def printf(fmt: str, *args: Any) -> str:
    return sprintf(fmt, args)


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(args)


def html(*args: Any) -> str:
    text = _eval_args(args)
    for raw, esc in (
        ("&", "&amp;"),
        ("'", "&#39;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ('"', "&#34;"),
        ("\0", "\ufffd"),
    ):
        text = text.replace(raw, esc)
    return text


def js(*args: Any) -> str:
    out = []
    for ch in _eval_args(args):
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch in "<>&=":
            out.append(f"\\u{ord(ch):04X}")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or not ch.isprintable():
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def urlquery(*args: Any) -> str:
    return urllib.parse.quote_plus(_eval_args(args), safe="")


def _print(*args: Any) -> str:
    return sprint(args)


def _println(*args: Any) -> str:
    return sprintln(args)


def _placeholder(*args: Any) -> Any:  # pragma: no cover - and/or never reach here
    raise AssertionError("and/or are evaluated by the executor")


BUILTINS: Mapping[str, GoFunc] = {
    "and": GoFunc(_placeholder, ("any",), "any"),
    "or": GoFunc(_placeholder, ("any",), "any"),
    "not": GoFunc(not_, ("any",)),
    "eq": GoFunc(eq, ("any",), "any"),
    "ne": GoFunc(ne, ("any", "any")),
    "lt": GoFunc(lt, ("any", "any")),
    "le": GoFunc(le, ("any", "any")),
    "gt": GoFunc(gt, ("any", "any")),
    "ge": GoFunc(ge, ("any", "any")),
    "len": GoFunc(length, ("any",)),
    "index": GoFunc(index, ("any",), "any"),
    "slice": GoFunc(slice_, ("any",), "any"),
    "print": GoFunc(_print, (), "any"),
    "printf": GoFunc(printf, ("str",), "any"),
    "println": GoFunc(_println, (), "any"),
    "html": GoFunc(html, (), "any"),
    "js": GoFunc(js, (), "any"),
    "urlquery": GoFunc(urlquery, (), "any"),
}
