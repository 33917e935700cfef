"""A terminating signal that arrives while exec-file starts its command is raised only once the command is
recorded, so it is passed on to it instead of leaving it running (a SIGTERM inside ``Popen`` used to)."""

from __future__ import annotations

import os
import signal

import pytest

from sops_plugin.scratch import Interrupted, signals_deferred, signals_raise


def test_a_signal_inside_signals_deferred_is_raised_after_the_block() -> None:
    done = []
    with pytest.raises(Interrupted) as caught, signals_raise(), signals_deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        done.append("recorded")  # the statements inside finish first
    assert done == ["recorded"] and caught.value.signum == signal.SIGTERM


def test_signals_deferred_without_a_signal_changes_nothing() -> None:
    with signals_raise():
        with signals_deferred():
            pass
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # signals_raise's handler is back
