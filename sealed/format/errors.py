"""One exception type for the format layer, so the CLI can turn any of them into ``error: <where>: <why>``."""

from __future__ import annotations


class FormatError(ValueError):
    """Bad input or an operation that cannot succeed; ``where`` names the file, object or item."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def at(self, where: str) -> FormatError:
        """The same error, located under ``where`` (outermost first: ``file: key``)."""
        located = f"{where}: {self.where}" if self.where else where
        return FormatError(self.message, located)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message
