"""sops' index paths (``["data"]["password"]``, ``["items"][0]``) and what ``--extract``, ``set`` and
``unset`` do with them (pure: trees in, trees out).

The rules are sops 3.13.2's, read from its ``parseTreePath``, ``TreeBranch.Truncate``, ``Set`` and ``Unset``
(facts only). Where sops' Go code panics (an empty ``[]``, a key looked up inside a string or a list, a key
where a list index belongs) Lockstep raises a :class:`TreePathError` naming the component instead.
"""

from __future__ import annotations

import math
import re

from gocompat.yaml.v3.tree import Branch, Comment, GoTime

TYPE_CHECKING = False  # typing is not imported at run time (start-up speed)
if TYPE_CHECKING:
    from typing import Any

_INT = re.compile(r"[+-]?[0-9]+\Z")
_INT64 = 2**63


class TreePathError(Exception):
    """A path that does not fit the tree (sops' words where sops has words)."""


class KeyNotFound(TreePathError):
    """``unset`` of a key or index that is not there (``--idempotent`` makes it a no-op)."""


def parse_tree_path(text: str) -> list[str | int]:
    """``["a"][0]['b']`` → ``["a", 0, "b"]``; an empty text is the empty path (the whole document)."""
    path: list[str | int] = []
    for component in text.split("["):
        if not component:
            continue
        if not component.endswith("]"):
            raise TreePathError(f"component {component} doesn't end with ]")
        component = component[:-1]
        if not component:
            raise TreePathError("empty component []")
        if component[0] in "\"'":
            path.append(component[1:-1])
            continue
        if not _INT.match(component):
            raise TreePathError(f'strconv.Atoi: parsing "{component}": invalid syntax')
        number = int(component)
        if not -_INT64 <= number < _INT64:
            raise TreePathError(f'strconv.Atoi: parsing "{component}": value out of range')
        path.append(number)
    return path


def go_type(value: Any) -> str:
    """The Go type sops would name for a tree value (in its error messages)."""
    if isinstance(value, Branch):
        return "sops.TreeBranch"
    if isinstance(value, list):
        return "[]interface {}"
    if value is None:
        return "<nil>"
    names = {bool: "bool", int: "int", float: "float64", str: "string", bytes: "[]uint8"}
    if isinstance(value, GoTime):
        return "time.Time"
    if isinstance(value, Comment):
        return "sops.Comment"
    return names.get(type(value), type(value).__name__)


def _go_s(component: str | int) -> str:
    """Go's ``%s`` of a path component (an int prints as ``%!s(int=N)``)."""
    return component if isinstance(component, str) else f"%!s(int={component})"


def truncate(branch: Branch, path: list[str | int]) -> Any:
    """The value at ``path`` (``--extract``)."""
    current: Any = branch
    for component in path:
        if isinstance(component, str):
            if not isinstance(current, Branch):
                raise TreePathError(
                    f"component ['{component}'] looks up a key, but tree part is a {go_type(current)}"
                )
            for key, value in current:
                if key == component and not isinstance(key, Comment):
                    current = value
                    break
            else:
                raise TreePathError(f"component ['{component}'] not found")
        else:
            if not isinstance(current, list) or isinstance(current, Branch):
                raise TreePathError(f"component [{component}] is integer, but tree part is not a slice")
            if component < 0 or len(current) <= component:
                raise TreePathError(f"component [{component}] accesses out of bounds")
            current = current[component]
    return current


def equals(one: Any, other: Any) -> bool:
    """sops' deep equality: the same Go type and value (3 and 3.0 differ, as int and float64 do)."""
    if isinstance(one, Branch) or isinstance(other, Branch):
        if not (isinstance(one, Branch) and isinstance(other, Branch)) or len(one) != len(other):
            return False
        return all(k1 == k2 and equals(v1, v2) for (k1, v1), (k2, v2) in zip(one, other, strict=True))
    if isinstance(one, list) or isinstance(other, list):
        if not (isinstance(one, list) and isinstance(other, list)) or len(one) != len(other):
            return False
        return all(equals(a, b) for a, b in zip(one, other, strict=True))
    return type(one) is type(other) and bool(one == other)


def _from_path(path: list[str | int], leaf: Any) -> Any:
    """The nested value a path creates where nothing exists yet (a list for an index, a mapping for a key)."""
    inner = leaf if len(path) == 1 else _from_path(path[1:], leaf)
    return [inner] if isinstance(path[0], int) else Branch([(path[0], inner)])


def _index(component: str | int, where: str) -> int:
    if not isinstance(component, int):
        raise TreePathError(f"component ['{component}'] is a key, but {where} is a list")
    if component < 0:
        raise TreePathError(f"component [{component}] accesses out of bounds")
    return component


def _set(node: Any, path: list[str | int], value: Any) -> tuple[Any, bool]:
    head = path[0]
    if isinstance(node, Branch):
        for n, (key, old) in enumerate(node):
            if key == head and not isinstance(key, Comment):
                if len(path) == 1:
                    node[n] = (key, value)
                    return node, not equals(old, value)
                new, changed = _set(old, path[1:], value)
                node[n] = (key, new)
                return node, changed
        created = _from_path(path, value)
        if isinstance(created, Branch):
            node.append(created[0])
        return node, True
    if isinstance(node, list):
        position = _index(head, "the tree part")
        if len(path) == 1:
            if position >= len(node):
                node.append(value)
                return node, True
            changed = not equals(node[position], value)
            node[position] = value
            return node, changed
        if position >= len(node):
            node.append(_from_path(path[1:], value))
            return node, True
        node[position], changed = _set(node[position], path[1:], value)
        return node, changed
    created = _from_path(path, value)
    return created, not equals(node, created)


def set_value(branch: Branch, path: list[str | int], value: Any) -> bool:
    """Set ``path`` to ``value`` in place, creating what is missing; whether anything changed."""
    if not path:
        raise TreePathError("the path is empty: name the key to set")
    _, changed = _set(branch, path, value)
    return changed


def _unset(node: Any, path: list[str | int]) -> None:
    head = path[0]
    if isinstance(node, Branch):
        for n, (key, value) in enumerate(node):
            if key == head and not isinstance(key, Comment):
                if len(path) == 1:
                    del node[n]
                else:
                    _unset(value, path[1:])
                return
        raise KeyNotFound(f"Key not found: {_go_s(head)}")
    if isinstance(node, list):
        position = _index(head, "the tree part")
        if position >= len(node):
            raise KeyNotFound(f"Index {position} out of bounds")
        if len(path) == 1:
            del node[position]
        else:
            _unset(node[position], path[1:])
        return
    raise TreePathError(f"Unsupported type: {go_type(node)} for item '{_go_s(head)}'")


def unset_value(branch: Branch, path: list[str | int]) -> None:
    """Remove the key or list item at ``path`` (``KeyNotFound`` if it is not there)."""
    if not path:
        raise TreePathError("the path is empty: name the key to unset")
    _unset(branch, path)


def json_value(text: str) -> Any:
    """A ``set`` value: JSON whose objects keep their key order and integers (sops' JSON store) and whose
    top-level scalars are Go's ``json.Unmarshal`` (numbers become float64). A top-level array is refused,
    as sops' JSON store refuses it."""
    import json

    from sops_plugin.format import json_store

    try:
        value = json.loads(text, object_pairs_hook=Branch, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise TreePathError("Value for --set is not valid JSON") from None
    if isinstance(value, Branch | list):
        try:
            return json_store.load(text.encode("utf-8", "surrogateescape"))
        except Exception:
            raise TreePathError("Invalid --set value format") from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):  # Go: "cannot unmarshal number ... into Go value of type float64"
            raise TreePathError("Value for --set is not valid JSON")
        return number
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
