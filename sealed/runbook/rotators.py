"""Other secret formats the runbook rotates beside SealedSecrets, found through the ``lockstep.rotators``
entry point group.

Why an entry point and not an import: ``sealed`` must never import ``sops_plugin`` (the secret packages are
independent; see docs/architecture.md), yet the runbook has to rotate SOPS files in the same resumable run.
``sops_plugin.rotation:SopsRotator`` registers itself in pyproject.toml and is found here by name, the way
core_sync finds render stages; the contract is this Protocol, which the plugin satisfies structurally
without importing it. A plugin that fails to load is reported, never silently skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

GROUP = "lockstep.rotators"


class FileRotator(Protocol):
    """One file format's rotation: ``claims`` picks its files, ``rotate`` returns new bytes,
    ``verify`` checks the file on disk opens; errors are ``ValueError`` whose text names no secret."""

    name: str

    def claims(self, path: Path, data: bytes) -> bool: ...

    def keys(self, path: Path, data: bytes) -> str:
        """The recipients that open ``data`` now, for the report (public identifiers only)."""
        ...

    def rotate(self, path: Path, data: bytes) -> bytes:
        """A new data key for ``data`` and the recipients its configuration names now."""
        ...

    def verify(self, path: Path, data: bytes) -> str:
        """Check ``data`` opens with the identities available; return its recipients."""
        ...


def load_rotators() -> list[FileRotator]:
    from importlib.metadata import entry_points

    from sealed.format.errors import FormatError

    rotators: list[FileRotator] = []
    for entry in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            factory = entry.load()
        except Exception as error:  # a broken plugin must stop the run, with its name
            raise FormatError(f"cannot load rotator plugin {entry.name!r} ({entry.value}): {error}") from None
        rotators.append(factory())
    return rotators
