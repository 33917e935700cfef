"""The demo's Git repository: ``examples/demo/`` plus a SOPS-encrypted Secret and a SealedSecret sealed with
the running controller's certificate."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core_sync.dev.demo.environment import DemoFailed, Environment, lockstep_input

EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples" / "demo"


def secret(name: str, data: Mapping[str, str]) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded}


def sops_encrypt(plain: str, recipient: str) -> str:
    from core_sync.testing.binaries import sops

    result = subprocess.run(
        [
            str(sops()),
            "encrypt",
            "--age",
            recipient,
            "--encrypted-regex",
            "^(data|stringData)$",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "/dev/stdin",
        ],
        input=plain,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise DemoFailed(f"sops encrypt failed: {result.stderr.strip()}")
    return result.stdout


def seal(cert: bytes, namespace: str, workdir: Path) -> str:
    """A SealedSecret for this namespace, sealed by `lockstep seal` with the running controller's cert."""
    cert_file = workdir / "cert.pem"
    cert_file.write_bytes(cert)
    plain = (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: demo-sealed\n  namespace: {namespace}\n"
        "stringData:\n  TOKEN: sealed-for-the-demo\n"
    )
    result = lockstep_input("seal", "--cert", str(cert_file), "--format", "yaml", stdin=plain)
    if result.returncode != 0:
        raise DemoFailed(f"lockstep seal failed: {result.stderr.strip()}")
    return result.stdout


def repo_files(environment: Environment, recipient: str) -> dict[str, str]:
    files = {}
    for path in sorted((EXAMPLES_DIR / "deploy").glob("*.yaml")):
        files[f"deploy/{path.name}"] = path.read_text().replace("${BAO_ADDR}", environment.bao_addr)
    if not files:  # an install without the examples must say so, not sync an empty repository
        raise DemoFailed(f"{EXAMPLES_DIR / 'deploy'}: no example manifests found (the demo needs them)")
    plain = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: demo-sops\n"
        "stringData:\n  SESSION_KEY: generated-for-the-demo\n"
    )
    files["deploy/secret.sops.yaml"] = sops_encrypt(plain, recipient)
    return files
