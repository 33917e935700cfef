"""Which live replica owns an object in ``--shard auto`` mode: rendezvous (highest-random-weight) hashing.

Every replica computes the same answer from the same member list, with no coordination beyond the list.
Removing a member moves only the objects it owned; adding one moves only the objects it now wins (about
1/N of them): the property a consistent-hash ring gives, without virtual nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def _weight(member: str, key: str) -> int:
    digest = hashlib.blake2b(f"{member}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(key: str, members: Iterable[str]) -> str | None:
    """The member with the highest weight for ``key`` (ties broken by name); ``None`` with no members."""
    best: tuple[int, str] | None = None
    for member in members:
        candidate = (_weight(member, key), member)
        if best is None or candidate > best:
            best = candidate
    return None if best is None else best[1]
