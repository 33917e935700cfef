"""Three-way merge of plaintext SOPS trees, key by key (pure: trees in, merged tree and conflicts out).

Why key by key: two branches that change different keys of one SOPS file always conflict as text (the MAC
and ``lastmodified`` lines change on both sides). Merged as trees they conflict only where the same key
changed on both sides to different values.

Rules, per mapping key (comments directly above a key travel with it): unchanged on one side → the other
side's version (an addition or a deletion included); the same change on both sides → that change; both
changed differently → mappings on both sides are merged recursively, anything else is a conflict, for which
ours is kept and the key path reported. Sequences and scalars are compared whole (a sequence changed on both
sides is one conflict), with types strict (``1``, ``1.0``, ``true`` and ``"1"`` differ). Keys only theirs
added go before the key that follows them in theirs (at the end if none does).
"""

from __future__ import annotations

from gocompat.yaml.v3.tree import Branch, Comment

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Entry = tuple[tuple[str, ...], Any]  # (comment lines above the key, value)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_TRAILING = "\0trailing comments"


def same(a: Any, b: Any) -> bool:
    """Equality with types strict at every level (Python's ``1 == True == 1.0`` would hide changes)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):  # Branch included: a list of (key, value) pairs
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a != a:
        return bool(b != b)
    return bool(a == b)


def _entries(branch: Branch) -> tuple[dict[str, Entry], list[str]]:
    """Keyed entries (each with the comments above it) in order; trailing comments under ``_TRAILING``."""
    entries: dict[str, Entry] = {}
    order: list[str] = []
    pending: list[str] = []
    for key, value in branch:
        if isinstance(key, Comment):
            pending.append(key.value)
            continue
        entries[key] = (tuple(pending), value)
        order.append(key)
        pending = []
    if pending:
        entries[_TRAILING] = (tuple(pending), None)
        order.append(_TRAILING)
    return entries, order


def _display(path: list[str]) -> str:
    return ".".join(path) if path else "(top level)"


class Merger:
    """One merge: collects the conflicting key paths while building the merged tree."""

    def __init__(self) -> None:
        self.conflicts: list[str] = []

    def value(self, base: Any, ours: Any, theirs: Any, path: list[str]) -> Any:
        if same(ours, theirs) or same(base, theirs):
            return ours
        if same(base, ours):
            return theirs
        if isinstance(ours, Branch) and isinstance(theirs, Branch):
            return self.branch(base if isinstance(base, Branch) else Branch(), ours, theirs, path)
        self.conflicts.append(_display(path))
        return ours

    def entry(self, base: Any, ours: Any, theirs: Any, path: list[str]) -> Any:
        """One keyed entry (comments, value) or ``MISSING`` (absent / deleted)."""
        if same(ours, theirs) or same(base, theirs):
            return ours
        if same(base, ours):
            return theirs
        if ours is MISSING or theirs is MISSING:  # deleted on one side, changed on the other
            self.conflicts.append(_display(path))
            return ours
        base_comments, base_value = (), MISSING
        if base is not MISSING:
            base_comments, base_value = base
        comments = self.value(base_comments, ours[0], theirs[0], [*path[:-1], f"(comments above {path[-1]})"])
        return comments, self.value(base_value, ours[1], theirs[1], path)

    def branch(self, base: Branch, ours: Branch, theirs: Branch, path: list[str]) -> Branch:
        base_entries, _ = _entries(base)
        our_entries, our_order = _entries(ours)
        their_entries, their_order = _entries(theirs)
        order = list(our_order)
        for n, key in enumerate(their_order):
            if key in our_entries or key in order:
                continue
            following = next((k for k in their_order[n + 1 :] if k in order), None)
            order.insert(order.index(following) if following is not None else len(order), key)
        merged = Branch()
        for key in order:
            label = "(trailing comments)" if key == _TRAILING else key
            result = self.entry(
                base_entries.get(key, MISSING),
                our_entries.get(key, MISSING),
                their_entries.get(key, MISSING),
                [*path, label],
            )
            if result is MISSING:
                continue
            comments, value = result
            merged.extend((Comment(line), None) for line in comments)
            if key != _TRAILING:
                merged.append((key, value))
        return merged


def merge_documents(
    base: list[Branch] | None, ours: list[Branch], theirs: list[Branch]
) -> tuple[list[Branch], list[str]]:
    """Merge each document (YAML files may hold several); returns the documents and the conflicting paths
    (``doc N: a.b`` when there are several documents). ``base`` is ``None`` when there is no common
    ancestor (a file added on both sides)."""
    if base is None:
        base = [Branch() for _ in ours]
    if len(ours) == len(theirs) == len(base):
        merged, conflicts = [], []
        for n, (b, o, t) in enumerate(zip(base, ours, theirs, strict=True)):
            merger = Merger()
            merged.append(merger.branch(b, o, t, []))
            prefix = f"doc {n + 1}: " if len(ours) > 1 else ""
            conflicts += [prefix + c for c in merger.conflicts]
        return merged, conflicts
    merger = Merger()
    result = merger.value(base, ours, theirs, ["(number of documents)"])
    return result, merger.conflicts
