"""Split template text into tokens, following Go's ``text/template/parse`` lexer.

Trim markers (``{{- `` and `` -}}``) and comments are handled here, so the parser never sees the whitespace
they remove.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from gocompat.template.errors import TemplateSyntaxError, position

SPACE_CHARS = " \t\r\n"
KEYWORDS = frozenset(
    {"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"}
)


class T(Enum):
    TEXT = auto()
    LEFT = auto()
    RIGHT = auto()
    SPACE = auto()
    IDENT = auto()
    KEYWORD = auto()
    FIELD = auto()
    VAR = auto()
    DOT = auto()
    STRING = auto()
    CHAR = auto()
    NUMBER = auto()
    BOOL = auto()
    NIL = auto()
    PIPE = auto()
    LPAREN = auto()
    RPAREN = auto()
    DECLARE = auto()
    ASSIGN = auto()
    COMMA = auto()
    EOF = auto()


@dataclass(frozen=True)
class Token:
    type: T
    value: str
    pos: int

    def describe(self) -> str:
        """How Go's parser names a token in an error message."""
        if self.type is T.EOF:
            return "EOF"
        if self.type is T.KEYWORD:
            return f"<{self.value}>"
        if self.type is T.SPACE:
            return "space"
        if self.type is T.STRING:
            return self.value
        return f'"{self.value}"'


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalnum()


class Lexer:
    """One pass over the text; :meth:`tokens` returns the whole token list (templates are small)."""

    def __init__(self, text: str, name: str, left: str = "{{", right: str = "}}") -> None:
        self.text = text
        self.name = name
        self.left = left
        self.right = right
        self.out: list[Token] = []

    def error(self, pos: int, message: str) -> TemplateSyntaxError:
        line, col = position(self.text, pos)
        return TemplateSyntaxError(self.name, line, col, message)

    def tokens(self) -> list[Token]:
        pos = 0
        text = self.text
        while True:
            start = text.find(self.left, pos)
            if start < 0:
                if pos < len(text):
                    self.out.append(Token(T.TEXT, text[pos:], pos))
                break
            after = start + len(self.left)
            trim_left = (
                text.startswith("-", after) and after + 1 < len(text) and text[after + 1] in SPACE_CHARS
            )
            segment = text[pos:start]
            if trim_left:
                segment = segment.rstrip(SPACE_CHARS)
            if segment:
                self.out.append(Token(T.TEXT, segment, pos))
            inner = after + 2 if trim_left else after
            if text.startswith("/*", inner):
                pos = self._comment(start, inner)
            else:
                self.out.append(Token(T.LEFT, self.left, start))
                pos = self._action(inner)
        self.out.append(Token(T.EOF, "", len(text)))
        return self.out

    def _skip_trimmed(self, pos: int) -> int:
        while pos < len(self.text) and self.text[pos] in SPACE_CHARS:
            pos += 1
        return pos

    def _comment(self, start: int, inner: int) -> int:
        end = self.text.find("*/", inner + 2)
        if end < 0:
            raise self.error(start, "unclosed comment")
        pos = end + 2
        if self.text.startswith(" -" + self.right, pos):
            return self._skip_trimmed(pos + 2 + len(self.right))
        if self.text.startswith(self.right, pos):
            return pos + len(self.right)
        raise self.error(start, "comment ends before closing delimiter")

    def _action(self, pos: int) -> int:
        text = self.text
        emit = self.out.append
        while True:
            if pos >= len(text):
                raise self.error(pos, "unclosed action")
            if text.startswith(self.right, pos):
                emit(Token(T.RIGHT, self.right, pos))
                return pos + len(self.right)
            ch = text[pos]
            if ch in SPACE_CHARS:
                end = pos
                while end < len(text) and text[end] in SPACE_CHARS:
                    end += 1
                if text.startswith("-" + self.right, end):
                    if end - pos > 1:
                        emit(Token(T.SPACE, text[pos : end - 1], pos))
                    emit(Token(T.RIGHT, self.right, end - 1))
                    return self._skip_trimmed(end + 1 + len(self.right))
                emit(Token(T.SPACE, text[pos:end], pos))
                pos = end
            elif ch == '"':
                pos = self._quoted(pos)
            elif ch == "`":
                end = text.find("`", pos + 1)
                if end < 0:
                    raise self.error(pos, "unterminated raw quoted string")
                emit(Token(T.STRING, text[pos : end + 1], pos))
                pos = end + 1
            elif ch == "'":
                pos = self._char(pos)
            elif ch == "$":
                end = pos + 1
                while end < len(text) and _is_alnum(text[end]):
                    end += 1
                emit(Token(T.VAR, text[pos:end], pos))
                pos = end
            elif ch == ".":
                if pos + 1 < len(text) and text[pos + 1].isdigit():
                    pos = self._number(pos)
                    continue
                end = pos + 1
                while end < len(text) and _is_alnum(text[end]):
                    end += 1
                emit(Token(T.FIELD if end > pos + 1 else T.DOT, text[pos:end], pos))
                pos = end
            elif ch == "|":
                emit(Token(T.PIPE, ch, pos))
                pos += 1
            elif ch == "(":
                emit(Token(T.LPAREN, ch, pos))
                pos += 1
            elif ch == ")":
                emit(Token(T.RPAREN, ch, pos))
                pos += 1
            elif ch == ",":
                emit(Token(T.COMMA, ch, pos))
                pos += 1
            elif text.startswith(":=", pos):
                emit(Token(T.DECLARE, ":=", pos))
                pos += 2
            elif ch == "=":
                emit(Token(T.ASSIGN, ch, pos))
                pos += 1
            elif ch.isdigit() or (
                ch in "+-" and pos + 1 < len(text) and (text[pos + 1].isdigit() or text[pos + 1] == ".")
            ):
                pos = self._number(pos)
            elif _is_alnum(ch):
                end = pos
                while end < len(text) and _is_alnum(text[end]):
                    end += 1
                word = text[pos:end]
                if word in KEYWORDS:
                    kind = T.KEYWORD
                elif word in ("true", "false"):
                    kind = T.BOOL
                elif word == "nil":
                    kind = T.NIL
                else:
                    kind = T.IDENT
                emit(Token(kind, word, pos))
                pos = end
            else:
                raise self.error(pos, f"bad character U+{ord(ch):04X} {ch!r}")

    def _quoted(self, pos: int) -> int:
        end = pos + 1
        text = self.text
        while True:
            if end >= len(text) or text[end] == "\n":
                raise self.error(pos, "unterminated quoted string")
            if text[end] == "\\":
                end += 2
                continue
            if text[end] == '"':
                break
            end += 1
        self.out.append(Token(T.STRING, text[pos : end + 1], pos))
        return end + 1

    def _char(self, pos: int) -> int:
        end = pos + 1
        text = self.text
        while True:
            if end >= len(text) or text[end] == "\n":
                raise self.error(pos, "unterminated character constant")
            if text[end] == "\\":
                end += 2
                continue
            if text[end] == "'":
                break
            end += 1
        self.out.append(Token(T.CHAR, text[pos : end + 1], pos))
        return end + 1

    def _number(self, pos: int) -> int:
        text = self.text
        end = pos
        if text[end] in "+-":
            end += 1
        digits = "0123456789_"
        if text.startswith(("0x", "0X"), end):
            end += 2
            digits = "0123456789abcdefABCDEF_"
        elif text.startswith(("0o", "0O", "0b", "0B"), end):
            end += 2
        while end < len(text) and text[end] in digits:
            end += 1
        if end < len(text) and text[end] == ".":
            end += 1
            while end < len(text) and text[end] in digits:
                end += 1
        exp_chars = "pP" if digits.startswith("0123456789a") else "eEpP"
        if end < len(text) and text[end] in exp_chars:
            end += 1
            if end < len(text) and text[end] in "+-":
                end += 1
            while end < len(text) and text[end] in "0123456789_":
                end += 1
        if end < len(text) and (_is_alnum(text[end]) or text[end] == "."):
            raise self.error(pos, f"bad number syntax: {text[pos : end + 1]!r}")
        self.out.append(Token(T.NUMBER, text[pos:end], pos))
        return end


def lex(text: str, name: str, left: str = "{{", right: str = "}}") -> list[Token]:
    return Lexer(text, name, left, right).tokens()
