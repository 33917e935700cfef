"""Sprig's string functions (argument order as Sprig has it: the subject string comes last)."""

from __future__ import annotations

from typing import Any

from gocompat.limits import check_template_size
from gocompat.template.functions.convert import strslice, strval
from gocompat.template.gofmt import quote_go
from gocompat.template.signature import GoFunc

GO_SPACE = " \t\n\v\f\r\x85\xa0"


def trim_space(text: str) -> str:
    """``strings.TrimSpace``: Unicode white space."""
    return text.strip()


def title(text: str) -> str:
    """``strings.Title``: upper-case the first letter of each word, leave the rest alone."""
    out: list[str] = []
    prev_letter = False
    for ch in text:
        is_word = ch.isalnum() or ch == "_" or ch == "'"
        out.append(ch.upper() if is_word and not prev_letter else ch)
        prev_letter = is_word
    return "".join(out)


def untitle(text: str) -> str:
    out: list[str] = []
    prev = False
    for ch in text:
        word = ch.isalnum() or ch == "_"
        out.append(ch.lower() if word and not prev else ch)
        prev = word
    return "".join(out)


def go_split(text: str, sep: str, limit: int = -1) -> list[str]:
    """``strings.SplitN``: an empty separator splits into characters; ``limit`` < 0 means all."""
    if limit == 0:
        return []
    if sep == "":
        chars = list(text)
        if 0 < limit < len(chars):
            return [*chars[: limit - 1], "".join(chars[limit - 1 :])]
        return chars
    return text.split(sep) if limit < 0 else text.split(sep, limit - 1)


def split(sep: str, orig: str) -> dict[str, Any]:
    return {f"_{i}": part for i, part in enumerate(go_split(orig, sep))}


def splitn(sep: str, n: int, orig: str) -> dict[str, Any]:
    return {f"_{i}": part for i, part in enumerate(go_split(orig, sep, n))}


def split_list(sep: str, orig: str) -> list[Any]:
    return list(go_split(orig, sep))


def join(sep: str, value: Any) -> str:
    return sep.join(strslice(value))


def quote(*values: Any) -> str:
    return " ".join(quote_go(strval(v)) for v in values if v is not None)


def squote(*values: Any) -> str:
    return " ".join(f"'{strval(v)}'" for v in values if v is not None)


def cat(*values: Any) -> str:
    return " ".join(strval(v) for v in values if v is not None)


def indent(spaces: int, text: str) -> str:
    check_template_size(len(text) + max(spaces, 0) * (text.count("\n") + 1), "indent")
    pad = " " * max(spaces, 0)
    return pad + text.replace("\n", "\n" + pad)


def nindent(spaces: int, text: str) -> str:
    return "\n" + indent(spaces, text)


def substr(start: int, end: int, text: str) -> str:
    if start < 0:
        return text[:end]
    if end < 0 or end > len(text):
        return text[start:]
    return text[start:end]


def trunc(count: int, text: str) -> str:
    if count < 0 and len(text) + count > 0:
        return text[len(text) + count :]
    if count >= 0 and len(text) > count:
        return text[:count]
    return text


def repeat(count: int, text: str) -> str:
    check_template_size(max(count, 0) * len(text), "repeat")
    return text * max(count, 0)


def nospace(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace())


def trim_all(cutset: str, text: str) -> str:
    return text.strip(cutset)


def trim_prefix(prefix: str, text: str) -> str:
    return text.removeprefix(prefix)


def trim_suffix(suffix: str, text: str) -> str:
    return text.removesuffix(suffix)


def replace(old: str, new: str, src: str) -> str:
    if old == "":
        # strings.Replace with an empty old string inserts ``new`` around every rune
        return new + new.join(src) + new if src else new
    return src.replace(old, new)


def to_strings(value: Any) -> list[Any]:
    return list(strslice(value))


def sort_alpha(value: Any) -> list[Any]:
    return sorted(strslice(value))


def wrap_with(width: int, sep: str, text: str) -> str:
    """A simple word wrap: break at spaces so no line exceeds ``width`` where possible."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return sep.join(lines)


def _is_connector(ch: str) -> bool:
    return ch in "-_" or ch.isspace()


def pascal_case(text: str) -> str:
    """Sprig ``camelcase`` (xstrings ``ToPascalCase``): connectors drop out, the next letter goes upper."""
    out: list[str] = []
    chars = list(text)
    i = 0
    first_upper = False
    r0 = ""
    while i < len(chars):
        r0 = chars[i]
        i += 1
        if not _is_connector(r0):
            first_upper = r0.isupper()
            r0 = r0.upper()
            break
        out.append(r0)
    else:
        return "".join(out)
    while i < len(chars):
        r1, r0 = r0, chars[i]
        i += 1
        if _is_connector(r0) and _is_connector(r1):
            out.append(r1)
            continue
        if _is_connector(r1):
            first_upper = r0.isupper()
            r0 = r0.upper()
        else:
            if first_upper:
                if r0.isupper():
                    r0 = r0.lower()
                else:
                    first_upper = False
            out.append(r1)
    out.append(r0)
    return "".join(out)


def swapcase(text: str) -> str:
    return "".join(ch.lower() if ch.isupper() else ch.upper() if ch.islower() else ch for ch in text)


def initials(text: str) -> str:
    return "".join(word[0] for word in text.split())


def abbreviate(text: str, offset: int, width: int) -> str:
    """goutils ``AbbreviateFull``: cut to ``width`` with "..." markers, keeping ``offset`` in view."""
    if text == "" or width < 4 or len(text) <= width:
        return text
    offset = min(offset, len(text))
    if len(text) - offset < width - 3:
        offset = len(text) - (width - 3)
    if offset <= 4:
        return text[: width - 3] + "..."
    if width < 7:
        return text
    if offset + width - 3 < len(text):
        return "..." + abbreviate(text[offset:], 0, width - 3)
    return "..." + text[len(text) - (width - 3) :]


def abbrevboth(left: int, right: int, text: str) -> str:
    if right < 4 or (left > 0 and right < 7):
        return text
    return abbreviate(text, left, right)


def url_parse(text: str) -> dict[str, Any]:
    """Sprig ``urlParse``: the parts of a URL as a dict (errors become an empty result, as Sprig panics)."""
    import urllib.parse

    parts = urllib.parse.urlsplit(text)
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    return {
        "scheme": parts.scheme,
        "host": parts.netloc.rpartition("@")[2],
        "hostname": parts.hostname or "",
        "path": parts.path,
        "query": parts.query,
        "opaque": "",
        "fragment": parts.fragment,
        "userinfo": userinfo,
    }


FUNCS: dict[str, GoFunc] = {
    "upper": GoFunc(str.upper, ("str",)),
    "lower": GoFunc(str.lower, ("str",)),
    "title": GoFunc(title, ("str",)),
    "untitle": GoFunc(untitle, ("str",)),
    "trim": GoFunc(trim_space, ("str",)),
    "trimAll": GoFunc(trim_all, ("str", "str")),
    "trimall": GoFunc(trim_all, ("str", "str")),
    "trimPrefix": GoFunc(trim_prefix, ("str", "str")),
    "trimSuffix": GoFunc(trim_suffix, ("str", "str")),
    "replace": GoFunc(replace, ("str", "str", "str")),
    "contains": GoFunc(lambda sub, s: sub in s, ("str", "str")),
    "hasPrefix": GoFunc(lambda p, s: s.startswith(p), ("str", "str")),
    "hasSuffix": GoFunc(lambda p, s: s.endswith(p), ("str", "str")),
    "repeat": GoFunc(repeat, ("int", "str")),
    "substr": GoFunc(substr, ("int", "int", "str")),
    "trunc": GoFunc(trunc, ("int", "str")),
    "nospace": GoFunc(nospace, ("str",)),
    "quote": GoFunc(quote, (), "any"),
    "squote": GoFunc(squote, (), "any"),
    "cat": GoFunc(cat, (), "any"),
    "indent": GoFunc(indent, ("int", "str")),
    "nindent": GoFunc(nindent, ("int", "str")),
    "split": GoFunc(split, ("str", "str")),
    "splitn": GoFunc(splitn, ("str", "int", "str")),
    "splitList": GoFunc(split_list, ("str", "str")),
    "join": GoFunc(join, ("str", "any")),
    "toString": GoFunc(strval, ("any",)),
    "toStrings": GoFunc(to_strings, ("any",)),
    "sortAlpha": GoFunc(sort_alpha, ("any",)),
    "wrapWith": GoFunc(wrap_with, ("int", "str", "str")),
    "wrap": GoFunc(lambda w, s: wrap_with(w, "\n", s), ("int", "str")),
    "camelcase": GoFunc(pascal_case, ("str",)),
    "swapcase": GoFunc(swapcase, ("str",)),
    "initials": GoFunc(initials, ("str",)),
    "abbrev": GoFunc(lambda w, s: s if w < 4 else abbreviate(s, 0, w), ("int", "str")),
    "abbrevboth": GoFunc(abbrevboth, ("int", "int", "str")),
    "plural": GoFunc(lambda one, many, n: one if n == 1 else many, ("str", "str", "int")),
    "urlParse": GoFunc(url_parse, ("str",)),
}
