"""Template errors, shaped like Go's ``text/template`` messages so users recognise them.

Messages name the template, the position and the template text at fault; they never carry the data being
rendered, because that data is secret material.
"""

from __future__ import annotations


def position(text: str, offset: int) -> tuple[int, int]:
    """Go's ``ErrorContext`` position: 1-based line, 0-based byte column within that line."""
    head = text[:offset]
    line = head.count("\n") + 1
    newline = head.rfind("\n")
    col = len(head[newline + 1 :].encode("utf-8", "surrogateescape"))
    return line, col


class TemplateError(Exception):
    """Base class: every error names the template and the ``line:col`` where it happened."""

    def __init__(self, name: str, line: int, col: int, message: str) -> None:
        self.name = name
        self.line = line
        self.col = col
        self.message = message
        super().__init__(self.format())

    def format(self) -> str:
        return f"template: {self.name}:{self.line}:{self.col}: {self.message}"


class TemplateSyntaxError(TemplateError):
    """The template text does not parse (also: an unknown function or an undefined variable)."""


class TemplateExecError(TemplateError):
    """Executing a parsed template failed (missing key, bad argument, a function's error)."""

    def __init__(self, name: str, line: int, col: int, message: str, *, executing: str, at: str) -> None:
        self.executing = executing
        self.at = at
        super().__init__(name, line, col, message)

    def format(self) -> str:
        return (
            f'template: {self.name}:{self.line}:{self.col}: executing "{self.executing}" '
            f"at <{self.at}>: {self.message}"
        )


class FuncError(Exception):
    """Raised by template functions; the executor wraps it as ``error calling NAME: ...``.

    Keep the message free of argument values: they may be secrets.
    """
