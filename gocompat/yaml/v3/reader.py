"""A small reader for the block YAML that go-yaml writes (and so every sops-encrypted YAML file), used so
``lockstep sops decrypt`` need not import PyYAML (its import alone costs more than sops' whole run).

It accepts only a strict subset: block mappings and sequences indented with spaces, single-line plain and
quoted scalars, literal blocks, ``[]``/``{}``, ``---`` between documents, and no comments. Anything else
(anchors, tags, flow collections, folded or multi-line scalars, complex keys, tabs...) raises
:class:`Unsupported` and the caller falls back to the full PyYAML-based reader, which is also the reference
the property tests compare this reader against.
"""

from __future__ import annotations

from gocompat.yaml.scanner import BlockScanner, Unsupported, chomp, double_quoted, read_fast, single_quoted
from gocompat.yaml.v3.rules import resolve_plain
from gocompat.yaml.v3.tree import Branch

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from typing import Any


class DuplicateKey(Exception):
    pass


_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
    "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028",
    "P": "\u2029",
}  # fmt: skip
_HEX = {"x": 2, "u": 4, "U": 8}
_INDENT_DIGITS = frozenset("123456789")
_PLAIN_FIRST_FORBIDDEN = set("#,[]{}&*!|>'\"%@`")


def block_header(header: str) -> tuple[str, str, str] | None:
    """A literal block's header as ``\\|([1-9]?)([-+]?)([1-9]?)\\Z`` reads it: (indentation indicator
    before the chomping indicator, chomping, indicator after it), or ``None``. By hand: compiling the
    pattern cost more than reading a whole sops file (a property test checks both agree)."""
    if header[:1] != "|":
        return None
    rest = header[1:]
    before = rest[:1] if rest[:1] in _INDENT_DIGITS else ""
    rest = rest[len(before) :]
    chomping = rest[:1] if rest[:1] in ("-", "+") else ""
    rest = rest[len(chomping) :]
    after = rest[:1] if rest[:1] in _INDENT_DIGITS else ""
    return (before, chomping, after) if rest == after else None


def _quoted(text: str) -> tuple[str, int]:
    if text[0] == '"':
        return double_quoted(text, 0, _ESCAPES, _HEX, surrogates=True)
    return single_quoted(text, 0)


def _plain_ok(text: str) -> bool:
    if not text or text[0] in _PLAIN_FIRST_FORBIDDEN or text != text.strip(" "):
        return False
    if text[0] in "-?:" and (len(text) == 1 or text[1] == " "):
        return False
    return ": " not in text and not text.endswith(":") and "\t" not in text and text not in ("---", "...")


class _Reader(BlockScanner):
    """go-yaml v3's reading of one document: ordered mappings, duplicate keys declined."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(lines)
        self.seen: dict[int, set[str]] = {}

    def key_split(self, content: str) -> tuple[str, str] | None:
        return _key_split(content)

    def scalar(self, text: str) -> Any:
        if text == "[]":
            return []
        if text == "{}":
            return Branch()
        if text[0] in "\"'":
            value, end = _quoted(text)
        else:
            if not _plain_ok(text):
                raise Unsupported("plain scalar")
            return resolve_plain(text)
        if text[end:].strip(" "):
            raise Unsupported("text after a quoted scalar")
        return value

    def new_mapping(self) -> Branch:
        branch = Branch()
        self.seen[id(branch)] = set()
        return branch

    def put(self, mapping: Any, key: Any, value: Any) -> None:
        seen = self.seen[id(mapping)]
        if key in seen:
            raise DuplicateKey(key)
        seen.add(key)
        mapping.append((key, value))

    def check_entry_spacing(self, spaces: int, rest: str) -> None:
        if spaces > 1:
            raise Unsupported("extra spaces after '-'")

    def literal(self, header: str, indent: int, in_sequence: bool) -> str:
        m = block_header(header)
        if not m or (m[0] and m[2]):
            raise Unsupported("block scalar header")
        explicit = m[0] or m[2]
        if explicit and in_sequence:
            raise Unsupported("indentation indicator in a sequence entry")
        body: list[str] = []
        block_indent = indent + int(explicit) if explicit else None
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if not line.strip(" "):
                body.append("")
                self.pos += 1
                continue
            current = len(line) - len(line.lstrip(" "))
            if block_indent is None:
                if current <= indent:
                    break
                block_indent = current
            if current < block_indent:
                break
            body.append(line[block_indent:])
            self.pos += 1
        return chomp(body, m[1])


def _key_split(text: str) -> tuple[str, str] | None:
    """``key: rest`` → (key, rest); ``None`` if the line is not a simple mapping entry."""
    if text[:1] in ('"', "'"):
        key, end = _quoted(text)
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
        first = reader.current()
        if first is None:
            docs.append(Branch())
            continue
        if first[0] != 0:
            raise Unsupported("indented document")
        try:
            node = reader.block(0)
        except DuplicateKey:
            raise Unsupported("duplicate key (the full reader reports it)") from None
        if not isinstance(node, Branch):
            raise Unsupported("document is not a mapping")
        if reader.current() is not None:
            raise Unsupported("trailing content")
        docs.append(node)
    return docs


def read(text: str) -> list[Branch] | None:
    """Every document of a YAML stream, or ``None`` when the full reader must read it."""
    return read_fast(load_documents, text)
