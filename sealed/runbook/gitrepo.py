"""The few git operations the runbook needs, through the ``git`` command (the user's own git and config).

Paths are repo-relative POSIX strings, as git prints them with ``-z`` (no quoting to undo).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from sealed.format.errors import FormatError


class GitRepo:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = Path(self._git("rev-parse", "--show-toplevel").strip())
        self.git_dir = Path(self._git("rev-parse", "--absolute-git-dir").strip())

    def _git(self, *args: str) -> str:
        try:
            done = subprocess.run(
                ["git", "-C", str(self.path), *args], capture_output=True, text=True, check=False, timeout=120
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise FormatError(f"cannot run git: {error}", str(self.path)) from None
        if done.returncode != 0:
            reason = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            raise FormatError(f"git {args[0]} failed: {reason[0]}", str(self.path))
        return done.stdout

    def head(self) -> str:
        out = self._git("rev-parse", "--verify", "-q", "HEAD^{commit}")
        return out.strip()

    def branch(self) -> str:
        return self._git("rev-parse", "--abbrev-ref", "HEAD").strip()

    def tracked_files(self) -> list[str]:
        return sorted(p for p in self._git("ls-files", "-z").split("\0") if p)

    def dirty(self) -> list[str]:
        """Paths with changes of any kind, untracked files included (ignored files are not)."""
        out = self._git("status", "--porcelain=v1", "-z", "--untracked-files=all")
        paths, entries = [], out.split("\0")
        i = 0
        while i < len(entries):
            entry = entries[i]
            i += 1
            if not entry:
                continue
            status, path = entry[:2], entry[3:]
            paths.append(path)
            if "R" in status or "C" in status:
                i += 1  # the rename's source path follows
        return sorted(paths)

    def branch_exists(self, name: str) -> bool:
        done = subprocess.run(
            ["git", "-C", str(self.path), "rev-parse", "--verify", "-q", f"refs/heads/{name}"],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def commit_to_branch(self, branch: str, paths: list[str], message: str) -> str:
        """Create ``branch`` at HEAD, switch to it, commit ``paths``; returns the new commit."""
        if self.branch() != branch:
            if self.branch_exists(branch):
                raise FormatError(
                    f"branch {branch!r} already exists; choose another --commit name", str(self.root)
                )
            self._git("switch", "-q", "-c", branch)
        if paths:
            self._git("add", "--", *paths)
        self._git("commit", "-q", "-m", message, "--", *paths)
        return self.head()
