"""Driving the interop oracles the way tests need them (the real sops binary)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from core_sync.testing import binaries


def sops_encrypt(path: Path, age_recipient: str, *, encrypted_regex: str = "^(data|stringData)$") -> str:
    """What the real ``sops encrypt --age`` makes of ``path`` (Kubernetes-style: only data/stringData)."""
    env = {**os.environ, "SOPS_DISABLE_VERSION_CHECK": "1"}  # --version would ask GitHub
    argv = [
        str(binaries.sops()),
        "encrypt",
        "--age",
        age_recipient,
        "--encrypted-regex",
        encrypted_regex,
        str(path),
    ]
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=True, timeout=60).stdout
