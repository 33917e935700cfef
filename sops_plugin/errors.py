"""Errors carrying sops' exit codes (cmd/sops/codes/codes.go, checked side by side with the binary in
tests/sops/test_exit_codes.py), so the CLI and library callers agree on what went wrong.

Messages name the file and, where there is one, the key path; they never contain plaintext or key material.

Deliberate differences from sops 3.11 (safer, never a silent success): a read-only file is not rewritten by
``-i`` even for root (3; root's sops writes through the mode bits), an invalid ``--encrypted-regex`` and
truncated JSON are refused on encrypt (sops encrypts anyway), and an unknown ``--input-type`` is a usage
error.
"""

from __future__ import annotations

GENERIC = 1
COULD_NOT_READ_INPUT = 2
COULD_NOT_WRITE_OUTPUT = 3
ERROR_DUMPING_TREE = 4
ERROR_READING_CONFIG = 5
INVALID_SET_FORMAT = 7  # a set/unset index or value that does not parse
CONFLICTING_PARAMETERS = 8
ERROR_ENCRYPTING_TREE = 23
ERROR_DECRYPTING_MAC = 24
ERROR_DECRYPTING_TREE = 25
MAC_MISMATCH = 51
MAC_NOT_FOUND = 52
CONFIG_FILE_NOT_FOUND = 61
INVALID_TREE_PATH = 91  # --extract's path does not parse
NEED_AT_LEAST_ONE_DOCUMENT = 92
NO_FILE_SPECIFIED = 100  # also "cannot operate on non-existent file" (decrypt, encrypt)
NO_ENCRYPTION_KEY_FOUND = 111
DUPLICATE_DECRYPTION_KEY_TYPE = 112
COULD_NOT_RETRIEVE_KEY = 128
FILE_ALREADY_ENCRYPTED = 203


class SopsError(Exception):
    """A failure with the exit code sops would use; ``where`` is the file (filled in by the caller)."""

    def __init__(self, message: str, exit_code: int = GENERIC, *, path: str = "", where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.path = path
        self.where = where

    def located(self, where: str) -> SopsError:
        """The same error, naming the file (or object) it happened in."""
        if not self.where:
            self.where = where
        return self

    def __str__(self) -> str:
        parts = [self.where] if self.where else []
        if self.path:
            parts.append(f"key {self.path}")
        prefix = ": ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class MetadataNotFound(SopsError):
    def __init__(self) -> None:
        super().__init__("sops metadata not found", GENERIC)


class MacMismatch(SopsError):
    def __init__(self, message: str) -> None:
        super().__init__(message, MAC_MISMATCH)


class NoUsableKey(SopsError):
    def __init__(self, message: str) -> None:
        super().__init__(message, COULD_NOT_RETRIEVE_KEY)
