"""Sync engine benchmark against kubectl, all in one run on the real control plane.

(a) 1,000 mixed objects from git into an empty namespace: `lockstep sync --once` vs
    `kubectl apply --server-side -f` of the same files (both whole processes);
(b) a no-op re-sync: `lockstep sync --once` vs `kubectl diff --server-side`, and the write requests each
    makes in its namespace (from the API server's audit log; dry-runs are not writes);
(c) drift-correction latency of the running operator over 50 edits (p50/p95);
(d) the operator's peak RSS with those 1,000 objects managed.
Last line: RESULT {json}.  Run: .venv/bin/python bench/sync.py
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from core_sync.testing import ControlPlane, GitServer, binaries
from core_sync.testing.processes import free_port

LOCKSTEP = Path(sys.executable).parent / "lockstep"
COUNTS = {
    "ConfigMap": 400,
    "Secret": 200,
    "Service": 100,
    "ServiceAccount": 100,
    "Deployment": 100,
    "Role": 50,
    "RoleBinding": 50,
}


def manifest(kind: str, i: int) -> str:
    name = f"{kind.lower()}-{i:04d}"
    if kind == "ConfigMap":
        return (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
            f"data:\n  key: value-{i}\n  other: '{i}'\n"
        )
    if kind == "Secret":
        return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  password: pw-{i}\n"
    if kind == "Service":
        return (
            f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector: {{app: a{i}}}\n"
            f"  ports: [{{port: 80, targetPort: 8080}}]\n"
        )
    if kind == "ServiceAccount":
        return f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n"
    if kind == "Deployment":
        return (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 1\n"
            f"  selector: {{matchLabels: {{app: a{i}}}}}\n"
            f"  template:\n    metadata: {{labels: {{app: a{i}}}}}\n"
            f"    spec:\n      containers: [{{name: c, image: 'nginx:1.27'}}]\n"
        )
    if kind == "Role":
        return (
            f"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {name}\n"
            f"rules: [{{apiGroups: [''], resources: [configmaps], verbs: [get]}}]\n"
        )
    return (
        f"apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: {name}\n"
        f"roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: role-{i:04d}}}\n"
        f"subjects: [{{kind: ServiceAccount, name: serviceaccount-{i:04d}}}]\n"
    )


def timed(argv: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - began
    if result.returncode not in (0, 1):  # kubectl diff exits 1 when it finds differences
        raise SystemExit(f"{argv[:3]} failed ({result.returncode}): {result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    kubectl = str(binaries.kubectl())
    work = Path(tempfile.mkdtemp(prefix="lockstep-bench-"))
    files = {f"deploy/{k.lower()}-{i:04d}.yaml": manifest(k, i) for k, n in COUNTS.items() for i in range(n)}
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    result: dict[str, object] = {"objects": len(files)}
    with ControlPlane(audit=True) as cp, GitServer() as gs:
        url = gs.create_repo("bench", files)
        env = {**cp.env(), "LOCKSTEP_CACHE": str(work / "cache")}
        ours_ns, peer_ns = cp.create_namespace("ours-"), cp.create_namespace("peer-")
        sync = [
            str(LOCKSTEP),
            "sync",
            "--repo",
            url,
            "--ref",
            "main",
            "--path",
            "deploy",
            "-n",
            ours_ns,
            "--once",
        ]
        ours_a = timed(sync, env)
        peer_a = timed([kubectl, "apply", "--server-side", "-n", peer_ns, "-f", str(work / "deploy")], env)
        result["initial_sync"] = {
            "ours_s": round(ours_a, 3),
            "peer_s": round(peer_a, 3),
            "ratio": round(ours_a / peer_a, 3),
            "target_ratio": 1.0,
        }
        before = len(cp.write_requests(namespaces=[ours_ns]))
        ours_b = timed(sync, env)
        ours_writes = len(cp.write_requests(namespaces=[ours_ns])) - before
        before = len(cp.write_requests(namespaces=[peer_ns]))
        peer_b = timed([kubectl, "diff", "--server-side", "-n", peer_ns, "-f", str(work / "deploy")], env)
        peer_writes = len(cp.write_requests(namespaces=[peer_ns])) - before
        result["noop_resync"] = {
            "ours_s": round(ours_b, 3),
            "peer_s": round(peer_b, 3),
            "ratio": round(ours_b / peer_b, 3),
            "target_ratio": 0.5,
            "ours_write_requests": ours_writes,
            "peer_write_requests": peer_writes,
        }
        result.update(drift_and_memory(cp, url, env))
    print(json.dumps(result, indent=2))
    print("RESULT " + json.dumps(result))


def drift_and_memory(cp: ControlPlane, url: str, env: dict[str, str]) -> dict[str, object]:
    ns = cp.create_namespace("drift-")
    port = free_port()
    log = (Path(tempfile.gettempdir()) / "lockstep-bench-operator.log").open("wb")
    operator = subprocess.Popen(
        [str(LOCKSTEP), "operator", "--http", f"127.0.0.1:{port}", "--namespace", ns],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        app = {
            "apiVersion": "lockstep.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "bench"},
            "spec": {
                "source": {"repoURL": url, "targetRevision": "main", "path": "deploy"},
                "interval": "1h",
            },
        }
        cp.install_crds(Path(__file__).resolve().parents[1] / "crds" / "application.yaml")
        cp.client.create(f"/apis/lockstep.dev/v1alpha1/namespaces/{ns}/applications", app)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            status = (
                cp.client.get(f"/apis/lockstep.dev/v1alpha1/namespaces/{ns}/applications/bench").get("status")
                or {}
            )
            if status.get("lastAppliedRevision"):
                break
            time.sleep(0.5)
        else:
            raise SystemExit("operator never synced the benchmark Application")
        time.sleep(2)
        latencies = []
        for i in range(50):
            path = f"/api/v1/namespaces/{ns}/configmaps/configmap-{i:04d}"
            began = time.perf_counter()
            cp.client.merge_patch(path, {"data": {"key": "edited"}}, fieldManager="kubectl-edit")
            while cp.client.get(path)["data"]["key"] != f"value-{i}":
                if time.perf_counter() - began > 30:
                    raise SystemExit(f"drift on {path} not corrected in 30 s")
                time.sleep(0.005)
            latencies.append(time.perf_counter() - began)
        latencies.sort()
        peak = re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{operator.pid}/status").read_text())
        assert peak is not None
        rss_kib = int(peak.group(1))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            corrected = sum(
                float(line.rsplit(" ", 1)[1])
                for line in response.read().decode().splitlines()
                if line.startswith("lockstep_drift_corrected_total")
            )
        return {
            "drift_correction": {
                "p50_s": round(statistics.median(latencies), 4),
                "p95_s": round(latencies[int(0.95 * len(latencies)) - 1], 4),
                "max_s": round(latencies[-1], 4),
                "edits": len(latencies),
                "corrected_by_operator": corrected,
                "target_p95_s": 2.0,
            },
            "operator_peak_rss_mib": round(rss_kib / 1024, 1),
            "target_rss_mib": 150,
        }
    finally:
        os.killpg(operator.pid, signal.SIGTERM)
        operator.wait(30)


if __name__ == "__main__":
    main()
