"""AES-256-GCM and SHA-2, each from its cheapest import, for the commands timed against the interpreter.

Why: a single ``lockstep seal`` or ``lockstep sops decrypt`` must cost little more than ``python -c pass``.
``hashlib`` initialises OpenSSL on import (~12 M instructions) where CPython's builtin ``_sha256``/``_sha512``
(3.11) or ``_sha2`` (3.12+) cost almost nothing; ``cryptography.hazmat.primitives.ciphers.aead.AESGCM`` is a
re-export of the Rust binding's class, and importing it by its public path also loads the pure-Python
cipher modules (``typing``, ``enum`` and more). Each name falls back to the public import when a build
lacks the fast one, so behaviour never depends on which path was taken (a test checks they are the same
class / give the same digests).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing is not imported at run time (start-up speed)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM as AESGCM


def __getattr__(name: str) -> object:
    """``AESGCM`` is loaded on first use (PEP 562): importing this module for SHA-2 must not load OpenSSL."""
    if name != "AESGCM":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from cryptography.hazmat.bindings._rust import openssl as _rust_openssl

        aesgcm = _rust_openssl.aead.AESGCM
    except (ImportError, AttributeError):  # pragma: no cover - other cryptography layouts
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM as aesgcm
    globals()["AESGCM"] = aesgcm
    return aesgcm


def _sha2(name: str) -> Callable[..., Any]:
    # 3.12+ keeps both in _sha2, 3.11 has _sha256 and _sha512 (a failed import would search all of sys.path)
    module = "_sha2" if sys.version_info >= (3, 12) else f"_{name}"
    try:
        return getattr(__import__(module), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError):  # pragma: no cover - a build without the builtin modules
        import hashlib

        return getattr(hashlib, name)  # type: ignore[no-any-return]


sha256: Callable[..., Any] = _sha2("sha256")
sha512: Callable[..., Any] = _sha2("sha512")
