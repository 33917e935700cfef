"""sops' tree model: ordered mappings that may hold comments, sequences, typed leaves.

A mapping is a :class:`Branch` (a list of ``(key, value)`` pairs, a comment being a pair whose key is a
:class:`Comment`), because sops keeps order and comments; a sequence is a plain ``list``. Leaves are ``str``,
``int``, ``float``, ``bool``, ``bytes``, :class:`GoTime`, ``None`` or :class:`Comment`.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from typing import Any


class Comment:
    """A comment line (without its leading ``#``): a tree item sops encrypts but never MACs.

    (Plain classes rather than dataclasses throughout the decrypt path: creating dataclasses costs
    milliseconds at import, and ``lockstep sops decrypt`` must start fast.)
    """

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Comment) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("comment", self.value))

    def __repr__(self) -> str:
        return f"Comment({self.value!r})"


class GoTime:
    """A YAML timestamp, kept as Go's ``RFC3339Nano`` text: sops' ``time`` type round-trips that text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and other.text == self.text

    def __hash__(self) -> int:
        return hash(("time", self.text))

    def __repr__(self) -> str:
        return f"GoTime({self.text!r})"


if TYPE_CHECKING:
    _Pairs = list[tuple[Any, Any]]
else:
    _Pairs = list


class Branch(_Pairs):
    """An ordered mapping; keys are ``str`` or :class:`Comment` (then the value is ``None``)."""

    def get(self, key: str, default: Any = None) -> Any:
        for k, v in self:
            if k == key and not isinstance(k, Comment):
                return v
        return default

    def without(self, key: str) -> Branch:
        return Branch((k, v) for k, v in self if k != key or isinstance(k, Comment))


def to_plain(value: Any) -> Any:
    """Tree → plain Python (dicts, lists), dropping comments: what a Kubernetes object is."""
    if isinstance(value, Branch):
        return {k: to_plain(v) for k, v in value if not isinstance(k, Comment)}
    if isinstance(value, list):
        return [to_plain(v) for v in value if not isinstance(v, Comment)]
    if isinstance(value, GoTime):
        return value.text
    return value


def from_plain(value: Any) -> Any:
    """Plain Python → tree (dict order kept)."""
    if isinstance(value, dict):
        return Branch((str(k), from_plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [from_plain(v) for v in value]
    return value
