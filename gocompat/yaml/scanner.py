"""The block-YAML scanner both fast readers share: lines, block mappings and sequences, quoted scalars.

Why: importing PyYAML costs more than ``lockstep seal``'s or ``lockstep sops decrypt``'s whole start-up
budget, yet the files they read (Secret manifests, go-yaml's own output) use a tiny part of YAML. A dialect
(``v2.reader``, ``v3.reader``) says what a scalar, a key, a literal block and a mapping are; this walk does
the structure. Anything outside the subset raises :class:`Unsupported`, and :func:`read_fast` answers
``None`` so the caller hands the text to its full PyYAML-based reader, which also enforces the limits.
"""

from __future__ import annotations

from gocompat.limits import MAX_DEPTH, LimitExceeded, check_depth, deeply_indented

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class Unsupported(Exception):
    """The text uses YAML this reader does not handle; the full reader must read it."""


def read_fast(parse: Callable[[str], list[Any]], text: str) -> list[Any] | None:
    """``parse(text)`` within the limits, or ``None`` when the full reader must read ``text``."""
    if deeply_indented(text):
        return None  # the full reader enforces the depth limit (this walk recurses per level)
    try:
        documents = parse(text)
        check_depth(documents, MAX_DEPTH + 1)  # +1: the list of documents
    except (Unsupported, RecursionError, LimitExceeded):
        return None
    return documents


def is_entry(text: str) -> bool:
    """Whether a line's content starts a block sequence entry (``-`` or ``- ...``)."""
    return text == "-" or text.startswith("- ")


def is_document_marker(line: str) -> bool:
    return line.startswith("---") and (len(line) == 3 or line[3] == " ")


def single_quoted(text: str, start: int) -> tuple[str, int]:
    """A one-line single-quoted scalar at ``text[start]``: ``(value, index after the closing quote)``."""
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


def double_quoted(
    text: str, start: int, escapes: dict[str, str], hex_lengths: dict[str, int], *, surrogates: bool
) -> tuple[str, int]:
    """A one-line double-quoted scalar at ``text[start]``: ``(value, index after the closing quote)``.

    ``escapes``/``hex_lengths``: the escapes the dialect reads (others are :class:`Unsupported`);
    ``surrogates``: whether ``\\uD800``-style escapes are taken as they come.
    """
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\":
            code = text[i + 1 : i + 2]
            if code in hex_lengths:
                digits = text[i + 2 : i + 2 + hex_lengths[code]]
                if len(digits) != hex_lengths[code] or not _HEX_DIGITS.issuperset(digits):
                    raise Unsupported("bad escape")
                cp = int(digits, 16)
                if not surrogates and 0xD800 <= cp <= 0xDFFF:
                    raise Unsupported("surrogate escape")
                out.append(chr(cp))
                i += 2 + len(digits)
                continue
            if code not in escapes:
                raise Unsupported("escape or line continuation")
            out.append(escapes[code])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise Unsupported("multi-line double-quoted scalar")


def chomp(body: list[str], indicator: str) -> str:
    """A literal block's lines (``body``, trailing empty lines included) joined and chomped: ``-`` strips
    the final line breaks, ``+`` keeps them all, no indicator keeps one."""
    trailing = 0
    while body and body[-1] == "":
        body.pop()
        trailing += 1
    text = "\n".join(body)
    if indicator == "-":
        return text
    if not body:
        return "\n" * trailing if indicator == "+" else ""
    if indicator == "+":
        return text + "\n" + "\n" * trailing
    return text + "\n"


class BlockScanner:
    """The walk over block mappings and sequences; a dialect subclass supplies the leaves.

    ``lines`` is the reader's private copy: a collection that starts on a ``- `` line is re-read as if that
    line began at the collection's column (the line is rewritten).
    """

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.pos = 0

    # -- the dialect -----------------------------------------------------------------------------------
    def key_split(self, content: str) -> tuple[Any, str] | None:
        """``(key, rest after the colon)`` if ``content`` is a simple ``key: ...`` line, else None."""
        raise NotImplementedError

    def scalar(self, text: str) -> Any:
        """An inline value after ``key:`` or ``-`` that is not a block scalar (``text`` is stripped)."""
        raise NotImplementedError

    def literal(self, header: str, indent: int, in_sequence: bool) -> str:
        """A literal block whose header (``|``, ``|-``...) follows the indicator at column ``indent``."""
        raise NotImplementedError

    def new_mapping(self) -> Any:
        raise NotImplementedError

    def put(self, mapping: Any, key: Any, value: Any) -> None:
        raise NotImplementedError

    def check_entry_spacing(self, spaces: int, rest: str) -> None:
        """Raise :class:`Unsupported` if the dialect declines ``spaces`` blanks after ``-``."""

    # -- lines -----------------------------------------------------------------------------------------
    def skip_blank(self) -> None:
        """Move past blank and comment lines."""
        while self.pos < len(self.lines):
            stripped = self.lines[self.pos].strip()
            if stripped and not stripped.startswith("#"):
                return
            self.pos += 1

    def current(self) -> tuple[int, str] | None:
        """Indent and content of the next meaningful line (None at the end or at a document marker)."""
        self.skip_blank()
        if self.pos >= len(self.lines):
            return None
        line = self.lines[self.pos]
        if is_document_marker(line):
            return None
        content = line.lstrip(" ")
        return len(line) - len(content), content

    # -- nodes -----------------------------------------------------------------------------------------
    def block(self, indent: int) -> Any:
        current = self.current()
        assert current is not None
        if is_entry(current[1]):
            return self.sequence(indent)
        return self.mapping(indent)

    def mapping(self, indent: int) -> Any:
        result = self.new_mapping()
        while True:
            current = self.current()
            if current is None or current[0] < indent:
                return result
            if current[0] > indent:
                raise Unsupported("unexpected indentation")
            if is_entry(current[1]):
                return result  # not a key: the caller finds the bad indentation
            split = self.key_split(current[1])
            if split is None:
                raise Unsupported("not a simple 'key: value' line")
            self.pos += 1
            self.put(result, split[0], self.value_after(split[1], indent, in_sequence=False))

    def sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while True:
            current = self.current()
            if current is None or current[0] < indent:
                return items
            if current[0] > indent:
                raise Unsupported("unexpected indentation")
            if not is_entry(current[1]):
                return items
            items.append(self._item(indent, current[1][1:]))

    def _item(self, indent: int, rest: str) -> Any:
        """One ``-`` entry (``rest``: the text after the dash); a collection may start on its line."""
        stripped = rest.lstrip(" ")
        self.check_entry_spacing(len(rest) - len(stripped), stripped)
        if (
            stripped
            and not stripped.startswith("#")
            and (is_entry(stripped) or self.key_split(stripped) is not None)
        ):
            column = indent + 1 + len(rest) - len(stripped)
            self.lines[self.pos] = " " * column + stripped
            return self.block(column)
        self.pos += 1
        return self.value_after(rest, indent, in_sequence=True)

    def value_after(self, rest: str, indent: int, in_sequence: bool) -> Any:
        """The node after ``key:`` or ``-`` (``rest``: the text after it; ``indent``: its column)."""
        text = rest.strip(" ")
        if not text or text.startswith("#"):
            current = self.current()
            if current is None:
                return None
            child, content = current
            if child > indent or (child == indent and not in_sequence and is_entry(content)):
                return self.block(child)
            return None
        if text[0] == "|":
            return self.literal(text, indent, in_sequence)
        value = self.scalar(text)
        current = self.current()
        if current is not None and current[0] > indent:
            raise Unsupported("a multi-line plain scalar, or bad indentation")
        return value
