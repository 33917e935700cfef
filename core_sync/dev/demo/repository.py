"""The demo's Git repository: ``examples/demo/`` plus a SOPS-encrypted Secret and a SealedSecret sealed with
the running controller's certificate."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core_sync.dev.demo.environment import LOCKSTEP, DemoFailed, Environment, run_step

EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples" / "demo"


def secret(name: str, data: Mapping[str, str]) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded}


def sops_encrypt(plain: str, recipient: str) -> str:
    from core_sync.testing.binaries import sops

    argv = [str(sops()), "encrypt", "--age", recipient, "--encrypted-regex", "^(data|stringData)$"]
    argv += ["--input-type", "yaml", "--output-type", "yaml", "/dev/stdin"]
    return run_step(argv, "sops encrypt", stdin=plain, timeout=60)


def seal(cert: bytes, namespace: str, workdir: Path) -> str:
    """A SealedSecret for this namespace, sealed by `lockstep seal` with the running controller's cert."""
    cert_file = workdir / "cert.pem"
    cert_file.write_bytes(cert)
    plain = (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: demo-sealed\n  namespace: {namespace}\n"
        "stringData:\n  TOKEN: sealed-for-the-demo\n"
    )
    return run_step(
        [*LOCKSTEP, "seal", "--cert", str(cert_file), "--format", "yaml"], "lockstep seal", stdin=plain
    )


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
