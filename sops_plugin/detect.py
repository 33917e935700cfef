"""Which objects carry a SOPS block: import-light (it imports nothing), so the render stage can pass a
revision without one through without loading the cipher, age and YAML code of ``sops_plugin.format``."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_METADATA_KEYS = ("mac", "lastmodified", "version", "age", "key_groups", "kms", "pgp", "gcp_kms", "azure_kv")


def has_metadata(obj: Any) -> bool:
    """A Kubernetes-style object carrying a SOPS block: a ``sops`` mapping with any of sops' metadata keys.

    Deliberately broad: a SOPS object whose MAC or timestamp was stripped must be refused by decryption
    (no MAC, no version), never mistaken for a plain object and applied with its ciphertext."""
    meta = obj.get("sops") if isinstance(obj, dict) else None
    return isinstance(meta, dict) and any(key in meta for key in _METADATA_KEYS)
