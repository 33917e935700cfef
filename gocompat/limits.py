"""Limits every parser of user input obeys: size, nesting depth, YAML alias expansion, template work.

Why: a repository, a Secret or a file given to the CLI is hostile input. A YAML "billion laughs" is a few
hundred bytes that aliases expand to a billion nodes, and deep nesting exhausts Python's stack. These
helpers refuse such input early with :class:`LimitExceeded`, whose message says which limit was hit; the
caller names the file. PyYAML is imported only inside the functions that need it, so importing this
module costs nothing (``lockstep sops decrypt`` starts without PyYAML).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: this module is on every CLI's start-up path
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

# The limits (documented in docs/security.md).
MAX_FILE_BYTES = 16 * 1024 * 1024  # one file read from a source, or one input given to a CLI
MAX_DEPTH = 256  # nesting of mappings/sequences (YAML or JSON); Kubernetes objects stay far below
# Nodes YAML aliases may add beyond the document's own nodes (sops refuses "excessive aliasing" too).
MAX_ALIAS_NODES = 100_000
# Go templates (ESO target templates, SealedSecret spec.template): Kubernetes caps a Secret at 1 MiB.
MAX_TEMPLATE_OUTPUT = 1024 * 1024  # characters one execution (or one function result) may produce
MAX_TEMPLATE_STEPS = 1_000_000  # actions, range iterations and function calls in one execution


class LimitExceeded(ValueError):
    """Input is over one of the limits above; the message names the limit, never the content."""


def check_size(size: int, what: str = "input", limit: int = MAX_FILE_BYTES) -> None:
    if size > limit:
        raise LimitExceeded(f"{what} is {size} bytes, over the limit of {limit} bytes")


def read_at_most(handle: Any, limit: int = MAX_FILE_BYTES) -> bytes:
    """At most ``limit + 1`` bytes of the binary file ``handle`` (one byte more than ``limit`` tells the
    caller it is over), read in steps sized by the file: ``handle.read(limit + 1)`` allocates the whole
    limit (16 MiB) for every file however small, and concurrent reads of many small files made glibc's
    heap, and the operator's RSS at fleet size, balloon (≈6x in a 6-thread test)."""
    import os

    try:
        size = os.fstat(handle.fileno()).st_size
    except (OSError, AttributeError, ValueError):  # a stream without a descriptor (tests, pipes wrapped)
        size = 0
    wanted, step = limit + 1, (size + 1 if size > 0 else 1 << 16)
    chunks = []
    while wanted > 0:
        chunk = handle.read(min(step, wanted))
        if not chunk:
            break
        chunks.append(chunk)
        wanted -= len(chunk)
        step = 1 << 16  # the file grew after fstat, or has no size (a pipe): read on in small steps
    return b"".join(chunks)


class AliasBudget:
    """Checks composed YAML documents one by one against depth and alias limits, across a whole stream.

    Works on PyYAML nodes before construction: the graph shares aliased nodes, so the expanded size and
    depth are computed once per distinct node (iteratively, no recursion), however large the expansion.
    """

    def __init__(self, max_depth: int = MAX_DEPTH, max_alias_nodes: int = MAX_ALIAS_NODES) -> None:
        self.max_depth = max_depth
        self.max_alias_nodes = max_alias_nodes
        self.extra = 0  # nodes aliases added so far

    def check(self, root: Any) -> None:
        from yaml.nodes import MappingNode, ScalarNode

        if root is None or isinstance(root, ScalarNode):
            return
        expanded: dict[int, int] = {}  # id(node) -> nodes in its full expansion
        height: dict[int, int] = {}
        distinct = 0
        stack: list[tuple[Any, bool]] = [(root, False)]
        on_path: set[int] = set()
        while stack:
            node, done = stack.pop()
            key = id(node)
            children = node.value
            if isinstance(node, MappingNode):
                children = [part for pair in children for part in pair]
            if done:
                on_path.discard(key)
                size, deepest = 1, 0
                for child in children:
                    if isinstance(child, ScalarNode):
                        size += 1
                    else:
                        size += expanded[id(child)]
                        deepest = max(deepest, height[id(child)])
                expanded[key] = size
                height[key] = deepest + 1
                continue
            if key in expanded:
                continue
            on_path.add(key)
            distinct += 1
            if len(on_path) > self.max_depth:
                raise LimitExceeded(f"nesting deeper than {self.max_depth} levels")
            stack.append((node, True))
            for child in children:
                if isinstance(child, ScalarNode):
                    if id(child) not in expanded:
                        expanded[id(child)] = 1
                        distinct += 1
                elif id(child) in on_path:
                    raise LimitExceeded("a YAML alias refers to itself (recursive anchor)")
                elif id(child) not in expanded:
                    stack.append((child, False))
        self.extra += expanded[id(root)] - distinct
        if self.extra > self.max_alias_nodes:
            raise LimitExceeded(
                f"excessive aliasing: aliases expand to more than {self.max_alias_nodes} extra nodes"
            )


def check_template_size(size: int, what: str) -> None:
    """Refuse a template function about to build a string over :data:`MAX_TEMPLATE_OUTPUT`."""
    if size > MAX_TEMPLATE_OUTPUT:
        raise LimitExceeded(
            f"{what} would produce {size} characters, over the template output limit of {MAX_TEMPLATE_OUTPUT}"
        )


def check_template_items(count: int, what: str) -> None:
    """Refuse a template function about to build a list longer than :data:`MAX_TEMPLATE_STEPS`."""
    if count > MAX_TEMPLATE_STEPS:
        raise LimitExceeded(f"{what} would produce {count} items, over the limit of {MAX_TEMPLATE_STEPS}")


def check_yaml_nodes(nodes: Iterable[Any]) -> None:
    """Refuse composed YAML documents that are too deep, recursive, or that aliases blow up."""
    budget = AliasBudget()
    for node in nodes:
        budget.check(node)


def compose_all(loader: Any) -> Iterator[Any]:
    """Every document node of ``loader`` (a PyYAML loader instance), each checked against the limits.

    Raises :class:`LimitExceeded` also for input too deep for the parser itself (PyYAML's pure-Python
    composer recurses; libyaml stops at 1000 levels with its own error).
    """
    budget = AliasBudget()
    while True:
        try:
            if not loader.check_node():
                return
            node = loader.get_node()
        except RecursionError:
            raise LimitExceeded(f"nesting deeper than {MAX_DEPTH} levels") from None
        budget.check(node)
        yield node


def iter_yaml(text: str, loader_class: Any = None) -> Iterator[Any]:
    """``yaml.load_all`` within the limits (default loader: libyaml's safe loader when available).

    Raises ``yaml.YAMLError`` for syntax errors and :class:`LimitExceeded` for input over a limit.
    """
    import yaml

    check_size(len(text))
    cls = loader_class or getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = cls(text)
    try:
        for node in compose_all(loader):
            yield loader.construct_document(node)
    finally:
        loader.dispose()


def load_yaml_all(text: str, loader_class: Any = None) -> list[Any]:
    """Every document of ``text``, within the limits (see :func:`iter_yaml`)."""
    return list(iter_yaml(text, loader_class))


def safe_load(text: str, loader_class: Any = None) -> Any:
    """``yaml.safe_load`` within the limits: the first document (``None`` for an empty stream).

    Unlike ``yaml.safe_load`` a stream of several documents is not an error here.
    """
    for doc in iter_yaml(text, loader_class):
        return doc
    return None


def deeply_indented(text: str) -> bool:
    """Whether some line of block YAML is indented so far that its nesting may pass :data:`MAX_DEPTH`.

    The small hand-written readers (``lockstep seal``'s and ``sops decrypt``'s fast paths) recurse per
    level; they hand such text to the PyYAML-based reader, which enforces the limits.
    """
    if " " * (MAX_DEPTH // 2) not in text:  # the common case, without compiling a regex (start-up)
        return False
    import re

    return re.search(rf"^ {{{MAX_DEPTH // 2},}}\S", text, re.MULTILINE) is not None


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a parsed value nested deeper than ``max_depth`` (dicts and lists; tuples, as in sops'
    ordered branches of ``(key, value)`` pairs, are transparent); iterative."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list | tuple):
            continue  # a scalar document (JSON `42`) has no depth to check
        if isinstance(item, tuple):
            stack.extend((child, depth) for child in item if isinstance(child, dict | list | tuple))
            continue
        if not isinstance(item, dict | list):
            continue  # a scalar document (``1``, ``"x"``) has no depth to check
        children: Iterable[Any] = item.values() if isinstance(item, dict) else item
        if depth > max_depth:
            raise LimitExceeded(f"nesting deeper than {max_depth} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | tuple))


def finite_number(text: str) -> float:
    """A JSON number as float64, as Go decodes it: one beyond its range (``1e999``) is an error, not inf.

    For ``json.loads(parse_float=..., parse_int=...)``; raises ``ValueError``."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"cannot unmarshal number {text} into Go value of type float64")
    return value


def load_json(text: str | bytes, **kwargs: Any) -> Any:
    """``json.loads`` within the limits; ``ValueError`` (``json.JSONDecodeError``) for syntax errors."""
    import json

    check_size(len(text))
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise LimitExceeded(f"nesting deeper than {MAX_DEPTH} levels") from None
    check_depth(value)
    return value
