"""Keys, certificates and runners for the sealed tests: the real kubeseal binary and ``lockstep seal``.

Keys come from the product's own generator (:mod:`sealed.format.keygen`), which makes them as Bitnami's
controller does.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from core_sync.testing import kubeseal
from sealed.format.keygen import generate_key_pair

CIPHERTEXT = re.compile(r"A[gQ][A-Za-z0-9+/]{300,}={0,2}")


@dataclass(frozen=True)
class SealingKey:
    key: rsa.RSAPrivateKey = field(repr=False)
    cert_pem: bytes
    key_pem: bytes = field(repr=False)  # keep throwaway keys out of hypothesis failure reports
    cert_path: Path
    key_path: Path


def make_sealing_key(directory: Path, name: str, *, expired: bool = False) -> SealingKey:
    now = dt.datetime.now(dt.UTC)
    window = (now - dt.timedelta(days=400), now - dt.timedelta(days=35)) if expired else (None, None)
    pair = generate_key_pair(4096, not_before=window[0], not_after=window[1])
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(pair.cert_pem)
    key_path.write_bytes(pair.key_pem)
    return SealingKey(pair.key, pair.cert_pem, pair.key_pem, cert_path, key_path)


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sealing-keys")


@pytest.fixture(scope="session")
def sealing_key(keys_dir: Path) -> SealingKey:
    return make_sealing_key(keys_dir, "active")


@pytest.fixture(scope="session")
def other_key(keys_dir: Path) -> SealingKey:
    return make_sealing_key(keys_dir, "other")


@pytest.fixture(scope="session")
def kubeseal_bin() -> str:
    return str(kubeseal())  # raises BinaryNotFound (never skips) when it is not built


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_") and k != "KUBECONFIG"}
    env["KUBECONFIG"] = "/nonexistent/kubeconfig"  # offline unless a test says otherwise
    env.update(extra or {})
    return env


def run_lockstep(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "core_sync.cli", "seal", *args],
        input=stdin,
        capture_output=True,
        env=_clean_env(env),
        cwd=cwd,
        timeout=120,
        check=False,
    )


def run_kubeseal(
    kubeseal_path: str, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [kubeseal_path, *args],
        input=stdin,
        capture_output=True,
        env=_clean_env(env),
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[bytes]) -> bytes:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def kubeseal_unseal(kubeseal_path: str, key: SealingKey, sealed: bytes) -> bytes:
    """The Secret the real kubeseal recovers from ``sealed`` with ``key`` (``--recovery-unseal``)."""
    return ok(
        run_kubeseal(
            kubeseal_path, "--recovery-unseal", "--recovery-private-key", str(key.key_path), stdin=sealed
        )
    )


def mask_ciphertexts(text: str) -> str:
    return CIPHERTEXT.sub("<CIPHERTEXT>", text)
