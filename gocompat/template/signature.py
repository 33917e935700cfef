"""Function signatures: Go checks argument count and types before a call; so does the executor.

A :class:`GoFunc` pairs a Python callable with the Go parameter kinds it declares, so ``upper 5`` fails the
way Go fails (``wrong type for value; expected string; got int``) instead of with a Python TypeError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from gocompat.template.values import MISSING, is_int, is_list, is_map, type_name

Kind = Literal["any", "str", "int", "float", "bool", "list", "map"]

GO_TYPE: dict[str, str] = {
    "any": "interface {}",
    "str": "string",
    "int": "int",
    "float": "float64",
    "bool": "bool",
    "list": "[]interface {}",
    "map": "map[string]interface {}",
}


class ArgTypeError(Exception):
    """An argument does not fit its parameter; the message is Go's and names types only."""


@dataclass(frozen=True)
class GoFunc:
    fn: Callable[..., Any]
    params: tuple[Kind, ...] = ()
    variadic: Kind | None = None

    def arity_error(self, name: str, given: int) -> str | None:
        fixed = len(self.params)
        if self.variadic is not None:
            if given < fixed:
                return f"wrong number of args for {name}: want at least {fixed} got {given}"
            return None
        if given != fixed:
            return f"wrong number of args for {name}: want {fixed} got {given}"
        return None

    def kind_of(self, index: int) -> Kind:
        if index < len(self.params):
            return self.params[index]
        assert self.variadic is not None
        return self.variadic


def convert(value: Any, kind: Kind) -> Any:
    """Go's ``validateType``: an invalid value becomes nil where nil fits, else the types must match."""
    if value is MISSING:
        if kind in ("any", "list", "map"):
            return None
        raise ArgTypeError(f"invalid value; expected {GO_TYPE[kind]}")
    if kind == "any":
        return value
    ok = {
        "str": isinstance(value, str),
        "int": is_int(value),
        "float": isinstance(value, float) or is_int(value),
        "bool": isinstance(value, bool),
        "list": is_list(value) or value is None,
        "map": is_map(value) or value is None,
    }[kind]
    if not ok:
        if value is None:
            raise ArgTypeError(f"invalid value; expected {GO_TYPE[kind]}")
        raise ArgTypeError(f"wrong type for value; expected {GO_TYPE[kind]}; got {type_name(value)}")
    if kind == "float" and is_int(value):
        return float(value)
    return value
