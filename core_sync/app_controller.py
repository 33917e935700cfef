"""The Application controller (kopf handlers, thin): each Application is reconciled by the engine."""

from __future__ import annotations

from typing import Any


def register(registry: Any) -> None:
    """Add the Application handlers to ``registry`` (filled in as the engine lands)."""
