"""A small work queue: keys due at a time, a bounded worker pool, one reconcile per key at a time.

Why not one kopf daemon or timer per object: kopf timers have one fixed interval per handler, and a
daemon per object is a task plus finalizer per object. Here each key carries its own due time (refresh
interval with jitter, or failure backoff), and a burst of 1,000 new objects is worked off by a fixed
number of threads, not 1,000. Shared by the ExternalSecret and SealedSecret controllers.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("lockstep.scheduler")
Work = Callable[[Hashable], "float | None"]  # returns seconds until the next run, or None


class Scheduler:
    def __init__(self, work: Work, workers: int = 8, name: str = "worker") -> None:
        self.work = work
        self.workers = workers
        self._heap: list[tuple[float, int, Hashable]] = []
        self._due: dict[Hashable, float] = {}
        self._running: set[Hashable] = set()
        self._again: dict[Hashable, float] = {}
        self._seq = itertools.count()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._wake = asyncio.Event()
        self._tasks = [loop.create_task(self._worker(i)) for i in range(self.workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def schedule(self, key: Hashable, delay: float = 0.0) -> None:
        """Run ``key`` in ``delay`` seconds (an earlier request wins). Safe from any thread."""
        loop = self._loop
        if loop is None:
            return
        if loop.is_running() and _on_loop(loop):
            self._schedule(key, delay)
        else:
            loop.call_soon_threadsafe(self._schedule, key, delay)

    def cancel(self, key: Hashable) -> None:
        self._due.pop(key, None)
        self._again.pop(key, None)

    def _schedule(self, key: Hashable, delay: float) -> None:
        when = time.monotonic() + max(delay, 0.0)
        if key in self._running:
            self._again[key] = min(self._again.get(key, when), when)
            return
        current = self._due.get(key)
        if current is not None and current <= when:
            return
        self._due[key] = when
        heapq.heappush(self._heap, (when, next(self._seq), key))
        assert self._wake is not None
        self._wake.set()

    def pending(self) -> int:
        return len(self._due) + len(self._running)

    async def _next(self) -> Hashable:
        assert self._wake is not None
        while True:
            while self._heap:
                when, _, key = self._heap[0]
                if self._due.get(key) != when or key in self._running:
                    heapq.heappop(self._heap)  # superseded entry
                    continue
                wait = when - time.monotonic()
                if wait <= 0:
                    heapq.heappop(self._heap)
                    del self._due[key]
                    return key
                break
            else:
                wait = 3600.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _worker(self, index: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            key = await self._next()
            self._running.add(key)
            log.debug("reconcile %s", key)
            delay: float | None = None
            try:
                delay = await loop.run_in_executor(self._pool, self.work, key)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not kill the worker; retry the key later
                log.exception("reconcile of %s crashed", key)
                delay = 30.0
            finally:
                self._running.discard(key)
            log.debug("reconciled %s; next in %s s", key, delay)
            again = self._again.pop(key, None)
            if again is not None:
                self._schedule(key, max(again - time.monotonic(), 0.0))
            if delay is not None:
                self._schedule(key, delay)


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
