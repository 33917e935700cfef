"""Sprig's math, type and random functions."""

from __future__ import annotations

import math
import secrets
import string
import uuid
from typing import Any

from gocompat.limits import check_template_size
from gocompat.template.errors import FuncError
from gocompat.template.functions.convert import to_float, to_int
from gocompat.template.signature import GoFunc
from gocompat.template.values import MISSING, is_list, is_map, type_name


def _go_div(a: int, b: int) -> int:
    if b == 0:
        raise FuncError("runtime error: integer divide by zero")
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient


def _go_mod(a: int, b: int) -> int:
    if b == 0:
        raise FuncError("runtime error: integer divide by zero")
    return a - _go_div(a, b) * b


def add(*values: Any) -> int:
    return sum(to_int(v) for v in values)


def mul(first: Any, *values: Any) -> int:
    product = to_int(first)
    for value in values:
        product *= to_int(value)
    return product


def kind_of(value: Any) -> str:
    if value is None or value is MISSING:
        return "invalid"
    if is_map(value):
        return "map"
    if is_list(value) or isinstance(value, (bytes, bytearray)):
        return "slice"
    return type_name(value)


def _random(alphabet: str) -> GoFunc:
    def generate(count: int) -> str:
        check_template_size(count, "random string")
        return "".join(secrets.choice(alphabet) for _ in range(max(count, 0)))

    return GoFunc(generate, ("int",))


def _decimal_op(op: str, values: tuple[Any, ...]) -> float:
    """Sprig's ``addf``/``subf``/``mulf``/``divf``: exact decimal arithmetic, then float64."""
    from decimal import Decimal, DivisionByZero, InvalidOperation, localcontext

    def dec(value: Any) -> Decimal:
        return Decimal(repr(to_float(value)))

    with localcontext() as ctx:
        ctx.prec = 60
        result = dec(values[0]) if op != "add" else Decimal(0)
        rest = values if op == "add" else values[1:]
        for value in rest:
            if op == "add":
                result += dec(value)
            elif op == "sub":
                result -= dec(value)
            elif op == "mul":
                result *= dec(value)
            else:
                try:
                    result /= dec(value)
                except (DivisionByZero, InvalidOperation):
                    raise FuncError("decimal division by zero") from None
        return float(result)


def round_(value: Any, places: int, *options: Any) -> float:
    round_on = to_float(options[0]) if options else 0.5
    pow10 = math.pow(10, places)
    digit = pow10 * to_float(value)
    fraction = math.modf(digit)[0]
    rounded = math.ceil(digit) if fraction >= round_on else math.floor(digit)
    return rounded / pow10


def to_decimal(value: Any) -> int:
    """Sprig ``toDecimal``: read a unix-octal permission string."""
    from gocompat.template.values import format_value

    try:
        return int(format_value(value), 8)
    except ValueError:
        return 0


_ASCII_PRINTABLE = "".join(chr(c) for c in range(32, 127))

FUNCS: dict[str, GoFunc] = {
    "add": GoFunc(add, (), "any"),
    "add1": GoFunc(lambda v: to_int(v) + 1, ("any",)),
    "sub": GoFunc(lambda a, b: to_int(a) - to_int(b), ("any", "any")),
    "mul": GoFunc(mul, ("any",), "any"),
    "div": GoFunc(lambda a, b: _go_div(to_int(a), to_int(b)), ("any", "any")),
    "mod": GoFunc(lambda a, b: _go_mod(to_int(a), to_int(b)), ("any", "any")),
    "max": GoFunc(lambda a, *r: max([to_int(a), *(to_int(v) for v in r)]), ("any",), "any"),
    "min": GoFunc(lambda a, *r: min([to_int(a), *(to_int(v) for v in r)]), ("any",), "any"),
    "int": GoFunc(to_int, ("any",)),
    "int64": GoFunc(to_int, ("any",)),
    "float64": GoFunc(to_float, ("any",)),
    "atoi": GoFunc(lambda s: to_int(s) if s.strip().lstrip("+-").isdigit() else 0, ("str",)),
    "typeOf": GoFunc(type_name, ("any",)),
    "kindOf": GoFunc(kind_of, ("any",)),
    "typeIs": GoFunc(lambda t, v: type_name(v) == t, ("str", "any")),
    "kindIs": GoFunc(lambda k, v: kind_of(v) == k, ("str", "any")),
    "uuidv4": GoFunc(lambda: str(uuid.uuid4())),
    "randAlphaNum": _random(string.ascii_letters + string.digits),
    "randAlpha": _random(string.ascii_letters),
    "randNumeric": _random(string.digits),
    "randAscii": _random(_ASCII_PRINTABLE),
    "addf": GoFunc(lambda *v: _decimal_op("add", v), (), "any"),
    "subf": GoFunc(lambda a, *v: _decimal_op("sub", (a, *v)), ("any",), "any"),
    "mulf": GoFunc(lambda a, *v: _decimal_op("mul", (a, *v)), ("any",), "any"),
    "divf": GoFunc(lambda a, *v: _decimal_op("div", (a, *v)), ("any",), "any"),
    "add1f": GoFunc(lambda v: _decimal_op("add", (v, 1.0)), ("any",)),
    "maxf": GoFunc(lambda a, *r: max([to_float(a), *(to_float(v) for v in r)]), ("any",), "any"),
    "minf": GoFunc(lambda a, *r: min([to_float(a), *(to_float(v) for v in r)]), ("any",), "any"),
    "ceil": GoFunc(lambda v: float(math.ceil(to_float(v))), ("any",)),
    "floor": GoFunc(lambda v: float(math.floor(to_float(v))), ("any",)),
    "round": GoFunc(round_, ("any", "int"), "any"),
    "toDecimal": GoFunc(to_decimal, ("any",)),
}
