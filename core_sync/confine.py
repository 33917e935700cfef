"""Keep every file a source reads inside that source's root (a Git checkout or a local directory).

Why: a repository is hostile input. ``../..`` in a kustomization, an absolute symlink or a symlink that
climbs out would otherwise let a repository make the engine read (and apply) files from the host; a FIFO
would block a render forever; a symlink loop would raise deep inside ``pathlib``. Argo CD refuses such
trees as a whole (its out-of-bounds symlink check); Lockstep does the same, and reads every file through
:func:`read_file`, which opens regular files only, never blocks, and stops at the size limit.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from gocompat.limits import MAX_FILE_BYTES, read_at_most


class ConfinementError(Exception):
    """A path escapes its root or is not a readable regular file; ``path`` is relative to the root."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def relative(path: Path, root: Path) -> str:
    """``path`` as the repository shows it (relative to ``root`` when inside, else as given)."""
    try:
        return Path(os.path.normpath(path)).relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def local_root(directory: Path) -> Path:
    """The root a local directory is confined to: its Git work tree when it is in one, else itself."""
    start = directory.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start


def check_tree(directory: Path, root: Path) -> None:
    """Refuse a tree (``directory``, inside ``root``; both resolved) holding an absolute symlink, a symlink
    leaving ``root``, a symlink loop or a special file (FIFO, socket, device). Symlinked directories are
    not descended (their targets are inside ``root`` and checked where they are built from). Hidden
    entries (``.git``, ``.venv``, ...) are skipped as the build skips them; a kustomization that names
    one has that reference checked on its own."""
    for _ in checked_entries(directory, root):
        pass


def checked_entries(directory: Path, root: Path) -> Iterator[Path]:
    """Every entry under ``directory`` (hidden ones skipped), each checked as :func:`check_tree` checks it,
    for commands that walk a directory the user named (``lockstep import DIR``)."""
    for entry in _entries(directory, root):
        check_entry(entry, root)
        yield entry


def check_followed_tree(directory: Path, root: Path) -> None:
    """:func:`check_tree` for a tool that reads a whole tree itself (``helm template`` loads every file of
    a chart, hidden ones included, and follows symlinked directories): hidden entries are checked too
    (only ``.git`` is skipped) and symlinked directories are descended, each real directory once."""
    stack, seen = [directory], {directory}
    while stack:
        current = stack.pop()
        for entry in _entries(current, root, hidden=True, descend=False):
            check_entry(entry, root)
            if entry.is_dir():  # a directory, or a symlink to one (checked to stay inside the root)
                real = entry.resolve()
                if real not in seen:
                    seen.add(real)
                    stack.append(real)


def _entries(directory: Path, root: Path, *, hidden: bool = False, descend: bool = True) -> Iterator[Path]:
    stack = [directory]
    while stack:
        directory = stack.pop()
        try:
            children = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise ConfinementError(relative(directory, root), f"cannot list: {exc.strerror}") from None
        for child in children:
            if child.name.startswith(".") and (not hidden or child.name == ".git"):
                continue
            path = Path(child.path)
            yield path
            if descend and child.is_dir(follow_symlinks=False):
                stack.append(path)


def check_entry(path: Path, root: Path) -> None:
    """One directory entry: symlinks must be relative and stay inside ``root``; no special files."""
    rel = relative(path, root)
    try:
        info = path.lstat()
    except OSError as exc:
        raise ConfinementError(rel, f"cannot read: {exc.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        if path.readlink().is_absolute():
            raise ConfinementError(rel, "absolute symlink is not allowed (symlinks must be relative)")
        resolve(path, root)
    elif not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise ConfinementError(rel, f"is a {_kind(info.st_mode)}, not a regular file")


def resolve(path: Path, root: Path) -> Path:
    """``path`` with every symlink resolved, refused unless it stays inside ``root`` (lexically too)."""
    rel = relative(path, root)
    lexical = Path(os.path.normpath(path))
    if not lexical.is_relative_to(root):
        raise ConfinementError(rel, "points outside the repository")
    try:
        real = path.resolve(strict=False)
    except RuntimeError:  # Python < 3.13 raises this for a loop
        raise ConfinementError(rel, "symlink loop") from None
    except OSError as exc:
        raise ConfinementError(rel, f"cannot resolve: {exc.strerror}") from None
    if _is_loop(path):
        raise ConfinementError(rel, "symlink loop")
    if not real.is_relative_to(root):
        raise ConfinementError(rel, "symlink points outside the repository")
    return real


def _is_loop(path: Path) -> bool:
    try:
        path.stat()
    except OSError as exc:
        import errno

        return exc.errno == errno.ELOOP
    return False


def read_file(path: Path, root: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``: inside ``root`` (resolved), a regular file, at most ``limit`` bytes.

    Opened with ``O_NONBLOCK`` and checked with ``fstat`` on the open descriptor, so a FIFO or device
    swapped in after a check can neither block nor be read.
    """
    return _read_regular(resolve(path, root), relative(path, root), limit)


def read_named_file(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a file a user named on the command line (a backup, say): wherever it lives, but a
    regular file of at most ``limit`` bytes, read as :func:`read_file` reads (a FIFO cannot block)."""
    return _read_regular(path, str(path), limit)


def _read_regular(real: Path, rel: str, limit: int) -> bytes:
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ConfinementError(rel, f"cannot read: {exc.strerror}") from None
    info = os.fstat(fd)  # before fdopen, which refuses a directory with an error naming the descriptor
    if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
        os.close(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfinementError(rel, f"is a {_kind(info.st_mode)}, not a regular file")
        raise ConfinementError(rel, f"is {info.st_size} bytes, over the limit of {limit} bytes")
    with os.fdopen(fd, "rb") as handle:
        data = read_at_most(handle, limit)
    if len(data) > limit:
        raise ConfinementError(rel, f"is over the limit of {limit} bytes")
    return data


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"
