"""Finding ``.sops.yaml`` as sops does. Its own module so that ``lockstep sops decrypt`` can look for the
config's ``stores`` settings without importing the library (``api``)."""

from __future__ import annotations

from pathlib import Path


def find_config(start: Path, override: str | None = None) -> Path | None:
    """``--config`` / ``SOPS_CONFIG``, else ``.sops.yaml`` in ``start`` or up to 100 parents."""
    if override:
        return Path(override)
    current = start.resolve()
    for _ in range(100):
        candidate = current / ".sops.yaml"
        if candidate.is_file():
            return candidate
        if current.parent == current:
            break
        current = current.parent
    return None
