"""Benchmark: start-up cost of kubeconfig credentials, Lockstep beside kubectl, against a real API server.

For each kind of kubeconfig user (a client certificate, an exec credential plugin, an OIDC auth-provider)
it times ``lockstep diff`` on one ConfigMap and ``kubectl get configmaps`` with the same kubeconfig, and
measures what importing the official ``kubernetes`` package would add (``python -X importtime``): that
package is imported only for auth-provider users.

Usage: .venv/bin/python bench/kubeconfig.py [--runs 5]
Last line: ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from core_sync.testing import ControlPlane
from core_sync.testing.binaries import kubectl
from core_sync.testing.credentials import CredentialPlugin, kubeconfig_for, service_account_token

LOCKSTEP = Path(sys.executable).parent / "lockstep"


def wall(argv: list[str], env: dict[str, str], runs: int) -> float:
    """Median wall seconds of ``argv`` (exit 0 or 1: diff reports changes with 1)."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - began)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return statistics.median(times)


def import_ms(module: str, runs: int = 5) -> float:
    """Median cumulative import time of ``module`` in fresh interpreters (``-X importtime``), in ms."""
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
        )
        lines = [line for line in done.stderr.splitlines() if re.search(rf"\|\s+{re.escape(module)}$", line)]
        times.append(int(lines[-1].split("|")[1]) / 1000.0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    result: dict[str, Any] = {
        "import_core_sync_kube_ms": import_ms("core_sync.kube"),
        "import_kubernetes_config_ms": import_ms("kubernetes.config"),
    }
    with ControlPlane() as plane, tempfile.TemporaryDirectory(prefix="lockstep-bench-kc-") as tmp:
        work = Path(tmp)
        namespace = plane.create_namespace("bench-kc-")
        token = service_account_token(plane.client, namespace, "bench")
        plugin = CredentialPlugin(work / "plugin", [{"token": token}])
        admin = yaml.safe_load(plane.kubeconfig.read_text())["users"][0]["user"]
        oidc = {
            "name": "oidc",
            "config": {"client-id": "x", "idp-issuer-url": "https://127.0.0.1:1", "id-token": token},
        }
        repo = work / "repo"
        repo.mkdir()
        (repo / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench\n")
        for case, user in (
            ("cert", admin),
            ("exec", {"exec": plugin.exec_section()}),
            ("oidc", {"auth-provider": oidc}),
        ):
            path = work / f"{case}.yaml"
            path.write_text(yaml.safe_dump(kubeconfig_for(plane.server, plane.ca_pem, user, namespace)))
            env = {**os.environ, "KUBECONFIG": str(path)}
            ours = wall([str(LOCKSTEP), "diff", str(repo)], env, args.runs)
            peer = wall([str(kubectl()), "get", "configmaps", "-o", "name"], env, args.runs)
            result[f"{case}_lockstep_diff_s"] = round(ours, 3)
            result[f"{case}_kubectl_get_s"] = round(peer, 3)
            print(f"{case:5} lockstep diff {ours:.3f} s   kubectl get {peer:.3f} s   ratio {ours / peer:.2f}")
    print(
        f"import core_sync.kube {result['import_core_sync_kube_ms']:.0f} ms, "
        f"kubernetes.config {result['import_kubernetes_config_ms']:.0f} ms"
    )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
