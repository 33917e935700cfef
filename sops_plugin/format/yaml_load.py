"""Reading YAML into sops' tree with go-yaml v3's typing, keeping order and comments.

PyYAML builds the node graph (its C parser when the text has no ``#``, which is the fast path for files
without comments); scalars are then typed by go-yaml's rules (``gocompat.yaml.v3.rules``), not PyYAML's
YAML 1.1 ones. Comments are captured by a scanner hook and placed, as sops does, before the entry that
follows them (or at the end of the collection they are indented into).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import yaml
from yaml.composer import Composer
from yaml.constructor import BaseConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from gocompat import limits
from gocompat.yaml.v3.rules import parse_timestamp, resolve_plain
from gocompat.yaml.v3.tree import Branch, Comment, GoTime

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from typing import Any


PLAIN_TAG = "!lockstep-plain"
_STR = "tag:yaml.org,2002:str"


class YamlError(Exception):
    pass


class _Resolver(BaseResolver):
    """Marks every untagged plain scalar, so go-yaml's rules (not PyYAML's) decide its type."""


_Resolver.add_implicit_resolver(PLAIN_TAG, re.compile(r".*", re.S), None)


class _CommentScanner(Reader, Scanner):
    """PyYAML's scanner, also recording comments: (index, line, column, text without '#')."""

    comments: list[tuple[int, int, int, str]]

    def scan_to_next_token(self) -> None:
        if self.index == 0 and self.peek() == "\ufeff":
            self.forward()
        found = False
        while not found:
            while self.peek() == " ":
                self.forward()
            if self.peek() == "#":
                mark = self.get_mark()
                start = self.pointer
                while self.peek() not in "\0\r\n\x85\u2028\u2029":
                    self.forward()
                self.comments.append(
                    (mark.index, mark.line, mark.column, self.buffer[start + 1 : self.pointer])
                )
            if self.scan_line_break():  # type: ignore[no-untyped-call]
                if not self.flow_level:
                    self.allow_simple_key = True
            else:
                found = True


class _CommentLoader(_CommentScanner, Parser, Composer, BaseConstructor, _Resolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseConstructor.__init__(self)
        _Resolver.__init__(self)
        self.comments = []


try:
    from yaml._yaml import CParser

    class _FastLoader(CParser, BaseConstructor, _Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            BaseConstructor.__init__(self)
            _Resolver.__init__(self)

    HAVE_C = True
except ImportError:  # pragma: no cover - libyaml is in the wheel
    HAVE_C = False


def _scalar(node: ScalarNode) -> Any:
    tag = node.tag
    if tag == PLAIN_TAG:
        return resolve_plain(node.value)
    if tag == _STR:
        return node.value
    short = tag.replace("tag:yaml.org,2002:", "!!")
    value = node.value
    if short == "!!null":
        return None
    if short == "!!bool":
        resolved = resolve_plain(value)
        if isinstance(resolved, bool):
            return resolved
    elif short == "!!int":
        resolved = resolve_plain(value)
        if isinstance(resolved, int) and not isinstance(resolved, bool):
            return resolved
    elif short == "!!float":
        resolved = resolve_plain(value)
        if isinstance(resolved, int | float) and not isinstance(resolved, bool):
            return float(resolved)
    elif short == "!!timestamp":
        ts = parse_timestamp(value)
        if ts is not None:
            return GoTime(ts)
    elif short == "!!binary":
        import base64

        try:
            return base64.b64decode("".join(value.split())).decode("utf-8", "surrogateescape")
        except ValueError:
            pass
    else:
        return value
    raise YamlError(f"cannot decode a value as {short} (line {node.start_mark.line + 1})")


class _Builder:
    def __init__(self, comments: list[tuple[int, int, int, str]]) -> None:
        self.comments = comments
        self.pos = 0

    def take_before(self, index: int, line: int | None = None) -> list[Comment]:
        """Comments that start before ``index`` (or on ``line``, for comments trailing a scalar entry)."""
        out = []
        while self.pos < len(self.comments):
            c_index, c_line, _, text = self.comments[self.pos]
            if c_index < index or (line is not None and c_line == line):
                out.append(Comment(text))
                self.pos += 1
            else:
                break
        return out

    def take_foot(self, node: MappingNode | SequenceNode, nested_in_mapping: bool = False) -> list[Comment]:
        """Comments after a block collection's last entry, indented deeper than the token that ends it:
        go-yaml makes them foot comments of the innermost collection that just closed. A mapping that is
        the value of another mapping takes only those indented as far as its own keys; a shallower one is
        the outer mapping's (sops' TestComment7, mozilla/sops#1068, and where sops writes it encrypted)."""
        if node.flow_style is not False:
            return []
        own_column = node.start_mark.column if nested_in_mapping else 0
        out = []
        while self.pos < len(self.comments):
            c_index, _, c_col, text = self.comments[self.pos]
            if c_index < node.end_mark.index and own_column <= c_col > node.end_mark.column:
                out.append(Comment(text))
                self.pos += 1
            else:
                break
        return out

    def value(self, node: Node, seen: tuple[int, ...] = (), in_mapping: bool = False) -> Any:
        if isinstance(node, ScalarNode):
            return _scalar(node)
        if id(node) in seen:
            raise YamlError("recursive alias")
        seen = (*seen, id(node))
        if isinstance(node, SequenceNode):
            items: list[Any] = []
            for item in node.value:
                inline = isinstance(item, ScalarNode) and item.style not in ("|", ">")
                same_line = item.end_mark.line if inline else None
                items += self.take_before(item.start_mark.index, same_line)
                items.append(self.value(item, seen))
            if node.value:
                items += self.take_foot(node)
            return items
        if isinstance(node, MappingNode):
            return self.mapping(node, seen, in_mapping)
        raise YamlError(f"unsupported YAML node {type(node).__name__}")

    def mapping(self, node: MappingNode, seen: tuple[int, ...], in_mapping: bool = False) -> Branch:
        branch = Branch()
        keys: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise YamlError(f"only string keys are supported (line {key_node.start_mark.line + 1})")
            key = _scalar(key_node)
            if not isinstance(key, str):
                raise YamlError(
                    f"Tree contains a non-string key ({type(key).__name__}): {key_node.value} "
                    f"(line {key_node.start_mark.line + 1}). Only string keys are supported"
                )
            if key in keys:
                raise YamlError(f'mapping key "{key}" already defined (line {key_node.start_mark.line + 1})')
            keys.add(key)
            same_line = key_node.start_mark.line
            for c in self.take_before(key_node.start_mark.index, same_line):
                branch.append((c, None))
            if isinstance(value_node, ScalarNode) and value_node.style not in ("|", ">"):
                for c in self.take_before(0, value_node.end_mark.line):
                    branch.append((c, None))
            branch.append((key, self.value(value_node, seen, in_mapping=True)))
        if node.value:
            for c in self.take_foot(node, in_mapping):
                branch.append((c, None))
        return branch


def _describe(exc: yaml.YAMLError) -> str:
    """The problem and its position, never PyYAML's snippet of the line (it may hold a secret)."""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or type(exc).__name__
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{problem}{where}"


def _documents(loader: Any) -> Iterator[Node | None]:
    """Each document's node graph, within the limits (depth, alias expansion: the builder copies aliases)."""
    try:
        yield from limits.compose_all(loader)
    finally:
        loader.dispose()


def load_documents(text: str) -> list[Branch]:
    """Every document of a YAML stream as a Branch (an empty document is an empty Branch)."""
    has_comments = "#" in text
    try:
        limits.check_size(len(text))
        loader: Any = _CommentLoader(text) if has_comments or not HAVE_C else _FastLoader(text)
        nodes = list(_documents(loader))
    except yaml.YAMLError as exc:
        raise YamlError(f"Error unmarshaling input YAML: {_describe(exc)}") from None
    except limits.LimitExceeded as exc:
        raise YamlError(f"Error unmarshaling input YAML: {exc}") from None
    comments: list[tuple[int, int, int, str]] = getattr(loader, "comments", [])
    builder = _Builder(comments)
    docs: list[Branch] = []
    for node in nodes:
        if node is None or (isinstance(node, ScalarNode) and _scalar(node) is None):
            docs.append(Branch((c, None) for c in builder.take_before(len(text) + 1)))
            continue
        if isinstance(node, SequenceNode):
            raise YamlError("YAML documents that are sequences are not supported")
        if not isinstance(node, MappingNode):
            raise YamlError("YAML documents that are values are not supported")
        branch = Branch()
        for c in builder.take_before(node.start_mark.index):
            branch.append((c, None))
        branch += builder.mapping(node, ())
        following = [n for n in nodes[nodes.index(node) + 1 :] if n is not None]
        limit = following[0].start_mark.index if following else len(text) + 1
        separator = text.rfind("\n---", node.end_mark.index - 1, limit)
        if following and separator >= 0:
            limit = separator + 1  # comments after the next '---' belong to the next document
        for c in builder.take_before(limit):
            branch.append((c, None))
        docs.append(branch)
    if builder.pos < len(comments) and docs:
        for c in builder.take_before(len(text) + 1):
            docs[-1].append((c, None))
    return docs
