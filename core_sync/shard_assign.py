"""``--shard auto``: one replica (the holder of the Lease ``lockstep-assigner``) writes each
default-shard object's owner into its ``lockstep.dev/replica`` label, so every replica can ask the API server
for its own objects only (a static selector per process: kopf and the resync lists never see another
replica's objects).

New objects: a watch of the default-shard objects without the label labels each within milliseconds.
Membership changes (and a pass every few minutes as a safety net): a list of all default-shard objects,
relabelling only those whose rendezvous owner (:func:`core_sync.shard_ring.owner`) changed, so adding or
losing a replica moves only its share. A relabel reaches the old owner as a watch ``DELETED`` and the new
one as ``ADDED``. Which kinds to assign is declared by the controllers that use the placement
(:meth:`Assigner.assign`). The label only narrows what each replica receives: a replica still reconciles
an object only when its own view of the members says it is the owner.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core_sync.shard_ring import owner
from core_sync.sharding import REPLICA_LABEL, SHARD_LABEL

if TYPE_CHECKING:
    from core_sync.kube import KubeClient

LEASE_NAME = "lockstep-assigner"  # not "lockstep-shard-...": that would count as a member
DEFAULT_SHARD = f"!{SHARD_LABEL}"
UNASSIGNED = f"{DEFAULT_SHARD},!{REPLICA_LABEL}"
FULL_PASS_EVERY_S = 300.0
log = logging.getLogger("lockstep.shard")


Kind = tuple[str, str, str]  # group, version, plural


def _api(kind: Kind) -> str:
    return f"/apis/{kind[0]}/{kind[1]}" if kind[0] else f"/api/{kind[1]}"


def collection_paths(kind: Kind, namespaces: tuple[str, ...]) -> list[str]:
    """Where to list ``kind``: in each watched namespace, or cluster-wide without any."""
    if not namespaces:
        return [f"{_api(kind)}/{kind[2]}"]
    return [f"{_api(kind)}/namespaces/{ns}/{kind[2]}" for ns in namespaces]


def object_path(kind: Kind, meta: dict[str, Any]) -> str:
    return f"{_api(kind)}/namespaces/{meta['namespace']}/{kind[2]}/{meta['name']}"


def moves(items: list[dict[str, Any]], members: tuple[str, ...]) -> list[tuple[dict[str, Any], str]]:
    """The objects whose ``lockstep.dev/replica`` label is not their owner among ``members``, with it."""
    changes = []
    for item in items:
        meta = item.get("metadata") or {}
        want = owner(f"{meta.get('namespace')}/{meta.get('name')}", members)
        if want is not None and (meta.get("labels") or {}).get(REPLICA_LABEL) != want:
            changes.append((item, want))
    return changes


class Assigner:
    """Labels the objects of the registered kinds with their owner while this replica holds the Lease."""

    def __init__(
        self,
        client: KubeClient,
        lease_namespace: str,
        identity: str,
        duration_seconds: int,
        namespaces: tuple[str, ...],
        members: Callable[[], tuple[str, ...]],
    ) -> None:
        from core_sync.lease import Lease

        self.client = client
        self.namespaces = namespaces
        self.members = members
        self.lease = Lease(client, lease_namespace, LEASE_NAME, identity, duration_seconds)
        self.kinds: list[Kind] = []
        self.held = False
        self.moved = 0  # objects relabelled (for tests and logs)
        self._lock = threading.Lock()  # one labelling at a time: read members, then write
        self._full = threading.Event()
        self._incomplete = False  # the last pass could not list or label everything: retry at the next tick
        self._watch_stop = threading.Event()
        self._watches: dict[str, threading.Thread] = {}
        self._worker: threading.Thread | None = None

    def assign(self, group: str, version: str, plural: str) -> None:
        """Have this kind's default-shard objects labelled with their owner (called by each controller)."""
        if (group, version, plural) not in self.kinds:
            self.kinds.append((group, version, plural))
            self._full.set()  # a kind declared after the first pass: its existing objects get a pass too

    def paths(self) -> list[tuple[Kind, str]]:
        return [(kind, path) for kind in self.kinds for path in collection_paths(kind, self.namespaces)]

    def tick(self, member: bool, changed: bool) -> None:
        """After each membership refresh: take or keep the Lease (members only), and on a change of
        members or of holder, relabel what moved."""
        held = member and self.lease.acquire()
        if held and (changed or not self.held or self._incomplete):
            self._full.set()
        if held and not self.held:
            log.info("assigning shard owners", extra={"replica": self.lease.identity})
            self._watch_stop = threading.Event()
            self._watches = {}
        if not held and self.held:
            self._watch_stop.set()
        self.held = held
        if held:
            self._start()

    def _start(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._passes, name="shard-assign", daemon=True)
            self._worker.start()
        for kind, path in self.paths():
            if path not in self._watches:
                thread = threading.Thread(
                    target=self._watch_unassigned,
                    args=(kind, path, self._watch_stop),
                    name=f"shard-assign:{path}",
                    daemon=True,
                )
                self._watches[path] = thread
                thread.start()

    def _passes(self) -> None:
        while True:
            self._full.wait(FULL_PASS_EVERY_S)
            self._full.clear()
            if self.held:
                self.rebalance()

    def rebalance(self) -> int:
        """Relabel every default-shard object whose owner is not the one its label names; the count."""
        from core_sync.kube import ApiError

        started, moved = time.monotonic(), 0
        self._incomplete = False
        for kind, path in self.paths():
            with self._lock:
                members = self.members()
            if not members:
                return moved
            try:
                items = self.client.get(path, labelSelector=DEFAULT_SHARD).get("items") or []
            except (ApiError, OSError) as error:
                log.warning("cannot list for shard assignment", extra={"path": path, "error": str(error)})
                self._incomplete = True
                continue
            for item, want in moves(items, members):
                moved += self._label(kind, item, want)
        if moved:
            log.info(
                "shard owners relabelled",
                extra={"moved": moved, "seconds": round(time.monotonic() - started, 3)},
            )
        return moved

    def _watch_unassigned(self, kind: Kind, path: str, stop: threading.Event) -> None:
        from core_sync.kube.watch import watch_collection

        def place(objects: list[dict[str, Any]]) -> None:
            if not self.held or stop.is_set():
                return
            with self._lock:
                for item, want in moves(objects, self.members()):
                    self._label(kind, item, want)

        def on_event(event: str, obj: dict[str, Any]) -> None:
            if event != "DELETED":
                place([obj])

        watch_collection(
            self.client,
            path,
            place,
            on_event,
            stop,
            labelSelector=UNASSIGNED,
        )

    def _label(self, kind: Kind, item: dict[str, Any], want: str) -> int:
        from core_sync.kube import ApiError

        target = object_path(kind, item["metadata"])
        try:
            self.client.merge_patch(target, {"metadata": {"labels": {REPLICA_LABEL: want}}})
        except ApiError as error:
            if not error.not_found:
                log.warning("cannot label shard owner", extra={"object": target, "error": str(error)})
            return 0
        except OSError as error:
            log.warning("cannot label shard owner", extra={"object": target, "error": str(error)})
            self._incomplete = True
            return 0
        self.moved += 1
        return 1

    def release(self) -> None:
        self._watch_stop.set()
        if self.held:
            self.held = False
            self.lease.release()
