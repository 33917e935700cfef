"""A YAML writer that lays out block YAML the way go-yaml v3 does for sops (indent 4 by default).

It reproduces go-yaml's emitter for what sops writes: block mappings and sequences, ``{}``/``[]`` for empty
collections, the plain / single / double-quoted / literal choice for strings, comments as full lines. The
indentation rule is go-yaml's: a collection nested in a mapping steps to the next multiple of the indent,
one nested in a sequence item starts right after ``- ``.
"""

from __future__ import annotations

from gocompat.yaml import emitter as libyaml
from gocompat.yaml.v3.rules import can_use_plain
from gocompat.yaml.v3.tree import Branch, Comment, GoTime

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


def string_style(value: str, simple_key: bool = False) -> str:
    """The style go-yaml ends up writing a string in (encoder wish, then emitter constraints)."""
    wish = libyaml.LITERAL if "\n" in value else libyaml.PLAIN if can_use_plain(value) else libyaml.DOUBLE
    return libyaml.settle_style(value, wish, simple_key=simple_key, v3=True)


def _double_quoted(value: str) -> str:
    return '"' + "".join(libyaml.double_escape(ch) or ch for ch in value) + '"'


def scalar_text(value: Any) -> tuple[str, str]:
    """(style, raw text) of a leaf."""
    if value is None:
        return libyaml.PLAIN, "null"
    if isinstance(value, bool):
        return libyaml.PLAIN, "true" if value else "false"
    if isinstance(value, int):
        return libyaml.PLAIN, str(value)
    if isinstance(value, float):
        return libyaml.PLAIN, libyaml.float_text(value)
    if isinstance(value, GoTime):
        return libyaml.PLAIN, value.text
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, Comment):
        value = value.value
    return string_style(value), value


class _Emitter:
    """go-yaml's writer state (column, whitespace, indention, foot_indent) driven by a recursive walk."""

    def __init__(self, indent: int) -> None:
        self.best = indent if 2 <= indent <= 9 else 2
        self.out: list[str] = []
        self.column = 0
        self.whitespace = True
        self.indention = True
        self.indent = -1
        self.foot_indent = -1

    def put(self, text: str) -> None:
        self.out.append(text)
        self.column += len(text)

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0
        self.indention = True

    def write_indent(self) -> None:
        indent = max(self.indent, 0)
        if not self.indention or self.column > indent or (self.column == indent and not self.whitespace):
            self.put_break()
        if self.foot_indent == indent:
            self.put_break()
        if self.column < indent:
            self.put(" " * (indent - self.column))
        self.whitespace = True
        self.foot_indent = -1

    def indicator(self, text: str, need_ws: bool, is_ws: bool, is_indention: bool) -> None:
        if need_ws and not self.whitespace:
            self.put(" ")
        self.put(text)
        self.whitespace = is_ws
        self.indention = self.indention and is_indention

    def comment(self, lines: Sequence[str]) -> None:
        for n, line in enumerate(lines):
            if n:
                self.write_indent()
            self.put(line if line.startswith("#") else "# " + line)
            self.indention = False
            self.put_break()
        self.whitespace = True

    def increase(self, in_sequence_item: bool, flow: bool = False) -> None:
        if self.indent < 0:
            self.indent = self.best if flow else 0
        elif in_sequence_item:
            self.indent += 2
        else:
            self.indent = self.best * ((self.indent + self.best) // self.best)

    # -- nodes ---------------------------------------------------------------------------------------
    def node(self, value: Any, in_sequence_item: bool, simple_key: bool = False) -> None:
        if isinstance(value, Branch) and any(not isinstance(k, Comment) for k, _ in value):
            self.mapping(value, in_sequence_item)
        elif isinstance(value, list) and any(not isinstance(v, Comment) for v in value):
            self.sequence(value, in_sequence_item)
        elif isinstance(value, Branch):
            self.indicator("{}", True, False, False)
        elif isinstance(value, list):
            self.indicator("[]", True, False, False)
        else:
            self.scalar(value, in_sequence_item, simple_key)

    def mapping(self, branch: Branch, in_sequence_item: bool) -> None:
        self.block(branch, in_sequence_item, is_mapping=True)

    def sequence(self, items: list[Any], in_sequence_item: bool) -> None:
        self.block(items, in_sequence_item, is_mapping=False)

    def block(self, entries: Sequence[Any], in_sequence_item: bool, *, is_mapping: bool) -> None:
        """A block mapping (entries are ``(key, value)``) or sequence: one indentation step, comments
        written as full lines before the entry they precede, foot comments after the last entry."""
        saved = self.indent
        self.increase(in_sequence_item)
        pending: list[str] = []
        for entry in entries:
            head = entry[0] if is_mapping else entry
            if isinstance(head, Comment):
                pending.append("#" + head.value)
                continue
            if pending:
                self.write_indent()
                self.comment(pending)
                pending = []
            self.write_indent()
            if is_mapping:
                self.mapping_entry(entry[0], entry[1])
            else:
                self.indicator("-", True, False, True)
                self.node(entry, True)
        if pending:  # foot comments of the last entry: written at this level, then a blank line if followed
            self.write_indent()
            self.comment(pending)
            self.foot_indent = max(self.indent, 0)
        self.indent = saved

    def mapping_entry(self, key: str, value: Any) -> None:
        if len(key.encode("utf-8", "surrogateescape")) > 128 or any(ch in libyaml.BREAKS for ch in key):
            # go-yaml's complex key form for keys too long (or multi-line) to be simple keys.
            self.indicator("?", True, False, True)
            self.scalar(key, False)
            self.write_indent()
            self.indicator(":", True, False, True)
        else:
            self.scalar(key, False, simple_key=True)
            self.indicator(":", False, False, False)
        self.node(value, False)

    def scalar(self, value: Any, in_sequence_item: bool, simple_key: bool = False) -> None:
        style, text = scalar_text(value)
        if simple_key and style == libyaml.LITERAL:
            style = libyaml.DOUBLE
        saved = self.indent
        self.increase(in_sequence_item, flow=True)
        if style == libyaml.PLAIN:
            if text and not self.whitespace:
                self.put(" ")
            self.put(text)
            if text:
                self.whitespace = False
            self.indention = False
        elif style == libyaml.SINGLE:
            self.indicator("'", True, False, False)
            self.put(self._single_body(text))
            self.indicator("'", False, False, False)
            self.whitespace = self.indention = False
        elif style == libyaml.DOUBLE:
            self.indicator('"', True, False, False)
            self.put(_double_quoted(text)[1:-1])
            self.indicator('"', False, False, False)
            self.whitespace = self.indention = False
        else:
            self.literal(text)
        self.indent = saved

    def _single_body(self, text: str) -> str:
        return text.replace("'", "''")

    def literal(self, text: str) -> None:
        self.indicator("|", True, False, False)
        hints = libyaml.block_hints(text, self.best)
        if hints:
            self.indicator(hints, False, False, False)
        self.put_break()
        self.whitespace = True
        breaks = True
        for ch in text:
            if ch == "\n":
                self.put_break()
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(ch)
                self.indention = False
                breaks = False


def emit_documents(documents: Sequence[Any], indent: int = 4) -> str:
    """A YAML stream of block mappings (or of any nodes: ``--extract``'s sequences and scalars), documents
    after the first introduced by ``---``."""
    em = _Emitter(indent)
    for n, doc in enumerate(documents):
        em.indent = -1
        if n:
            em.put("---")
            em.whitespace = em.indention = False
        em.node(doc, False)
        if em.column != 0:
            em.put_break()
        em.foot_indent = -1
    return "".join(em.out)
