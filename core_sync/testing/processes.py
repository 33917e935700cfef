"""Child processes that never outlive the harness.

Each child runs in its own process group (so a stop reaches anything it forks) and asks the kernel for
SIGKILL when the thread that started it dies (``PR_SET_PDEATHSIG``), so an interrupted or killed test run
leaves no kube-apiserver, etcd or bao behind. Output goes to a log file whose tail is quoted in errors.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_LIVE: weakref.WeakSet[ManagedProcess] = weakref.WeakSet()


class ProcessFailed(RuntimeError):
    """A child exited or never became ready; the message names the step and quotes its log."""


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (callers retry on a clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could bind ``port`` now (with SO_REUSEADDR, as Go and Python servers do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class ManagedProcess:
    """One long-running child with a name, a log and a readiness probe."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            preexec: Callable[[], None] | None = None  # PDEATHSIG tracks the starting *thread*
        else:
            preexec = _die_with_parent
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=preexec,
            )
        _LIVE.add(self)

    @property
    def pid(self) -> int:
        assert self._popen is not None, f"{self.name} was never started"
        return self._popen.pid

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def fail(self, step: str, reason: str) -> ProcessFailed:
        return ProcessFailed(
            f"{self.name}: {step} failed: {reason}\n--- last lines of {self.log_path} ---\n{self.log_tail()}"
        )

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``ready`` every 100 ms; fail fast if the child exits, loudly on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                code = self._popen.returncode if self._popen else None
                raise self.fail(what, f"process exited with code {code}")
            if ready():
                return
            time.sleep(0.1)
        raise self.fail(what, f"not ready after {timeout:.0f} s")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``timeout``."""
        popen = self._popen
        if popen is None or popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGTERM)
        try:
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGKILL)
            popen.wait(5)
        _LIVE.discard(self)


def http_ok(url: str, context: ssl.SSLContext | None = None, timeout: float = 2.0) -> bool:
    """True when ``url`` answers 200 (any error counts as not yet)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def stop_all() -> None:
    """Stop every child still alive (pytest's session end and atexit call this)."""
    for process in list(_LIVE):
        process.stop(timeout=5)


def run_on_a_terminal(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None, timeout: float = 120
) -> tuple[int, bytes, bytes]:
    """Run ``argv`` with its stderr on a pseudo-terminal (what a person at a terminal sees: progress bars,
    prompts' text) and stdout piped; returns ``(exit code, stdout, what the terminal showed)``."""
    import pty

    primary, secondary = pty.openpty()
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=secondary,
            env={**env, "COLUMNS": "100", "TERM": "xterm"},
            timeout=timeout,
            check=False,
        )
        os.close(secondary)
        secondary = -1
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(primary)
        if secondary >= 0:
            os.close(secondary)
    return proc.returncode, proc.stdout, shown
