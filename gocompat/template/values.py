"""How Python values behave as Go values inside a template: type names, truth, comparison and printing.

Data maps to Go like ``encoding/json`` would decode it: dict → ``map[string]interface {}``, list →
``[]interface {}``, str → ``string``, int → ``int``, float → ``float64``, bool, None → nil, bytes →
``[]uint8``. :class:`StringMap` stands for ESO's ``map[string]string`` context, whose zero value is ``""``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from gocompat.strconv import format_g


class _Missing:
    """Go's invalid ``reflect.Value``: what a missing map key yields under ``missingkey=default``."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()
NO_VALUE: Final = "<no value>"


class StringMap(dict[str, str]):
    """A ``map[string]string``: a missing key's zero value is ``""`` (``index``, ``missingkey=zero``)."""


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def zero_of_map(mapping: Mapping[str, Any]) -> Any:
    """The zero value of the map's element type."""
    return "" if isinstance(mapping, StringMap) else None


def type_name(value: Any) -> str:
    """The Go type name used in error messages (never the value itself)."""
    if value is MISSING:
        return "<invalid>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "[]uint8"
    if isinstance(value, StringMap):
        return "map[string]string"
    if is_map(value):
        return "map[string]interface {}"
    if is_list(value):
        return "[]interface {}"
    return type(value).__name__


def truth(value: Any) -> bool:
    """Go's ``isTrue``: empty strings, collections, zero numbers, false and nil are false."""
    if value is MISSING or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, bytes, bytearray, list, tuple)) or is_map(value):
        return len(value) > 0
    return True


# -- printing ----------------------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    """``fmt.Sprint(value)`` / ``%v`` for the value kinds a template sees."""
    if value is MISSING:
        return NO_VALUE
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_g(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return "[" + " ".join(str(b) for b in value) + "]"
    if is_map(value):
        items = sorted(value.items(), key=lambda kv: sort_key(kv[0]))
        return "map[" + " ".join(f"{format_value(k)}:{format_value(v)}" for k, v in items) + "]"
    if is_list(value):
        return "[" + " ".join(format_value(v) for v in value) + "]"
    return str(value)


def sort_key(key: Any) -> tuple[int, Any]:
    """Go sorts map keys of one basic kind; mixed kinds never happen for JSON-shaped data."""
    if isinstance(key, bool):
        return (0, key)
    if isinstance(key, (int, float)):
        return (1, key)
    return (2, str(key))


def sprint(args: Sequence[Any]) -> str:
    """``fmt.Sprint``: a space between operands when neither side is a string."""
    out: list[str] = []
    prev_string = False
    for i, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if i > 0 and not is_string and not prev_string:
            out.append(" ")
        out.append(format_value(arg))
        prev_string = is_string
    return "".join(out)


def sprintln(args: Sequence[Any]) -> str:
    """``fmt.Sprintln``: always a space between operands, then a newline."""
    return " ".join(format_value(a) for a in args) + "\n"


def printable(value: Any) -> str:
    """What an action ``{{ pipeline }}`` writes: an invalid or nil interface value prints ``<no value>``."""
    if value is MISSING or value is None:
        return NO_VALUE
    return format_value(value)
