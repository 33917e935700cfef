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

from gocompat.yaml.scanner import (
    BlockScanner,
    Unsupported,
    chomp,
    double_quoted,
    is_document_marker,
    read_fast,
    single_quoted,
)

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep seal` must start fast
if TYPE_CHECKING:
    from typing import Any

_BOOLS = {
    "yes": True, "Yes": True, "YES": True, "true": True, "True": True, "TRUE": True, "on": True, "On": True,
    "ON": True, "no": False, "No": False, "NO": False, "false": False, "False": False, "FALSE": False,
    "off": False, "Off": False, "OFF": False,
}  # fmt: skip
_NULLS = ("~", "null", "Null", "NULL")
_PLAIN_FIRST_FORBIDDEN = set("[]{}&*!|>'\"%@`,?:#")
_ESCAPES = {"\\": "\\", '"': '"', "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0", " ": " "}
_HEX_LENGTHS = {"x": 2, "u": 4}


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


def read(text: str) -> list[Any] | None:
    """The documents in ``text`` (empty ones dropped), or None if PyYAML must read it."""
    if "\t" in text or "\r" in text or text.startswith("\ufeff"):
        return None
    return read_fast(lambda body: _Reader(body).documents(), text)


class _Reader(BlockScanner):
    def __init__(self, text: str) -> None:
        self.final_newline = text.endswith("\n")
        lines = text.split("\n")
        if self.final_newline:
            lines.pop()  # the text after the last line break is not a line
        super().__init__(lines)

    def documents(self) -> list[Any]:
        docs: list[Any] = []
        while True:
            self.skip_blank()
            if self.pos >= len(self.lines):
                return docs
            line = self.lines[self.pos]
            if line.startswith("%") or line.startswith("..."):
                raise Unsupported
            if is_document_marker(line):
                rest = line[3:].strip()
                if rest and not rest.startswith("#"):
                    raise Unsupported
                self.pos += 1
                continue
            current = self.current()
            assert current is not None
            value = self.block(current[0])
            if self.current() is not None:
                raise Unsupported  # content after the root node (bad indentation): PyYAML explains it
            if value is not None:
                docs.append(value)

    # -- the dialect: what PyYAML (YAML 1.1) reads ---------------------------------------------------
    def key_split(self, content: str) -> tuple[Any, str] | None:
        return _split_key(content)

    def scalar(self, text: str) -> Any:
        return _inline_scalar(text)

    def new_mapping(self) -> dict[Any, Any]:
        return {}

    def put(self, mapping: Any, key: Any, value: Any) -> None:
        mapping[key] = value  # a repeated key: the last one wins, as in PyYAML

    def literal(self, header: str, indent: int, in_sequence: bool) -> str:
        indicator, _, comment = header[1:].partition(" ")
        if indicator not in ("", "-", "+") or (comment.strip() and not comment.strip().startswith("#")):
            raise Unsupported
        lines: list[str] = []
        block_indent = 0
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if not line.strip(" "):
                if block_indent and len(line) > block_indent:
                    raise Unsupported
                if not block_indent and line:
                    raise Unsupported
                lines.append("")
                self.pos += 1
                continue
            line_indent = len(line) - len(line.lstrip(" "))
            if not block_indent:
                if line_indent <= indent or is_document_marker(line):
                    break
                block_indent = line_indent
            if line_indent < block_indent or (line_indent == 0 and is_document_marker(line)):
                break
            lines.append(line[block_indent:])
            self.pos += 1
        if self.pos >= len(self.lines) and not self.final_newline:
            raise Unsupported  # a block ending without a line break: rare, PyYAML decides
        return chomp(lines, indicator)


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
        raise Unsupported  # non-string keys (true:, 1:, ~:) are PyYAML's business
    return value


def _inline_scalar(text: str) -> Any:
    if text[0] in "\"'":
        value, end = _quoted(text)
        rest = text[end:].strip(" ")
        if rest and not rest.startswith("#"):
            raise Unsupported
        return value
    if text in ("{}", "[]"):
        return {} if text == "{}" else []
    comment = text.find(" #")
    if comment >= 0:
        text = text[:comment].rstrip(" ")
    return _plain(text)


def _plain(text: str) -> Any:
    if not text or text[0] in _PLAIN_FIRST_FORBIDDEN or text.startswith("- ") or text == "-":
        raise Unsupported
    if ": " in text or text.endswith(":") or " #" in text:
        raise Unsupported
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _NULLS:
        return None
    if (text[0] in _NUMBER_FIRST and _numberish().fullmatch(text)) or not text.isprintable():
        raise Unsupported
    return text


def _quoted(text: str) -> tuple[str, int]:
    """A single-line quoted scalar starting at ``text[0]``: ``(value, index after the closing quote)``."""
    if text[0] == "'":
        value, end = single_quoted(text, 0)
    else:
        value, end = double_quoted(text, 0, _ESCAPES, _HEX_LENGTHS, surrogates=False)
    if not text[:end].isprintable():
        raise Unsupported
    return value, end
