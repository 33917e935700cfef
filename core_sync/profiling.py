"""Opt-in profiling of the operator: ``LOCKSTEP_PROFILE=<file>`` profiles every reconcile (each in its
worker thread, which a whole-process profiler would miss) and the main thread (kopf's event loop), and
merges them into one pstats file (``{pid}`` in the name: one per process), rewritten at most every few
seconds and when the operator stops. Off (and free) without the variable.

Read with ``python -c "import pstats; pstats.Stats('<file>').sort_stats('cumulative').print_stats(40)"``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")
WRITE_EVERY_S = 5.0


class _Collector:
    def __init__(self, path: str) -> None:
        import pstats

        self.path = path
        self.stats: pstats.Stats | None = None
        self.written = 0.0
        self.lock = threading.Lock()

    def run(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return self.run_and_write(False, call, *args, **kwargs)

    def run_and_write(self, final: bool, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        try:
            return profile.runcall(call, *args, **kwargs)
        finally:
            with self.lock:
                if self.stats is None:
                    self.stats = pstats.Stats(profile)
                else:
                    self.stats.add(profile)
                if final or time.monotonic() - self.written > WRITE_EVERY_S:
                    self.stats.dump_stats(self.path)
                    self.written = time.monotonic()


_PATH = os.environ.get("LOCKSTEP_PROFILE", "").replace("{pid}", str(os.getpid()))  # one file per replica
_COLLECTOR = _Collector(_PATH) if _PATH else None


def profiled(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``call(*args, **kwargs)``, profiled when ``LOCKSTEP_PROFILE`` names a file."""
    if _COLLECTOR is None:
        return call(*args, **kwargs)
    return _COLLECTOR.run(call, *args, **kwargs)


def profiled_main(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """The operator's main thread (kopf's event loop, the watches, the handlers), written when it ends.

    ``LOCKSTEP_PROFILE_MEMORY=<file>`` (``{pid}`` as above) also traces allocations and rewrites a
    tracemalloc snapshot of what is held every ``WRITE_EVERY_S`` (at the end, the daemons are gone).
    """
    memory = os.environ.get("LOCKSTEP_PROFILE_MEMORY", "").replace("{pid}", str(os.getpid()))
    if memory:
        threading.Thread(target=_write_memory, args=(memory,), name="profile-memory", daemon=True).start()
    if _COLLECTOR is None:
        return call(*args, **kwargs)
    return _COLLECTOR.run_and_write(True, call, *args, **kwargs)


def _write_memory(path: str) -> None:
    import tracemalloc

    tracemalloc.start(8)
    while True:
        time.sleep(WRITE_EVERY_S * 3)
        tracemalloc.take_snapshot().dump(path)
