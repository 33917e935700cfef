"""``lockstep sops rotate``/``updatekeys`` over many files draw the same progress bar as ``seal --in-place``
on a terminal (rich, on stderr) and print nothing extra otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyrage

from core_sync.testing.processes import run_on_a_terminal


def _lockstep(
    args: list[str], env: dict[str, str], stderr: int | None = subprocess.PIPE, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "core_sync.cli", "sops", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
        timeout=120,
        check=False,
    )


def _on_a_terminal(args: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[int, bytes]:
    code, _, shown = run_on_a_terminal([sys.executable, "-m", "core_sync.cli", "sops", *args], env, cwd)
    return code, shown


def test_batch_commands_show_progress_on_a_terminal_only(tmp_path: Path) -> None:
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["SOPS_AGE_KEY"] = str(identity)
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - age: {recipient}\n")
    files = []
    for i in range(3):
        plain = tmp_path / f"s{i}.yaml"
        plain.write_text(f"password: pw{i}\n")
        encrypted = _lockstep(["encrypt", "--age", recipient, str(plain)], env)
        assert encrypted.returncode == 0, encrypted.stderr
        plain.write_bytes(encrypted.stdout)
        files.append(str(plain))
    before = [Path(f).read_bytes() for f in files]

    code, shown = _on_a_terminal(["rotate", "-i", *files], env)
    assert code == 0, shown
    assert b"rotating" in shown and b"3/3" in shown
    assert [Path(f).read_bytes() for f in files] != before  # new data keys

    quiet = _lockstep(["rotate", "-i", *files], env)
    assert quiet.returncode == 0 and b"rotating" not in quiet.stderr

    code, shown = _on_a_terminal(["updatekeys", "-y", *files], env, cwd=tmp_path)
    assert code == 0, shown
    assert b"updating keys" in shown and b"3/3" in shown
    for i, name in enumerate(files):
        decrypted = _lockstep(["decrypt", name], env)
        assert decrypted.returncode == 0 and decrypted.stdout == f"password: pw{i}\n".encode()
