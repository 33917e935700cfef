"""Keys, certificates and runners for the sealed tests: the real kubeseal binary and ``lockstep seal``.

Keys are made like Bitnami's controller makes them: RSA-4096, exponent 65537, a self-signed CA certificate
whose only key usage is encipher-only, valid for ten years.
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
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from core_sync.testing import kubeseal

CIPHERTEXT = re.compile(r"A[gQ][A-Za-z0-9+/]{300,}={0,2}")


@dataclass(frozen=True)
class SealingKey:
    key: rsa.RSAPrivateKey = field(repr=False)
    cert_pem: bytes
    key_pem: bytes = field(repr=False)  # keep throwaway keys out of hypothesis failure reports
    cert_path: Path
    key_path: Path


def make_cert(
    key: rsa.RSAPrivateKey, not_before: dt.datetime, not_after: dt.datetime, common_name: str = ""
) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else [])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=True,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def make_sealing_key(directory: Path, name: str, *, expired: bool = False) -> SealingKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    now = dt.datetime.now(dt.UTC)
    if expired:
        cert_pem = make_cert(key, now - dt.timedelta(days=400), now - dt.timedelta(days=35))
    else:
        cert_pem = make_cert(key, now - dt.timedelta(minutes=1), now + dt.timedelta(days=3650))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert_pem)
    key_path.write_bytes(key_pem)
    return SealingKey(key, cert_pem, key_pem, cert_path, key_path)


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


def mask_ciphertexts(text: str) -> str:
    return CIPHERTEXT.sub("<CIPHERTEXT>", text)
