"""go-yaml v2 output for JSON-shaped values, as sigs.k8s.io/yaml ``JSONToYAML`` prints them.

Keys in go-yaml's "natural" order, 2-space indent, sequences not indented under their key, plain scalars
wrapped at 80 columns, strings that would read back as another type double-quoted, multi-line strings as
literal blocks. Key order and "would read back as another type" live in ``rules``; the scalar analysis
here follows libyaml's rules (go-yaml is a port of libyaml). Kept apart from the JSON printer so the default
(JSON) path does not compile these patterns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from gocompat.yaml import emitter as libyaml
from gocompat.yaml.v2.rules import needs_quotes, sorted_keys

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep seal` must start fast
if TYPE_CHECKING:
    from typing import Any

BEST_WIDTH = 80
INDENT = 2

_SIMPLE_PLAIN = re.compile(r"[A-Za-z0-9/+_.][A-Za-z0-9/+=_.-]*\Z")


class _Emitter:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.column = 0
        self.at_line_start = True

    def write(self, text: str) -> None:
        self.out.append(text)
        self.column += len(text)
        self.at_line_start = False

    def newline(self, indent: int) -> None:
        self.out.append("\n" + " " * indent)
        self.column = indent
        self.at_line_start = True

    # -- scalars -----------------------------------------------------------------------------------------
    def scalar(self, value: Any, indent: int, simple_key: bool) -> None:
        """Write a scalar; continuation lines of folded scalars go to ``indent``."""
        if value is None:
            self.write("null")
        elif value is True:
            self.write("true")
        elif value is False:
            self.write("false")
        elif isinstance(value, int):
            self.write(str(value))
        elif isinstance(value, float):
            self.write(libyaml.float_text(value))
        else:
            self.string(str(value), indent, simple_key)

    def string(self, value: str, indent: int, simple_key: bool) -> None:
        quoted = needs_quotes(value)
        if not quoted and _SIMPLE_PLAIN.match(value) and not value.startswith("..."):
            self.write(value)  # the common case (names, base64): nothing to analyse, nothing to wrap
            return
        wish = libyaml.LITERAL if "\n" in value else libyaml.DOUBLE if quoted else libyaml.PLAIN
        style = libyaml.settle_style(value, wish, simple_key=simple_key, v3=False)
        allow_breaks = not simple_key
        if style == libyaml.PLAIN:
            self._plain(value, indent, allow_breaks)
        elif style == libyaml.SINGLE:
            self._single(value, indent, allow_breaks)
        elif style == libyaml.DOUBLE:
            self._double(value, indent, allow_breaks)
        else:
            self._literal(value, indent)

    def _plain(self, value: str, indent: int, allow_breaks: bool) -> None:
        # Words are written whole; at a single space past column 80 the line is folded (libyaml's rule).
        words = value.split(" ")
        self.write(words[0])
        for position in range(1, len(words)):
            word = words[position]
            after_word = bool(words[position - 1]) or position == 1
            if allow_breaks and after_word and word and self.column > BEST_WIDTH:
                self.newline(indent)
            else:
                self.write(" ")
            self.write(word)

    def _single(self, value: str, indent: int, allow_breaks: bool) -> None:
        self.write("'")
        spaces = breaks = False
        last = len(value) - 1
        for i, ch in enumerate(value):
            if ch == " ":
                nxt = value[i + 1] if i < last else ""
                if allow_breaks and not spaces and self.column > BEST_WIDTH and 0 < i < last and nxt != " ":
                    self.newline(indent)
                else:
                    self.write(ch)
                spaces = True
            elif ch in libyaml.BREAKS:
                # Only U+2028/U+2029 get here (the others make the scalar double-quoted): libyaml writes the
                # break character itself, then indents the next character as on a new line.
                self.out.append(ch)
                self.column = 0
                breaks = True
            else:
                if breaks:
                    self.write(" " * indent)
                    breaks = False
                self.write("''" if ch == "'" else ch)
                spaces = False
        self.write("'")

    def _double(self, value: str, indent: int, allow_breaks: bool) -> None:
        self.write('"')
        spaces = False
        last = len(value) - 1
        for i, ch in enumerate(value):
            escaped = libyaml.double_escape(ch)
            if escaped is not None:
                self.write(escaped)
                spaces = False
            elif ch == " ":
                if allow_breaks and not spaces and self.column > BEST_WIDTH and 0 < i < last:
                    self.newline(indent)
                    if value[i + 1] == " ":
                        self.write("\\")
                else:
                    self.write(ch)
                spaces = True
            else:
                self.write(ch)
                spaces = False
        self.write('"')

    def _literal(self, value: str, indent: int) -> None:
        self.write("|" + libyaml.block_hints(value, INDENT))
        breaks = True
        self.out.append("\n")
        self.column = 0
        for ch in value:
            if ch in libyaml.BREAKS:
                self.out.append("\n")
                self.column = 0
                breaks = True
            else:
                if breaks:
                    self.out.append(" " * indent)
                    self.column = indent
                    breaks = False
                self.write(ch)
        self.at_line_start = True
        self._after_block = True

    # -- collections -------------------------------------------------------------------------------------
    def node(self, value: Any, indent: int) -> None:
        """A value after ``key:`` or ``-``; the cursor sits right after that indicator."""
        if isinstance(value, Mapping) and value:
            raise AssertionError("non-empty mappings are laid out by the caller")
        if isinstance(value, Mapping):
            self.write(" {}")
        elif isinstance(value, list | tuple):
            self.write(" []")
        else:
            self.write(" ")
            self.scalar(value, indent + INDENT, simple_key=False)

    def mapping(self, value: Mapping[str, Any], indent: int, first_inline: bool) -> None:
        for position, key in enumerate(sorted_keys([str(k) for k in value])):
            if not (position == 0 and first_inline):
                self._line(indent)
            if _simple_key(key):
                self.scalar(key, indent, simple_key=True)
                self.write(":")
            else:  # libyaml's complex key: "? key" then ": value" on the next line
                self.write("? ")
                self.scalar(key, indent + INDENT, simple_key=False)
                self._line(indent)
                self.write(":")
            self._value(value[key], indent, in_mapping=True)

    def sequence(self, value: Sequence[Any], indent: int, first_inline: bool) -> None:
        for position, item in enumerate(value):
            if not (position == 0 and first_inline):
                self._line(indent)
            self.write("-")
            if isinstance(item, Mapping) and item:
                self.write(" ")
                self.mapping(item, indent + INDENT, first_inline=True)
            elif isinstance(item, list | tuple) and item:
                self.write(" ")
                self.sequence(item, indent + INDENT, first_inline=True)
            else:
                self.node(item, indent)

    def _value(self, value: Any, indent: int, in_mapping: bool) -> None:
        if isinstance(value, Mapping) and value:
            self.mapping(value, indent + INDENT, first_inline=False)
        elif isinstance(value, list | tuple) and value:
            self.sequence(value, indent if in_mapping else indent + INDENT, first_inline=False)
        else:
            self.node(value, indent)

    def _line(self, indent: int) -> None:
        if not self.out:
            self.write(" " * indent)
            return
        if self.column == 0 and self.out[-1].endswith("\n"):
            self.write(" " * indent)
        else:
            self.newline(indent)

    _after_block = False


def _simple_key(key: str) -> bool:
    """libyaml writes a key inline only if it fits on one line and is at most 128 bytes."""
    return len(key.encode()) <= 128 and not any(ch in libyaml.BREAKS for ch in key)


def to_yaml(obj: Any) -> str:
    """sigs.k8s.io/yaml JSONToYAML of ``obj`` (a JSON-shaped value), ending with a newline."""
    emitter = _Emitter()
    if isinstance(obj, Mapping) and obj:
        emitter.mapping(obj, 0, first_inline=True)
    elif isinstance(obj, list | tuple) and obj:
        emitter.sequence(obj, 0, first_inline=True)
    elif isinstance(obj, Mapping):
        emitter.write("{}")
    elif isinstance(obj, list | tuple):
        emitter.write("[]")
    else:
        emitter.scalar(obj, INDENT, simple_key=False)
    text = "".join(emitter.out)
    return text if text.endswith("\n") else text + "\n"
