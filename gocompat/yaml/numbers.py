"""The number syntax go-yaml v2 and v3 resolve plain scalars with: digit sets per base and YAML's float form.

Why hand-written checks instead of regular expressions: compiling a pattern runs ``re``'s pure-Python
compiler (0.3-1 M instructions each) and ``lockstep sops decrypt`` / ``lockstep seal`` meet these checks on
almost every file (sops' ``version: 3.11.0`` is tried as an int, then as a float), timed against the bare
interpreter. Each check accepts exactly what go-yaml's pattern (quoted in its docstring) accepts; a property
test compares them on random and exhaustive inputs.
"""

from __future__ import annotations

DECIMAL = frozenset("0123456789")
DIGITS = {2: frozenset("01"), 8: frozenset("01234567"), 10: DECIMAL, 16: DECIMAL | frozenset("abcdefABCDEF")}


def all_digits(text: str, base: int) -> bool:
    """``[0-9]+\\Z`` for ``base`` 10 (``[01]``, ``[0-7]``, ``[0-9a-fA-F]`` for 2, 8, 16): ASCII only."""
    return bool(text) and DIGITS[base].issuperset(text)


def is_yaml_float(text: str) -> bool:
    """go-yaml's ``yamlStyleFloat``: ``[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?\\Z``."""
    body = text[1:] if text[:1] in ("+", "-") else text
    cut = len(body)
    for marker in ("e", "E"):
        at = body.find(marker)
        if 0 <= at < cut:
            cut = at
    mantissa = body[:cut]
    if cut < len(body):
        exponent = body[cut + 1 :]
        if exponent[:1] in ("+", "-"):
            exponent = exponent[1:]
        if not all_digits(exponent, 10):
            return False
    whole, dot, fraction = mantissa.partition(".")
    if not dot:
        return all_digits(whole, 10)
    if not whole:
        return all_digits(fraction, 10)
    return all_digits(whole, 10) and DECIMAL.issuperset(fraction)
