"""Writing output files all at once or not at all: the one write path of every CLI command that writes files.

Why one helper: ``seal --in-place``, ``--merge-into``, ``-o``, ``sops encrypt -i``, ``rotate`` and
``updatekeys`` all promise that a failure leaves every file as it was. Each target is checked first (a
regular file or nothing, writable, in a writable directory), every new content goes to a temp file in the
target's own directory (mode 0600 while it is written, fsynced), and only then are the temps renamed over
the targets. A failure before the renames removes the temps and changes nothing; a failure during them
puts back the files already replaced. Temp files never leave the target directory and are removed on any
error, so plaintext (``sops decrypt --output``) is never left behind.

Only ``os`` and ``stat`` are imported: ``lockstep seal`` and ``lockstep sops`` must start fast.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path

NEW_FILE_MODE = 0o600  # the default for a file that does not exist yet: it may hold plaintext


class WriteError(OSError):
    """A target that cannot be written; ``path`` names it and ``reason`` says why (no file content)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def _resolved(path: Path) -> Path:
    """The file a symlink points to (the link stays a link, as editors and sops keep it)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def check_writable(path: Path) -> None:
    """Raise :class:`WriteError` unless ``path`` can be replaced: a regular file or nothing, not marked
    read-only, in an existing directory we may write to. Root is held to the mode bits too: replacing a file
    by rename would otherwise overwrite a file its owner marked read-only."""
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise WriteError(path, error.strerror or str(error)) from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise WriteError(path, "is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise WriteError(path, "is not a regular file")
        if not info.st_mode & 0o222 or not os.access(path, os.W_OK):
            raise WriteError(path, "file is read-only (permission denied)")
    parent = path.parent
    if not parent.is_dir():
        raise WriteError(path, f"directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise WriteError(path, f"directory {parent} is not writable (permission denied)")


def _write_temp(target: Path, data: bytes, mode: int) -> Path:
    """``data`` in a new 0600 temp file beside ``target``, fsynced, then given ``mode``."""
    temp = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        _remove(temp)
        raise
    os.close(fd)
    return temp


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_files(outputs: Sequence[tuple[Path, bytes]], new_file_mode: int = NEW_FILE_MODE) -> None:
    """Replace every ``(path, data)`` or none of them; raises :class:`WriteError` naming the failing file.

    An existing file keeps its mode; a new one gets ``new_file_mode``. The contents are already complete in
    memory: nothing here can fail half-way through producing them.
    """
    targets = [_resolved(Path(path)) for path, _ in outputs]
    if len({str(t) for t in targets}) != len(targets):
        raise WriteError(targets[0], "the same file would be written twice")
    for target in targets:
        check_writable(target)
    temps: list[Path] = []
    try:
        for target, (_, data) in zip(targets, outputs, strict=True):
            try:
                mode = target.stat().st_mode & 0o7777
            except FileNotFoundError:
                mode = new_file_mode
            try:
                temps.append(_write_temp(target, data, mode))
            except OSError as error:
                raise WriteError(target, error.strerror or str(error)) from None
        _rename_all(targets, temps)
    finally:
        for temp in temps:
            if temp.exists():
                _remove(temp)
    for directory in {t.parent for t in targets}:
        _fsync_dir(directory)


def _rename_all(targets: list[Path], temps: list[Path]) -> None:
    """Move each temp over its target; if one rename fails, put back the files already replaced.

    The old contents are kept first as hard links beside the targets (in memory where the filesystem has
    no hard links), so a rename failing half-way can be undone. A single file needs no undo."""
    backups: list[Path | bytes | None] = []
    done: list[tuple[Path, Path | bytes | None]] = []
    try:
        for target in targets:
            backups.append(_backup(target) if len(targets) > 1 else None)
        for target, temp, backup in zip(targets, temps, backups, strict=True):
            try:
                temp.replace(target)
            except OSError as error:
                for replaced, old in reversed(done):
                    _restore(replaced, old)
                raise WriteError(target, error.strerror or str(error)) from None
            done.append((target, backup))
    finally:
        for backup in backups:
            if isinstance(backup, Path):
                _remove(backup)


def _backup(target: Path) -> Path | bytes | None:
    """A way back to ``target``'s current content: a hard link, else its bytes; None if it does not exist."""
    if not target.exists():
        return None
    link = target.with_name(f".{target.name}.{os.urandom(6).hex()}.old")
    try:
        os.link(target, link)
        return link
    except OSError:
        try:
            return target.read_bytes()
        except OSError as error:
            raise WriteError(target, error.strerror or str(error)) from None


def _restore(target: Path, old: Path | bytes | None) -> None:
    try:
        if old is None:
            target.unlink()
        elif isinstance(old, Path):
            old.replace(target)
        else:
            mode = target.stat().st_mode & 0o7777
            _write_temp(target, old, mode).replace(target)
    except OSError:
        pass  # best effort: the error that brought us here is reported


def write_atomic(path: Path, data: bytes, new_file_mode: int = NEW_FILE_MODE) -> None:
    """Replace one file with ``data`` (a transaction of one: see :func:`write_files`)."""
    write_files([(path, data)], new_file_mode)
