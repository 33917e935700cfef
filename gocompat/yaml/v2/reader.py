"""A small reader for the block YAML that Secret manifests are written in, with PyYAML as the fallback.

Why: importing PyYAML costs ~12 ms, a third of ``lockstep seal``'s start-up budget, while Secret
manifests use a tiny part of YAML (block mappings and sequences, plain and quoted scalars, literal
blocks, comments, ``---``). This reader accepts exactly that part and answers ``None`` for anything else
(anchors, tags, flow collections, folded or multi-line scalars, numbers, tabs, ...), so the caller hands
the text to PyYAML and the result is always what PyYAML would have produced.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from gocompat.limits import MAX_DEPTH, LimitExceeded, check_depth, deeply_indented

_BOOLS = {
    "yes": True, "Yes": True, "YES": True, "true": True, "True": True, "TRUE": True, "on": True, "On": True,
    "ON": True, "no": False, "No": False, "NO": False, "false": False, "False": False, "FALSE": False,
    "off": False, "Off": False, "OFF": False,
}  # fmt: skip
_NULLS = ("~", "null", "Null", "NULL")
_PLAIN_FIRST_FORBIDDEN = set("[]{}&*!|>'\"%@`,?:#")
_ESCAPES = {"\\": "\\", '"': '"', "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0", " ": " "}


# Plain scalars that YAML 1.1 reads as numbers (yaml.org/type/int, /float) or merge/value keys are left
# to PyYAML. Timestamps need no care: Lockstep's loader keeps them as the same plain string.
_NUMBER_FIRST = frozenset("-+.0123456789<=")
_NUMBERISH = (
    r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"
    r"|[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|<<|="
)


@cache
def _numberish() -> re.Pattern[str]:
    """Compiled on first need: many manifests hold no plain scalar starting with a digit or sign."""
    return re.compile(_NUMBERISH)


class _Unsupported(Exception):
    """Outside the subset: let PyYAML read it."""


def read(text: str) -> list[Any] | None:
    """The documents in ``text`` (empty ones dropped), or None if PyYAML must read it."""
    if "\t" in text or "\r" in text or text.startswith("\ufeff") or deeply_indented(text):
        return None
    try:
        documents = _Reader(text).documents()
        check_depth(documents, MAX_DEPTH + 1)  # +1: the list of documents
    except (_Unsupported, RecursionError, LimitExceeded):
        return None  # PyYAML's reader, with the limits, explains what is wrong
    return documents


class _Reader:
    def __init__(self, text: str) -> None:
        self.final_newline = text.endswith("\n")
        self.lines = text.split("\n")
        if self.final_newline:
            self.lines.pop()  # the text after the last line break is not a line
        self.i = 0

    # -- lines -------------------------------------------------------------------------------------------
    def _skip_blank(self) -> None:
        while self.i < len(self.lines):
            stripped = self.lines[self.i].strip()
            if stripped and not stripped.startswith("#"):
                return
            self.i += 1

    def _current(self) -> tuple[int, str] | None:
        """Indent and content of the next meaningful line (None at a document end)."""
        self._skip_blank()
        if self.i >= len(self.lines):
            return None
        line = self.lines[self.i]
        if _is_document_marker(line):
            return None
        content = line.lstrip(" ")
        return len(line) - len(content), content

    def documents(self) -> list[Any]:
        docs: list[Any] = []
        while True:
            self._skip_blank()
            if self.i >= len(self.lines):
                return docs
            line = self.lines[self.i]
            if line.startswith("%") or line.startswith("..."):
                raise _Unsupported
            if _is_document_marker(line):
                rest = line[3:].strip()
                if rest and not rest.startswith("#"):
                    raise _Unsupported
                self.i += 1
                continue
            current = self._current()
            if current is None:
                continue
            value = self._block(current[0])
            nxt = self._current()
            if nxt is not None:
                raise _Unsupported  # content after the root node (bad indentation): PyYAML explains it
            if value is not None:
                docs.append(value)

    # -- nodes -------------------------------------------------------------------------------------------
    def _block(self, indent: int) -> Any:
        current = self._current()
        assert current is not None
        _, content = current
        if content == "-" or content.startswith("- "):
            return self._sequence(indent)
        if _split_key(content) is not None:
            return self._mapping(indent)
        raise _Unsupported  # a root or nested scalar on its own line

    def _mapping(self, indent: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        while True:
            current = self._current()
            if current is None or current[0] < indent:
                return result
            if current[0] > indent:
                raise _Unsupported
            content = current[1]
            split = _split_key(content)
            if split is None:
                raise _Unsupported
            key, rest = split
            self.i += 1
            result[key] = self._value_after(rest, indent, in_mapping=True)

    def _sequence(self, indent: int) -> list[Any]:
        result: list[Any] = []
        while True:
            current = self._current()
            if current is None or current[0] < indent:
                return result
            if current[0] > indent:
                raise _Unsupported
            content = current[1]
            if not (content == "-" or content.startswith("- ")):
                return result
            rest = content[1:]
            stripped = rest.lstrip(" ")
            if (
                stripped
                and not stripped.startswith("#")
                and (_split_key(stripped) is not None or stripped == "-" or stripped.startswith("- "))
            ):
                # "- key: v" or "- - x": the item is a block whose column is where its content starts.
                column = indent + 1 + (len(rest) - len(stripped))
                self.lines[self.i] = " " * column + stripped
                result.append(self._block(column))
                continue
            self.i += 1
            result.append(self._value_after(rest, indent, in_mapping=False))

    def _value_after(self, rest: str, indent: int, in_mapping: bool) -> Any:
        """The value after ``key:`` or ``-``; ``indent`` is the column of the key or dash."""
        text = rest.strip(" ")
        if not text or text.startswith("#"):
            current = self._current()
            if current is None:
                return None
            child_indent, content = current
            if child_indent > indent:
                return self._block(child_indent)
            if in_mapping and child_indent == indent and (content == "-" or content.startswith("- ")):
                return self._sequence(indent)
            return None
        if text[0] == "|":
            return self._literal(text, indent)
        value = _inline_scalar(text)
        current = self._current()
        if current is not None and current[0] > indent:
            raise _Unsupported  # a multi-line plain scalar or an error: PyYAML decides
        return value

    def _literal(self, header: str, indent: int) -> str:
        indicator, _, comment = header[1:].partition(" ")
        if indicator not in ("", "-", "+") or (comment.strip() and not comment.strip().startswith("#")):
            raise _Unsupported
        lines: list[str] = []
        block_indent = 0
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if not line.strip(" "):
                if block_indent and len(line) > block_indent:
                    raise _Unsupported
                if not block_indent and line:
                    raise _Unsupported
                lines.append("")
                self.i += 1
                continue
            line_indent = len(line) - len(line.lstrip(" "))
            if not block_indent:
                if line_indent <= indent or _is_document_marker(line):
                    break
                block_indent = line_indent
            if line_indent < block_indent or (line_indent == 0 and _is_document_marker(line)):
                break
            lines.append(line[block_indent:])
            self.i += 1
        trailing = 0
        while lines and lines[-1] == "":
            lines.pop()
            trailing += 1
        if self.i >= len(self.lines) and not self.final_newline:
            raise _Unsupported  # a block ending without a line break: rare, PyYAML decides
        body = "\n".join(lines)
        if indicator == "-":
            return body
        if indicator == "+":
            return body + "\n" * (trailing + (1 if lines else 0)) if lines else "\n" * trailing
        return body + "\n" if lines else ""


def _is_document_marker(line: str) -> bool:
    return line.startswith("---") and (len(line) == 3 or line[3] == " ")


def _split_key(content: str) -> tuple[Any, str] | None:
    """``(key, rest)`` if the line is ``key: ...``; None if it is not a mapping entry."""
    if content[0] in "\"'":
        key_text, end = _quoted(content)
        rest = content[end:]
        if rest.startswith(":") and (len(rest) == 1 or rest[1] == " "):
            return key_text, rest[1:]
        return None
    position = content.find(": ")
    if position < 0 and content.endswith(":"):
        position = len(content) - 1
    if position <= 0:
        return None
    key = content[:position].rstrip(" ")
    if " #" in key:
        return None
    return _plain_key(key), content[position + 1 :]


def _plain_key(text: str) -> str:
    value = _plain(text)
    if not isinstance(value, str):
        raise _Unsupported  # non-string keys (true:, 1:, ~:) are PyYAML's business
    return value


def _inline_scalar(text: str) -> Any:
    if text[0] in "\"'":
        value, end = _quoted(text)
        rest = text[end:].strip(" ")
        if rest and not rest.startswith("#"):
            raise _Unsupported
        return value
    if text in ("{}", "[]"):
        return {} if text == "{}" else []
    comment = text.find(" #")
    if comment >= 0:
        text = text[:comment].rstrip(" ")
    return _plain(text)


def _plain(text: str) -> Any:
    if not text or text[0] in _PLAIN_FIRST_FORBIDDEN or text.startswith("- ") or text == "-":
        raise _Unsupported
    if ": " in text or text.endswith(":") or " #" in text:
        raise _Unsupported
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _NULLS:
        return None
    if (text[0] in _NUMBER_FIRST and _numberish().fullmatch(text)) or not text.isprintable():
        raise _Unsupported
    return text


def _quoted(text: str) -> tuple[str, int]:
    """A single-line quoted scalar starting at ``text[0]``: ``(value, index after the closing quote)``."""
    quote = text[0]
    out: list[str] = []
    i = 1
    while i < len(text):
        ch = text[i]
        if quote == "'" and ch == "'":
            if text[i + 1 : i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        if quote == '"' and ch == '"':
            return "".join(out), i + 1
        if quote == '"' and ch == "\\":
            code = text[i + 1 : i + 2]
            if code in _ESCAPES:
                out.append(_ESCAPES[code])
                i += 2
                continue
            if code in ("x", "u"):
                digits = text[i + 2 : i + (4 if code == "x" else 6)]
                if len(digits) == (2 if code == "x" else 4) and all(
                    c in "0123456789abcdefABCDEF" for c in digits
                ):
                    cp = int(digits, 16)
                    if 0xD800 <= cp <= 0xDFFF:
                        raise _Unsupported
                    out.append(chr(cp))
                    i += 2 + len(digits)
                    continue
            raise _Unsupported
        if not ch.isprintable():
            raise _Unsupported
        out.append(ch)
        i += 1
    raise _Unsupported  # the scalar continues on the next line
