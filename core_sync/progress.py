"""Progress for commands that walk many files: a ``rich`` bar on a terminal, a line every 10% in logs.

Shared by ``lockstep seal --in-place``, ``lockstep keys rotate`` and the batch ``lockstep sops`` commands.
``rich`` (the library ``lockstep demo`` draws its table with) is imported only when stderr is a terminal, so
scripted runs pay nothing for it.
"""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    def __init__(self, total: int, verb: str) -> None:
        self.total = total
        self.verb = verb
        self.count = 0
        self.every = max(total // 10, 1)
        self._bar: Any = None
        self._task: Any = None
        if sys.stderr.isatty() and total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[item]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._task = self._bar.add_task(verb, total=total, item="")
            self._bar.start()

    def step(self, item: object) -> None:
        self.count += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, item=str(item)[-40:])
        elif self.total >= 50 and self.count % self.every == 0:
            sys.stderr.write(f"{self.verb}: {self.count}/{self.total} files\n")

    def done(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
