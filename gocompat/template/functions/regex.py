"""Sprig's regex functions on Python ``re`` with Go RE2 spellings translated.

Go's replacement syntax (``$1``, ``${1}``, ``$name``, ``$$``) is expanded here, because Python's ``\\1``
syntax differs; an unknown group expands to nothing, as in Go.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from gocompat.template.errors import FuncError
from gocompat.template.signature import GoFunc

_NAMED = re.compile(r"\(\?<(?=[A-Za-z_])")
_GROUP_REF = re.compile(r"\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


@lru_cache(maxsize=256)
def compile_go(pattern: str) -> re.Pattern[str]:
    """Compile an RE2 pattern; raises FuncError (without echoing the pattern's data) when invalid."""
    translated = _NAMED.sub("(?P<", pattern).replace(r"\z", r"\Z")
    try:
        return re.compile(translated)
    except re.error as error:
        raise FuncError(f"error parsing regexp: {error.msg}") from None


def expand(template: str, match: re.Match[str]) -> str:
    """Go ``Regexp.Expand``: ``$name`` takes the longest run of word characters."""

    def group(ref: re.Match[str]) -> str:
        if ref.group(0) == "$$":
            return "$"
        name = ref.group(1) or ref.group(2)
        try:
            key: int | str = int(name) if name.isdigit() else name
            return match.group(key) or ""
        except IndexError:
            return ""

    return _GROUP_REF.sub(group, template)


def regex_match(pattern: str, text: str) -> bool:
    try:
        return compile_go(pattern).search(text) is not None
    except FuncError:
        return False


def must_regex_match(pattern: str, text: str) -> bool:
    return compile_go(pattern).search(text) is not None


def regex_find(pattern: str, text: str) -> str:
    found = compile_go(pattern).search(text)
    return found.group(0) if found else ""


def regex_find_all(pattern: str, text: str, n: int) -> list[Any]:
    matches = [m.group(0) for m in compile_go(pattern).finditer(text)]
    return matches if n < 0 else matches[:n]


def regex_replace_all(pattern: str, text: str, repl: str) -> str:
    return compile_go(pattern).sub(lambda m: expand(repl, m), text)


def regex_replace_all_literal(pattern: str, text: str, repl: str) -> str:
    return compile_go(pattern).sub(lambda m: repl, text)


def regex_split(pattern: str, text: str, n: int) -> list[Any]:
    if n == 0:
        return []
    parts = compile_go(pattern).split(text, maxsplit=0 if n < 0 else n - 1)
    return list(parts)


def quote_meta(text: str) -> str:
    """Go ``regexp.QuoteMeta``: escape exactly ``\\.+*?()|[]{}^$``."""
    return "".join("\\" + ch if ch in "\\.+*?()|[]{}^$" else ch for ch in text)


FUNCS: dict[str, GoFunc] = {
    "regexMatch": GoFunc(regex_match, ("str", "str")),
    "mustRegexMatch": GoFunc(must_regex_match, ("str", "str")),
    "regexFind": GoFunc(regex_find, ("str", "str")),
    "mustRegexFind": GoFunc(regex_find, ("str", "str")),
    "regexFindAll": GoFunc(regex_find_all, ("str", "str", "int")),
    "mustRegexFindAll": GoFunc(regex_find_all, ("str", "str", "int")),
    "regexReplaceAll": GoFunc(regex_replace_all, ("str", "str", "str")),
    "mustRegexReplaceAll": GoFunc(regex_replace_all, ("str", "str", "str")),
    "regexReplaceAllLiteral": GoFunc(regex_replace_all_literal, ("str", "str", "str")),
    "mustRegexReplaceAllLiteral": GoFunc(regex_replace_all_literal, ("str", "str", "str")),
    "regexSplit": GoFunc(regex_split, ("str", "str", "int")),
    "mustRegexSplit": GoFunc(regex_split, ("str", "str", "int")),
    "regexQuoteMeta": GoFunc(quote_meta, ("str",)),
}
