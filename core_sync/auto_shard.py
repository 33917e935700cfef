"""``--shard auto``: replicas find each other through per-replica Leases and split the objects between them.

Each replica holds the Lease ``lockstep-shard-<id>`` (renewed every third of its duration) and reads the
others: the live members are the Leases renewed within their duration. An object belongs to the member
:func:`core_sync.shard_ring.owner` picks for its ``namespace/name``. A replica that loses its own Lease
(cannot reach the API server) counts itself out, so it stops reconciling before another takes over; a
killed replica's Lease expires and its share moves to the survivors within one duration plus one poll.

So that a replica receives only its own objects, one member (:mod:`core_sync.shard_assign`) writes each
object's owner into its ``lockstep.dev/replica`` label and each replica lists and watches with
:func:`core_sync.sharding.shard_selector` of its identity.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import re
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from core_sync.shard_ring import owner

if TYPE_CHECKING:
    from core_sync.kube import KubeClient

PREFIX = "lockstep-shard-"
log = logging.getLogger("lockstep.shard")


def replica_id() -> str:
    """This process's member name: ``$LOCKSTEP_SHARD_ID``, else host name and pid as a DNS label."""
    raw = os.environ.get("LOCKSTEP_SHARD_ID") or f"{socket.gethostname()}-{os.getpid()}"
    return re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")[: 63 - len(PREFIX)] or str(os.getpid())


class AutoShard:
    """This replica's view of the membership, kept fresh by :meth:`run`."""

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        duration_seconds: int,
        identity: str,
        watched_namespaces: tuple[str, ...] = (),
    ) -> None:
        from core_sync.lease import Lease
        from core_sync.shard_assign import Assigner

        self.client = client
        self.namespace = namespace
        self.identity = identity
        self.duration_seconds = duration_seconds
        self.lease = Lease(client, namespace, PREFIX + identity, identity, duration_seconds)
        self.members: tuple[str, ...] = ()
        self.listeners: list[Callable[[], None]] = []  # called (in the event loop) when the members change
        self._task: asyncio.Task[None] | None = None
        # its own thread: behind the reconciles in the loop's default executor, a renewal would wait until
        # the Lease expired and the other replicas took this one's share while it still worked on it
        self._thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="shard-lease")
        self.assigner = Assigner(
            client, namespace, identity, duration_seconds, watched_namespaces, lambda: self.members
        )

    def assign(self, group: str, version: str, plural: str) -> None:
        """Have this kind's default-shard objects labelled with their owner (each controller its kinds)."""
        self.assigner.assign(group, version, plural)

    def mine(self, key: str) -> bool:
        return owner(key, self.members) == self.identity

    def refresh(self) -> bool:
        """Renew our Lease and re-read the members; ``True`` when the membership changed."""
        from core_sync.kube import ApiError
        from core_sync.lease import expired

        held = self.lease.acquire()
        try:
            listing = self.client.get(f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases")
        except (ApiError, OSError) as error:
            log.warning("cannot list shard leases", extra={"error": str(error)})
            listing = {"items": []}  # count ourselves out rather than guess
            held = False
        alive = set()
        for item in listing.get("items") or []:
            name = str(item["metadata"]["name"])
            spec = item.get("spec") or {}
            if (
                name.startswith(PREFIX)
                and spec.get("holderIdentity")
                and not expired(spec, self.duration_seconds)
            ):
                alive.add(name.removeprefix(PREFIX))
        if not held:
            alive.discard(self.identity)
        members = tuple(sorted(alive))
        changed = members != self.members
        if changed:
            log.info("shard members changed", extra={"members": list(members), "replica": self.identity})
        self.members = members
        self.assigner.tick(self.identity in members, changed)
        return changed

    async def start(self) -> None:
        """Learn the members now, then keep them fresh in a task (once, however many controllers ask)."""
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run())
            await loop.run_in_executor(self._thread, self.refresh)

    async def _run(self) -> None:
        """Refresh every third of the lease duration, telling the listeners when the members changed."""
        while True:
            await asyncio.sleep(self.duration_seconds / 3)
            if await asyncio.get_running_loop().run_in_executor(self._thread, self.refresh):
                for listener in list(self.listeners):
                    listener()

    def release(self) -> None:
        self.assigner.release()
        self.lease.release()
