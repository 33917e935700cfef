"""A regular expression compiled on its first use instead of at import.

Why: compiling a pattern runs ``re``'s pure-Python compiler (0.3-1 M instructions each), and modules on the
path of ``lockstep seal`` / ``lockstep sops decrypt`` hold dozens of patterns that a given input mostly
never touches; those commands are measured against the bare interpreter. After the first call the
compiled pattern's own methods replace these ones on the instance, so later calls cost nothing extra.
"""

from __future__ import annotations

import re
import sys

TYPE_CHECKING = False  # typing is not imported at run time (start-up speed)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

_METHODS = ("match", "fullmatch", "search", "sub", "finditer", "findall")


class LazyRegex:
    """``re.compile(pattern, flags)``, deferred; offers the methods of ``re.Pattern`` used in Lockstep."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    def compiled(self) -> re.Pattern[str]:
        pattern = re.compile(self.pattern, self.flags)
        for name in _METHODS:
            self.__dict__[name] = getattr(pattern, name)
        self.__dict__["compiled"] = lambda: pattern
        return pattern

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled().match(string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled().fullmatch(string, pos, endpos)

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled().search(string, pos, endpos)

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> str:
        return self.compiled().sub(repl, string, count)

    def finditer(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[str]]:
        return self.compiled().finditer(string, pos, endpos)

    def findall(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> list[Any]:
        return self.compiled().findall(string, pos, endpos)
