"""A one-line progress bar on a terminal; a line every 10% in logs (for 50 items or more).

Shared by ``lockstep seal --in-place`` and ``lockstep keys rotate``: both walk many files in one process.
"""

from __future__ import annotations

import sys


class Progress:
    def __init__(self, total: int, verb: str) -> None:
        self.total = total
        self.verb = verb
        self.count = 0
        self.tty = sys.stderr.isatty()
        self.every = max(total // 10, 1)

    def step(self, item: object) -> None:
        self.count += 1
        if not self.tty:
            if self.total >= 50 and self.count % self.every == 0:
                sys.stderr.write(f"{self.verb}: {self.count}/{self.total} files\n")
            return
        if self.count == self.total or self.count % 10 == 1:
            width = 30
            filled = width * self.count // max(self.total, 1)
            bar = "#" * filled + "-" * (width - filled)
            sys.stderr.write(f"\r{self.verb} [{bar}] {self.count}/{self.total} {str(item)[-40:]:<40}")
            sys.stderr.flush()

    def done(self) -> None:
        if self.tty and self.total:
            sys.stderr.write("\n")
