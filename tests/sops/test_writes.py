"""``lockstep sops`` writing files: every command that writes (``-i``, ``--output``, ``rotate``,
``updatekeys``) goes through core_sync.files, so a failure changes no file, leaves no temp file (which could
hold plaintext) and exits 3 as sops' CouldNotWriteOutputFile."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

from .conftest import AgeKey, Sops
from .test_errors import run_cli
from .test_exit_codes import PLAIN


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}


def _encrypted_files(root: Path, sops_bin: Sops, key: AgeKey, count: int) -> list[Path]:
    (root / "plain.yaml").write_bytes(PLAIN)
    files = []
    for n in range(count):
        path = root / f"s{n}.yaml"
        path.write_bytes(sops_bin.ok("encrypt", "--age", key.recipient, "plain.yaml", cwd=root))
        files.append(path)
    return files


def test_encrypt_in_place_refuses_a_read_only_file(tmp_path: Path, key1: AgeKey, sops_bin: Sops) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(PLAIN)
    path.chmod(0o444)
    ours = run_cli(["encrypt", "--age", key1.recipient, "-i", "p.yaml"], key1.file, tmp_path)
    assert ours.returncode == 3
    assert ours.stderr == b"p.yaml: Could not write output file: file is read-only (permission denied)\n"
    assert path.read_bytes() == PLAIN
    if os.geteuid() != 0:  # root's sops writes through the mode bits; everyone else's fails as ours does
        assert sops_bin.run("encrypt", "--age", key1.recipient, "-i", "p.yaml", cwd=tmp_path).returncode == 3


def test_rotate_several_files_with_one_read_only_changes_none(
    tmp_path: Path, key1: AgeKey, sops_bin: Sops
) -> None:
    files = _encrypted_files(tmp_path, sops_bin, key1, 3)
    files[1].chmod(0o444)
    before = _snapshot(tmp_path)
    ours = run_cli(["rotate", "-i", *[f.name for f in files]], key1.file, tmp_path)
    assert ours.returncode == 3
    assert b"s1.yaml: Could not write output file: file is read-only" in ours.stderr
    assert b"no file was changed" in ours.stderr
    assert _snapshot(tmp_path) == before


def test_updatekeys_several_files_with_one_read_only_changes_none(
    tmp_path: Path, key1: AgeKey, key2: AgeKey, sops_bin: Sops
) -> None:
    files = _encrypted_files(tmp_path, sops_bin, key1, 2)
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - age: {key1.recipient},{key2.recipient}\n")
    files[0].chmod(0o444)
    before = _snapshot(tmp_path)
    ours = run_cli(["updatekeys", "-y", *[f.name for f in files]], key1.file, tmp_path)
    assert ours.returncode == 3
    assert b"s0.yaml: Could not write output file: file is read-only" in ours.stderr
    assert _snapshot(tmp_path) == before
    files[0].chmod(0o644)
    done = run_cli(["updatekeys", "-y", *[f.name for f in files]], key1.file, tmp_path)
    assert done.returncode == 0, done.stderr
    for path in files:
        opened = sops_bin.run("decrypt", path.name, key_file=key2.file, cwd=tmp_path)
        assert opened.returncode == 0 and b"hunter2" in opened.stdout


def test_decrypt_output_is_private_and_leaves_no_temp(tmp_path: Path, key1: AgeKey, sops_bin: Sops) -> None:
    (enc,) = _encrypted_files(tmp_path, sops_bin, key1, 1)
    ours = run_cli(["decrypt", "--output", "out.yaml", enc.name], key1.file, tmp_path)
    assert ours.returncode == 0, ours.stderr
    assert (tmp_path / "out.yaml").stat().st_mode & 0o777 == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_in_place_write_failing_half_way_keeps_the_file(tmp_path: Path, key1: AgeKey, sops_bin: Sops) -> None:
    """A write that fails part-way (the file size limit, as a full disk would) keeps the encrypted file and
    leaves no temp file holding the plaintext."""
    big = tmp_path / "big.yaml"
    big.write_bytes(PLAIN + b"  blob: " + b"x" * 200_000 + b"\n")
    enc = sops_bin.ok("encrypt", "--age", key1.recipient, "big.yaml", cwd=tmp_path)
    big.write_bytes(enc)
    before = _snapshot(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update(SOPS_AGE_KEY_FILE=str(key1.file), HOME=str(tmp_path / "home"), PYTHONDONTWRITEBYTECODE="1")

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    lockstep = Path(sys.executable).parent / "lockstep"
    proc = subprocess.run(
        [str(lockstep), "sops", "decrypt", "-i", "big.yaml"],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        preexec_fn=limit_file_size,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr == b"big.yaml: Could not write output file: File too large\n"
    assert _snapshot(tmp_path) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_in_place_through_a_symlink_keeps_the_link(tmp_path: Path, key1: AgeKey, sops_bin: Sops) -> None:
    (enc,) = _encrypted_files(tmp_path, sops_bin, key1, 1)
    link = tmp_path / "link.yaml"
    link.symlink_to(enc.name)
    ours = run_cli(["decrypt", "-i", "link.yaml"], key1.file, tmp_path)
    assert ours.returncode == 0, ours.stderr
    assert link.is_symlink() and b"hunter2" in enc.read_bytes()
