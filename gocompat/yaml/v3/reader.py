"""A small reader for the block YAML that go-yaml writes (and so every sops-encrypted YAML file), used so
``lockstep sops decrypt`` need not import PyYAML (its import alone costs more than sops' whole run).

It accepts only a strict subset: block mappings and sequences indented with spaces, single-line plain and
quoted scalars, literal blocks, ``[]``/``{}``, ``---`` between documents, and no comments. Anything else
(anchors, tags, flow collections, folded or multi-line scalars, complex keys, tabs...) raises
:class:`Unsupported` and the caller falls back to the full PyYAML-based reader, which is also the reference
the property tests compare this reader against.
"""

from __future__ import annotations

import re

from gocompat.limits import MAX_DEPTH, LimitExceeded, check_depth, deeply_indented
from gocompat.yaml.v3.rules import resolve_plain
from gocompat.yaml.v3.tree import Branch

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from typing import Any


class Unsupported(Exception):
    """The text uses YAML this reader does not handle; use the full reader."""


class DuplicateKey(Exception):
    pass


_BLOCK_HEADER = re.compile(r"\|([1-9]?)([-+]?)([1-9]?)\Z")
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
    "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028",
    "P": "\u2029",
}  # fmt: skip
_HEX = {"x": 2, "u": 4, "U": 8}
_PLAIN_FIRST_FORBIDDEN = set("#,[]{}&*!|>'\"%@`")


def _double(text: str, start: int) -> tuple[str, int]:
    """A double-quoted scalar starting at ``text[start] == '"'`` → (value, index after the quote)."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt in _HEX:
                digits = text[i + 2 : i + 2 + _HEX[nxt]]
                if len(digits) != _HEX[nxt] or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise Unsupported("bad escape")
                out.append(chr(int(digits, 16)))
                i += 2 + _HEX[nxt]
                continue
            if nxt not in _ESCAPES:
                raise Unsupported("escape or line continuation")
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise Unsupported("multi-line double-quoted scalar")


def _single(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "'":
            if text[i + 1 : i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise Unsupported("multi-line single-quoted scalar")


def _plain_ok(text: str) -> bool:
    if not text or text[0] in _PLAIN_FIRST_FORBIDDEN or text != text.strip(" "):
        return False
    if text[0] in "-?:" and (len(text) == 1 or text[1] == " "):
        return False
    return ": " not in text and not text.endswith(":") and "\t" not in text and text not in ("---", "...")


class _Reader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.pos = 0

    # -- helpers -------------------------------------------------------------------------------------
    def _indent(self, n: int) -> int:
        line = self.lines[n]
        return len(line) - len(line.lstrip(" "))

    def _next_content(self) -> int | None:
        n = self.pos
        while n < len(self.lines):
            if self.lines[n].strip(" "):
                return n
            n += 1
        return None

    def _scalar(self, text: str) -> Any:
        """An inline value (after ``key: `` or ``- ``) that is not a block scalar."""
        if text == "[]":
            return []
        if text == "{}":
            return Branch()
        if text[0] == '"':
            value, end = _double(text, 0)
        elif text[0] == "'":
            value, end = _single(text, 0)
        else:
            if not _plain_ok(text):
                raise Unsupported("plain scalar")
            return resolve_plain(text)
        if text[end:].strip(" "):
            raise Unsupported("text after a quoted scalar")
        return value

    def _literal(self, header: str, parent_indent: int, in_sequence: bool) -> str:
        m = _BLOCK_HEADER.match(header)
        if not m or (m[1] and m[3]):
            raise Unsupported("block scalar header")
        explicit = m[1] or m[3]
        if explicit and in_sequence:
            raise Unsupported("indentation indicator in a sequence entry")
        chomp = m[2]
        body: list[str] = []
        indent = parent_indent + int(explicit) if explicit else None
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if not line.strip(" "):
                body.append("")
                self.pos += 1
                continue
            current = len(line) - len(line.lstrip(" "))
            if indent is None:
                if current <= parent_indent:
                    break
                indent = current
            if current < indent:
                break
            body.append(line[indent:])
            self.pos += 1
        # Trailing empty lines only matter for chomping (blank lines carry no structure).
        trailing = 0
        while body and body[-1] == "":
            body.pop()
            trailing += 1
        text = "\n".join(body)
        if chomp == "-":
            return text
        if not body:
            return "\n" * trailing if chomp == "+" else ""
        if chomp == "+":
            return text + "\n" + "\n" * trailing
        return text + "\n"

    def _value_after_indicator(self, rest: str, indent: int, in_sequence: bool) -> Any:
        """The node after ``key:`` (``rest`` = text after the colon) or after ``- ``."""
        rest = rest.strip(" ")
        if rest.startswith("|"):
            return self._literal(rest, indent, in_sequence)
        if rest:
            return self._scalar(rest)
        n = self._next_content()
        if n is None:
            return None
        child = self._indent(n)
        line = self.lines[n][child:]
        indentless = not in_sequence and (line == "-" or line.startswith("- "))
        if child > indent or (child == indent and indentless):
            return self._block(child)
        return None

    # -- collections ---------------------------------------------------------------------------------
    def _block(self, indent: int) -> Any:
        n = self._next_content()
        assert n is not None
        text = self.lines[n][indent:]
        if text == "-" or text.startswith("- "):
            return self._sequence(indent)
        return self._mapping(indent)

    def _sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while True:
            n = self._next_content()
            if n is None or self._indent(n) != indent:
                if n is not None and self._indent(n) > indent:
                    raise Unsupported("unexpected indentation")
                return items
            text = self.lines[n][indent:]
            if not (text == "-" or text.startswith("- ")):
                return items
            self.pos = n
            items.append(self._item(indent, text[2:] if len(text) > 1 else ""))

    def _item(self, indent: int, rest: str) -> Any:
        """One ``- `` entry; a mapping or sequence may start on the same line."""
        column = indent + 2
        stripped = rest.lstrip(" ")
        if stripped != rest:
            raise Unsupported("extra spaces after '-'")
        # A collection starting on the ``- `` line is re-read as if that line began at ``column`` (the
        # line is rewritten in this reader's private copy).
        if rest == "-" or rest.startswith("- "):
            self.lines[self.pos] = " " * column + rest
            return self._sequence(column)
        if rest and not rest.startswith(("|", '"', "'", "[", "{")) and _key_split(rest) is not None:
            self.lines[self.pos] = " " * column + rest
            return self._mapping(column)
        if rest.startswith(('"', "'")) and _key_split(rest) is not None:
            self.lines[self.pos] = " " * column + rest
            return self._mapping(column)
        self.pos += 1
        return self._value_after_indicator(rest, indent, True)

    def _mapping(self, indent: int) -> Branch:
        branch = Branch()
        seen: set[str] = set()
        while True:
            n = self._next_content()
            if n is None:
                return branch
            current = self._indent(n)
            if current < indent:
                return branch
            if current > indent:
                raise Unsupported("unexpected indentation")
            text = self.lines[n][indent:]
            if text == "-" or text.startswith("- "):
                return branch
            split = _key_split(text)
            if split is None:
                raise Unsupported("not a simple 'key: value' line")
            key, rest = split
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
            self.pos = n + 1
            branch.append((key, self._value_after_indicator(rest, indent, False)))


def _key_split(text: str) -> tuple[str, str] | None:
    """``key: rest`` → (key, rest); ``None`` if the line is not a simple mapping entry."""
    if text[:1] in ('"', "'"):
        key, end = (_double if text[0] == '"' else _single)(text, 0)
        if text[end : end + 1] != ":" or (len(text) > end + 1 and text[end + 1] != " "):
            return None
        return key, text[end + 1 :]
    cut = text.find(": ")
    if cut < 0:
        if not text.endswith(":"):
            return None
        cut = len(text) - 1
    raw = text[:cut]
    if not _plain_ok(raw) and raw != "<<":
        return None
    key = resolve_plain(raw)
    if not isinstance(key, str):
        raise Unsupported("non-string key")
    return key, text[cut + 1 :]


def load_documents(text: str) -> list[Branch]:
    """Documents of a comment-free block-YAML stream, or :class:`Unsupported`."""
    if "#" in text or "\n..." in text or not text.replace("\n", "").isprintable():
        # Comments, document end markers, tabs, CR, BOM, NEL/LS/PS and other special characters.
        raise Unsupported("comments, document end markers or special characters")
    if text and not text.endswith("\n") and "|" in text:
        raise Unsupported("block scalar at the end of a stream without a final line break")
    docs: list[Branch] = []
    chunks: list[list[str]] = [[]]
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the text after the final line break is not a line
    for line in lines:
        if line == "---" or line.startswith("--- "):
            if line != "---":
                raise Unsupported("content on a document marker line")
            chunks.append([])
        elif line.startswith("%"):
            raise Unsupported("directive")
        else:
            chunks[-1].append(line)
    if not any(s.strip(" ") for s in chunks[0]):
        chunks = chunks[1:]  # nothing before the first '---' (or no documents at all)
    for lines in chunks:
        reader = _Reader(lines)
        first = reader._next_content()
        if first is None:
            docs.append(Branch())
            continue
        if reader._indent(first) != 0:
            raise Unsupported("indented document")
        try:
            node = reader._block(0)
        except DuplicateKey:
            raise Unsupported("duplicate key (the full reader reports it)") from None
        if not isinstance(node, Branch):
            raise Unsupported("document is not a mapping")
        if reader._next_content() is not None:
            raise Unsupported("trailing content")
        docs.append(node)
    return docs


def read(text: str) -> list[Branch] | None:
    """Every document of a YAML stream, or ``None`` when the full reader must read it."""
    if deeply_indented(text):
        return None  # deep nesting: the full reader enforces the depth limit
    try:
        documents = load_documents(text)
        check_depth(documents, MAX_DEPTH + 1)  # +1: the list of documents
    except (Unsupported, RecursionError, LimitExceeded):
        return None
    return documents
