"""The parse tree: one small dataclass per Go ``parse.Node`` kind the executor understands.

``pos`` is the offset of the node in the template text (for ``line:col``); ``src`` is the node's own text,
which error messages quote as Go does (``executing "t" at <.foo>``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias


@dataclass
class TextNode:
    pos: int
    text: str


@dataclass
class IdentifierNode:
    """A function name."""

    pos: int
    src: str
    name: str


@dataclass
class DotNode:
    pos: int
    src: str = "."


@dataclass
class NilNode:
    pos: int
    src: str = "nil"


@dataclass
class FieldNode:
    """``.a.b``: field chain starting at dot."""

    pos: int
    src: str
    idents: list[str]


@dataclass
class VariableNode:
    """``$x.a.b``: a variable with an optional field chain."""

    pos: int
    src: str
    name: str
    idents: list[str]


@dataclass
class ConstNode:
    """A bool, number, string or character constant, already converted to its value."""

    pos: int
    src: str
    value: Any


@dataclass
class ChainNode:
    """``(pipeline).a.b`` or ``fn.a``: fields applied to another operand's value."""

    pos: int
    src: str
    node: Operand
    idents: list[str]


@dataclass
class CommandNode:
    pos: int
    src: str
    args: list[Operand]


@dataclass
class PipeNode:
    pos: int
    src: str
    decls: list[str] = field(default_factory=list)
    is_assign: bool = False
    cmds: list[CommandNode] = field(default_factory=list)


@dataclass
class ActionNode:
    pos: int
    src: str
    pipe: PipeNode


@dataclass
class ListNode:
    pos: int
    nodes: list[Node] = field(default_factory=list)


@dataclass
class BranchNode:
    """``if``, ``with`` and ``range`` share one shape; ``kind`` says which."""

    kind: str
    pos: int
    src: str
    pipe: PipeNode
    body: ListNode
    else_body: ListNode | None


@dataclass
class TemplateNode:
    pos: int
    src: str
    name: str
    pipe: PipeNode | None


@dataclass
class BreakNode:
    pos: int
    src: str = "break"


@dataclass
class ContinueNode:
    pos: int
    src: str = "continue"


Operand: TypeAlias = (
    IdentifierNode | DotNode | NilNode | FieldNode | VariableNode | ConstNode | ChainNode | PipeNode
)
Node: TypeAlias = TextNode | ActionNode | BranchNode | TemplateNode | BreakNode | ContinueNode | ListNode
