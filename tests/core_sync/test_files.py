"""core_sync.files: the all-or-nothing write path of every CLI command that writes files, on a real
filesystem — preflight refusals, a rename failing half-way rolled back, modes, and no temp left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from core_sync import files
from core_sync.files import WriteError, check_writable, write_atomic, write_files


def _listing(root: Path) -> dict[str, bytes | None]:
    return {p.name: (p.read_bytes() if p.is_file() else None) for p in sorted(root.iterdir())}


def test_writes_every_file_keeping_modes(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("old\n")
    old.chmod(0o640)
    write_files([(old, b"new old\n"), (tmp_path / "new.yaml", b"new\n")])
    assert old.read_bytes() == b"new old\n" and old.stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "new.yaml").stat().st_mode & 0o777 == 0o600
    assert sorted(_listing(tmp_path)) == ["new.yaml", "old.yaml"]


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda p: p.mkdir(), "is a directory, not a file"),
        (lambda p: (p.write_text("x"), p.chmod(0o444)), "file is read-only (permission denied)"),
        (lambda p: None, "does not exist"),
    ],
    ids=["directory", "read-only", "no-parent"],
)
def test_preflight_refuses_before_writing_anything(setup: object, reason: str, tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("a\n")
    bad = tmp_path / "b.yaml" if reason != "does not exist" else tmp_path / "nodir" / "b.yaml"
    setup(bad)  # type: ignore[operator]
    before = _listing(tmp_path)
    with pytest.raises(WriteError) as caught:
        write_files([(first, b"changed\n"), (bad, b"b\n")])
    assert caught.value.path == str(bad) and reason in caught.value.reason
    assert _listing(tmp_path) == before


def test_a_rename_failing_half_way_puts_back_the_files_already_replaced(tmp_path: Path) -> None:
    """The rename phase itself failing (here the second temp vanished) is rolled back: the first file,
    already replaced, gets its old content again and no backup or temp file is left."""
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("a\n")
    second.write_text("b\n")
    temps = [files._write_temp(first, b"new a\n", 0o644), files._write_temp(second, b"new b\n", 0o644)]
    temps[1].unlink()
    with pytest.raises(WriteError) as caught:
        files._rename_all([first, second], temps)
    assert caught.value.path == str(second)
    assert first.read_bytes() == b"a\n" and second.read_bytes() == b"b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml"]


def test_the_same_file_twice_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "a.yaml"
    with pytest.raises(WriteError, match="written twice"):
        write_files([(target, b"1"), (tmp_path / "." / "a.yaml", b"2")])
    assert not target.exists()


def test_write_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text("old\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(real.name)
    write_atomic(link, b"new\n")
    assert link.is_symlink() and real.read_bytes() == b"new\n"
    check_writable(link)
