"""The runbook's journal: what a run has done in one repo, so a killed run resumes where it stopped.

Where: ``<git dir>/lockstep-rotate.jsonl`` — beside the repo's own state, invisible to ``git status``, never
committed, and found again by any later run on the same working tree. What: one JSON object per line,
appended and flushed before the step it announces (writes are announced a batch at a time, so a SIGKILL
leaves at most one batch whose outcome is unknown, and each file's contents tell which way it went):

- ``{"run": ..., "head": ..., "started": ...}`` — the run's header, written before the key step;
- ``{"target": <fingerprint>, "key": <name>}`` — the key this run re-seals to (a run killed between making
  its key and this line adopts the newest key made since ``started`` instead of making another);
- ``{"write": path, "before": sha, "after": sha, ...}`` — about to replace ``path`` (SHA-256 of the old and
  new ciphertext files: digests of ciphertext with fresh random session keys reveal nothing of the values);
- ``{"verified": path, ...}``, ``{"committed": branch, "commit": sha}``, ``{"finished": time}``.

On resume every changed path in the working tree must be one this run wrote, still holding the bytes it
wrote (or, for an interrupted write, the bytes it had before); anything else means someone edited the
repo meanwhile, and the run stops without touching it. Temp files of writes the kill cut short are the
only litter, and are removed once the run goes ahead. If the tree holds nothing of the run any more (reset,
and the fix committed), the files start over with the same key.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from sealed.format.errors import FormatError

JOURNAL_NAME = "lockstep-rotate.jsonl"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.header: dict[str, Any] | None = None
        self.writes: dict[str, dict[str, Any]] = {}
        self.verified: dict[str, dict[str, Any]] = {}
        self.committed: dict[str, Any] | None = None
        self.finished = False
        self.restart = False  # unfinished, but the tree holds none of its changes: start the files over
        self._handle: Any = None

    @classmethod
    def load(cls, git_dir: Path) -> Journal:
        journal = cls(git_dir / JOURNAL_NAME)
        try:
            lines = journal.path.read_text().splitlines()
        except FileNotFoundError:
            return journal
        except OSError as error:
            raise FormatError(f"cannot read the run state: {error.strerror}", str(journal.path)) from None
        for number, line in enumerate(lines, 1):
            try:
                event = json.loads(line)
            except ValueError:
                if number == len(lines):
                    break  # a last line cut short by a kill: the step it announced did not start
                raise FormatError(f"line {number} is not JSON", str(journal.path)) from None
            journal._apply(event)
        return journal

    def _apply(self, event: dict[str, Any]) -> None:
        if "run" in event:
            self.header = event
        elif "target" in event and self.header is not None:
            self.header = {**self.header, "target": event["target"], "key": event.get("key", "")}
        elif "write" in event:
            self.writes[event["write"]] = event
        elif "verified" in event:
            self.verified[event["verified"]] = event
        elif "committed" in event:
            self.committed = event
        elif "finished" in event:
            self.finished = True

    @property
    def unfinished(self) -> bool:
        return self.header is not None and not self.finished

    def start(self, header: dict[str, Any]) -> None:
        """A fresh journal (a finished or absent earlier one is replaced)."""
        self.close()
        self.header, self.writes, self.verified, self.committed, self.finished = header, {}, {}, None, False
        self._handle = self.path.open("w", encoding="utf-8")  # kept open for appends
        self._append(header)

    def record(self, event: dict[str, Any]) -> None:
        if self._handle is None:
            self._handle = self.path.open("a", encoding="utf-8")
        self._apply(event)
        self._append(event)

    def _append(self, event: dict[str, Any]) -> None:
        self._handle.write(json.dumps(event, sort_keys=True) + "\n")
        self._handle.flush()  # in the kernel before the step runs: survives SIGKILL of this process

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


_TEMP = re.compile(r"^(?P<dir>(?:.*/)?)\.(?P<name>[^/]+)\.[0-9a-f]{12}\.tmp$")


def leftover_temps(journal: Journal, dirty: list[str]) -> list[str]:
    """Temp files of the atomic writes a kill interrupted (``.<name>.<hex>.tmp`` beside a file this run
    journaled): the file itself is still whole, so these are only litter to remove before resuming."""
    found = []
    for path in dirty:
        match = _TEMP.match(path)
        if match and f"{match['dir']}{match['name']}" in journal.writes:
            found.append(path)
    return found


def edited_meanwhile(journal: Journal, dirty: list[str], read: Any) -> list[str]:
    """The changed paths that this run did not write, or that changed after it wrote them."""
    problems = []
    for path in dirty:
        write = journal.writes.get(path)
        if write is None:
            problems.append(f"{path}: changed, but not by the interrupted run")
            continue
        try:
            current = digest(read(path))
        except OSError:
            problems.append(f"{path}: removed after the interrupted run wrote it")
            continue
        if current not in (write["after"], write["before"]):
            problems.append(f"{path}: changed after the interrupted run wrote it")
    return problems
