"""A private scratch directory for plaintext that must briefly live in a file (``lockstep sops edit`` hands
the decrypted document to an editor, which can only open files).

Why this module exists: every other command keeps plaintext in memory. Here the file is the price of using
the user's editor, so it is made as small a risk as possible: the directory is created 0700 on a RAM-backed
filesystem when there is one (``$XDG_RUNTIME_DIR``, then ``/dev/shm``; otherwise the temp dir), the file is
created 0600 with ``O_EXCL | O_NOFOLLOW``, and everything in the directory (editor swap and backup files
included) is overwritten with zeros and removed when the workspace closes, on every exit path: normal return,
exceptions, and SIGINT/SIGTERM/SIGHUP (turned into :class:`Interrupted` by :func:`signals_raise`). Only
SIGKILL cannot be caught; a later run sweeps directories whose owning process is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gocompat.limits import read_at_most

PREFIX = "lockstep-sops-edit."
CAUGHT = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(Exception):
    """A terminating signal arrived; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class ScratchError(Exception):
    """The scratch directory could not be made; the message names where."""


def _raise(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """While inside, SIGINT/SIGTERM/SIGHUP raise :class:`Interrupted` so ``finally`` blocks run."""
    previous = {sig: signal.signal(sig, _raise) for sig in CAUGHT}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Inside :func:`signals_raise`: a caught signal that arrives while starting a child is raised only once
    the statements inside are done, so the child is recorded (and the signal passed on to it) instead of
    being started and orphaned half-way through ``Popen``. The handler only notes the signal; exec resets
    caught dispositions, so the child starts with the default ones."""
    pending: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: pending.append(signum)) for sig in CAUGHT}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if pending:
        raise Interrupted(pending[0])


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Block the caught signals for a few statements that must not be torn apart (create + record a path);
    a signal sent meanwhile is delivered, and raised, right after."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, CAUGHT)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _usable(directory: str | None) -> bool:
    if not directory:
        return False
    try:
        info = Path(directory).stat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and os.access(directory, os.W_OK | os.X_OK)


def base_directory() -> str:
    """Where scratch directories go: RAM-backed when possible (``$XDG_RUNTIME_DIR`` is per user and 0700;
    ``/dev/shm`` is tmpfs on Linux), else the temp dir."""
    for candidate in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):  # noqa: S108 - a private dir inside
        if _usable(candidate):
            return str(candidate)
    return tempfile.gettempdir()


def scrub(directory: Path) -> None:
    """Overwrite every regular file below ``directory`` with zeros, then remove the whole tree."""
    for root, dirs, files in os.walk(directory, topdown=False):
        for name in files:
            path = Path(root) / name
            with contextlib.suppress(OSError):
                info = path.lstat()
                if stat.S_ISREG(info.st_mode):
                    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
                    try:
                        os.write(fd, b"\0" * info.st_size)
                        os.fsync(fd)
                    finally:
                        os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
        for name in dirs:
            with contextlib.suppress(OSError):
                (Path(root) / name).rmdir()
    with contextlib.suppress(OSError):
        directory.rmdir()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(base: str) -> None:
    """Scrub scratch directories of ours whose process is gone (it was killed with SIGKILL)."""
    try:
        entries = list(os.scandir(base))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        pid_text = entry.name[len(PREFIX) :].split(".", 1)[0]
        with contextlib.suppress(OSError, ValueError):
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not _alive(int(pid_text)):
                scrub(Path(entry.path))


class Scratch:
    """One private directory holding one plaintext file named like the original (so editors pick the
    right syntax highlighting). Use as a context manager; leaving it always scrubs."""

    def __init__(self, name: str) -> None:
        self.name = Path(name).name or "file"
        self.directory: Path | None = None

    def __enter__(self) -> Scratch:
        base = base_directory()
        sweep_stale(base)
        with signals_held():
            try:
                self.directory = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}.", dir=base))
            except OSError as exc:
                raise ScratchError(
                    f"Could not create temporary directory in {base}: {exc.strerror}"
                ) from None
        return self

    def __exit__(self, *_: object) -> None:
        if self.directory is not None:
            scrub(self.directory)
            self.directory = None

    @property
    def path(self) -> Path:
        assert self.directory is not None, "Scratch used outside its with block"
        return self.directory / self.name

    def write(self, data: bytes) -> None:
        """Create the file (0600, never through a symlink or over an existing file) holding ``data``."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def read(self, limit: int) -> bytes:
        """The edited file (editors may have replaced it by rename); refuses more than ``limit`` bytes."""
        with self.path.open("rb") as handle:
            data = read_at_most(handle, limit)
        if len(data) > limit:
            raise ValueError(f"the edited file is larger than {limit} bytes")
        return data
