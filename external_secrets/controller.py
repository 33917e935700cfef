"""ExternalSecret, SecretStore and ClusterSecretStore controllers (kopf handlers, thin)."""

from __future__ import annotations

from typing import Any


def register(registry: Any) -> None:
    """Add the ExternalSecret handlers to ``registry`` (being built)."""
