"""Fixed label shards (Flux's model): which Applications and ExternalSecrets one operator replica owns.

A replica started with ``--shard NAME`` owns the objects labelled ``lockstep.dev/shard=NAME``; a replica
without ``--shard`` is the default shard and owns the objects without that label. The selector goes into
the API request (kopf's ``settings.watching.label_selectors`` and Lockstep's own lists), so a replica never
receives, deserialises or keeps in memory the objects of another shard.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SHARD_LABEL = "lockstep.dev/shard"
REPLICA_LABEL = "lockstep.dev/replica"
"""``--shard auto``: the replica an object is assigned to (written by :mod:`core_sync.shard_assign`)."""
AUTO = "auto"
"""``--shard auto``: the unlabelled objects, split between the live replicas (:mod:`core_sync.auto_shard`)."""
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")


class ShardNameError(ValueError):
    """A ``--shard`` name that cannot be a label value."""


def check_shard(name: str | None) -> str | None:
    """``name`` if it is a valid label value (the API server would refuse the selector otherwise)."""
    if name is None:
        return None
    if not _LABEL_VALUE.match(name):
        raise ShardNameError(
            f"--shard {name!r}: a shard name must be a label value: at most 63 characters, "
            "alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
        )
    return name


def label_shard(shard: str | None) -> str | None:
    """The label value ``shard`` selects on: ``auto`` replicas share the default shard's objects."""
    return None if shard == AUTO else shard


def shard_selector(shard: str | None, replica: str | None = None) -> str:
    """The label selector of ``shard``'s objects; ``None``: the default shard (objects without it).
    With ``replica`` (``--shard auto``): only the default shard's objects assigned to that replica."""
    label = label_shard(shard)
    selector = f"{SHARD_LABEL}={label}" if label is not None else f"!{SHARD_LABEL}"
    return f"{selector},{REPLICA_LABEL}={replica}" if replica is not None and label is None else selector


def owns(shard: str | None, labels: Mapping[str, Any] | None, replica: str | None = None) -> bool:
    """Whether ``shard`` (and ``replica``) owns an object with ``labels`` (:func:`shard_selector`'s rule)."""
    labels = labels or {}
    if labels.get(SHARD_LABEL) != label_shard(shard):
        return False
    return replica is None or label_shard(shard) is not None or labels.get(REPLICA_LABEL) == replica


def watch_only_shard(
    kopf_settings: Any, shard: str | None, group: str, plural: str, replica: str | None = None
) -> None:
    """Make kopf's list and watch of ``group``/``plural`` ask the API server for ``shard``'s objects only
    (with ``replica``: only those assigned to it, so another replica's objects never reach this one)."""
    kopf_settings.watching.label_selectors[group, plural] = shard_selector(shard, replica)
