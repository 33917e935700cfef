"""A fixed fuzzing budget for CI and a wall-clock bound per example, shared by the fuzz tests.

Budget: ``LOCKSTEP_FUZZ_EXAMPLES`` examples per target (default 150), derandomized so CI runs the same
examples every time; raise it locally for a longer hunt (``LOCKSTEP_FUZZ_EXAMPLES=20000``). A hang is a
failure, not a slow test: every example runs under an interval timer that raises :class:`Hang`.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("LOCKSTEP_FUZZ_EXAMPLES", "150"))
SECONDS_PER_EXAMPLE = float(os.environ.get("LOCKSTEP_FUZZ_SECONDS", "2"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the interval timer below bounds each example; hypothesis' deadline is flaky on 2 cores
    derandomize=os.environ.get("LOCKSTEP_FUZZ_RANDOM") != "1",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    database=None,
)


class Hang(Exception):
    """An example ran past its wall-clock bound."""


@contextmanager
def bounded(seconds: float = SECONDS_PER_EXAMPLE) -> Iterator[None]:
    """Raise :class:`Hang` in the main thread if the body runs longer than ``seconds``."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"example ran longer than {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
