"""Benchmark: one operator at fleet size, and push-webhook latency, on the real control plane.

(a) Webhook: one Application with a hook token; 10 times: commit a new ConfigMap value, POST the hook,
    poll the ConfigMap until the new value is live. Reports p50/p95 of push → live (target p95 <= 100 ms)
    with the repository served over smart HTTP (``git http-backend``; how hosted Git is reached) as
    ``webhook_p50_ms``/``webhook_p95_ms``, and over ``git daemon`` (git://) as ``webhook_git_daemon_*``.
    Why both: on loopback each git:// round trip stalls ≈ 40 ms (git daemon's small writes meet the client's
    delayed ACK), two per fetch, a fixed wait that is the git daemon's, not the operator's work; a bare
    ``git fetch`` of one new commit takes ≈ 98 ms over git:// and ≈ 39 ms over smart HTTP here.
(b) Fleet: 1,000 Applications (5 ConfigMaps each, all from one repository) on one operator: time from
    the first Application created until all are Ready (``all_ready_s``, target <= 60 s) and the
    operator's peak RSS (``operator_peak_rss_mib``, VmHWM, target <= 150 MiB), plus its CPU seconds.

Flux's figures for 1,000 Kustomizations (4 m 15 s, 175 MiB) are *published* by Flux, not measured here
(no Flux controllers run on this machine); the ratios to them are labelled ``..._vs_flux_published``.

``--baseline REF`` runs the same cases a second time with the operator of git revision REF (a
temporary ``git worktree`` put first on the operator's PYTHONPATH) side by side in the same run.

Usage: .venv/bin/python bench/fleet.py [--apps 1000] [--per-app 5] [--pushes 10] [--baseline REF]
Last line: ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scale import cpu_seconds, peak_rss_mib, ready_count  # bench/ is the script's directory

from core_sync.testing import ControlPlane, GitHttpServer, GitServer
from core_sync.testing.processes import ManagedProcess, free_port, http_ok

REPO = Path(__file__).resolve().parents[1]
LOCKSTEP = Path(sys.executable).parent / "lockstep"
APPS_PATH = "/apis/lockstep.dev/v1alpha1/namespaces/{ns}/applications"
FLUX_PUBLISHED = {"all_ready_s": 255.0, "peak_rss_mib": 175.0}  # 1,000 Kustomizations, Flux's own figures
HOOK_TOKEN = "fleet-bench-hook"  # noqa: S105 (a webhook path of the benchmark, not a secret)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def configmap(name: str, value: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: '{value}'\n"


def application(name: str, namespace: str, url: str, path: str, token: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if token:
        meta["annotations"] = {"lockstep.dev/hook-token": token}
    return {
        "apiVersion": "lockstep.dev/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": {"source": {"repoURL": url, "targetRevision": "main", "path": path}, "interval": "1h"},
    }


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p95 of 10 samples is the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@contextmanager
def operator(
    plane: ControlPlane, namespace: str, work: Path, name: str, pythonpath: Path | None
) -> Iterator[tuple[ManagedProcess, str]]:
    port = free_port()
    env: Mapping[str, str] = {**plane.env(), "LOCKSTEP_CACHE": str(work / f"cache-{name}")}
    if pythonpath is not None:
        env = {**env, "PYTHONPATH": str(pythonpath)}
    argv = [str(LOCKSTEP), "operator", "--controllers", "application", "--namespace", namespace]
    process = ManagedProcess(
        name,
        [*argv, "--http", f"127.0.0.1:{port}"],
        work / f"{name}.log",
        env=env,
    )
    process.start()
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_until(lambda: http_ok(f"{url}/healthz"), 60, "operator health")
        yield process, url
    finally:
        process.stop()


def post_hook(url: str, token: str) -> int:
    request = urllib.request.Request(f"{url}/hook/{token}", method="POST", data=b"{}")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return int(json.loads(response.read())["triggered"])


def wait_until(check: Any, timeout: float, what: str, interval: float = 0.002) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def webhook_case(
    plane: ControlPlane, git: GitServer, pushes: int, work: Path, label: str, pythonpath: Path | None
) -> dict[str, Any]:
    namespace = plane.create_namespace("bench-hook-")
    repo = f"hook-{label}"
    url = git.create_repo(repo, {"deploy/value.yaml": configmap("pushed", "start")})
    cm_path = f"/api/v1/namespaces/{namespace}/configmaps/pushed"

    def value() -> str | None:
        live = plane.client.get_or_none(cm_path)
        return None if live is None else str((live.get("data") or {}).get("value"))

    with operator(plane, namespace, work, f"hook-{label}", pythonpath) as (_, op_url):
        plane.client.create(
            APPS_PATH.format(ns=namespace), application("hook", namespace, url, "deploy", HOOK_TOKEN)
        )
        wait_until(lambda: value() == "start", 60, "the first sync", 0.1)
        latencies = []
        for push in range(pushes):
            git.commit(repo, {"deploy/value.yaml": configmap("pushed", f"v{push}")})
            began = time.monotonic()
            if post_hook(op_url, HOOK_TOKEN) != 1:
                raise SystemExit("the hook triggered no Application")
            wait_until(lambda push=push: value() == f"v{push}", 30, f"push {push} to go live")
            latencies.append((time.monotonic() - began) * 1000)
    figures = {
        "webhook_p50_ms": round(statistics.median(latencies), 1),
        "webhook_p95_ms": round(percentile(latencies, 0.95), 1),
    }
    print(
        f"[{label}] webhook push -> live over {pushes} pushes: p50 {figures['webhook_p50_ms']} ms, "
        f"p95 {figures['webhook_p95_ms']} ms (all: {', '.join(f'{v:.0f}' for v in latencies)}; "
        f"load {load()})",
        file=sys.stderr,
    )
    return figures


def fleet_case(
    plane: ControlPlane,
    git: GitServer,
    apps: int,
    per_app: int,
    work: Path,
    label: str,
    pythonpath: Path | None,
) -> dict[str, Any]:
    namespace = plane.create_namespace("bench-fleet-")
    files = {
        f"deploy/app-{a}/cm-{o}.yaml": configmap(f"app-{a}-cm-{o}", str(o))
        for a in range(apps)
        for o in range(per_app)
    }
    url = git.create_repo(f"fleet-{label}", files)
    with operator(plane, namespace, work, f"fleet-{label}", pythonpath) as (process, _):
        plane_pids = [p.pid for p in (plane.apiserver, plane.etcd) if p is not None]
        cpu_before = cpu_seconds(process.pid)
        plane_before = sum(cpu_seconds(pid) for pid in plane_pids)
        started = time.monotonic()
        for a in range(apps):
            plane.client.create(
                APPS_PATH.format(ns=namespace), application(f"app-{a}", namespace, url, f"deploy/app-{a}")
            )
        created = time.monotonic() - started
        wait_until(lambda: ready_count(plane.client, namespace) >= apps, 1800, "all Ready", 0.5)
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(process.pid) - cpu_before
        plane_cpu = sum(cpu_seconds(pid) for pid in plane_pids) - plane_before
        rss = peak_rss_mib(process.pid)
    print(
        f"[{label}] {apps} Applications x {per_app} objects: all Ready in {elapsed:.1f} s "
        f"(creating them took {created:.1f} s), operator {cpu:.1f} CPU s (control plane {plane_cpu:.1f}), "
        f"peak RSS {rss:.0f} MiB "
        f"(load {load()})",
        file=sys.stderr,
    )
    return {
        "all_ready_s": round(elapsed, 2),
        "operator_cpu_s": round(cpu, 2),
        "control_plane_cpu_s": round(plane_cpu, 2),
        "operator_peak_rss_mib": round(rss, 1),
    }


@contextmanager
def baseline_tree(ref: str | None, work: Path) -> Iterator[Path | None]:
    """A temporary git worktree of ``ref`` whose packages shadow the installed ones (None: no baseline)."""
    if ref is None:
        yield None
        return
    tree = work / "baseline"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), ref], check=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--per-app", type=int, default=5)
    parser.add_argument("--pushes", type=int, default=10)
    parser.add_argument("--baseline", metavar="REF", help="also run the operator of this git revision")
    args = parser.parse_args()
    result: dict[str, Any] = {"apps": args.apps, "objects_per_app": args.per_app, "pushes": args.pushes}
    work = Path(tempfile.mkdtemp(prefix="lockstep-fleet-"))
    with (
        ControlPlane() as plane,
        GitServer() as git,
        GitHttpServer() as git_http,
        baseline_tree(args.baseline, work) as base,
    ):
        plane.install_crds(str(REPO / "crds"))
        runs: list[tuple[str, Path | None]] = [("current", None)]
        if base is not None:
            runs.append(("baseline", base))
        for label, pythonpath in runs:
            prefix = "" if label == "current" else "baseline_"
            if args.pushes:
                figures = webhook_case(plane, git_http, args.pushes, work, label + "-http", pythonpath)
                result.update({prefix + k: v for k, v in figures.items()})
                figures = webhook_case(plane, git, args.pushes, work, label + "-git-daemon", pythonpath)
                result.update(
                    {prefix + k.replace("webhook_", "webhook_git_daemon_"): v for k, v in figures.items()}
                )
            if args.apps:
                figures = fleet_case(plane, git, args.apps, args.per_app, work, label, pythonpath)
                result.update({prefix + k: v for k, v in figures.items()})
        if args.baseline:
            result["baseline_ref"] = args.baseline
    if args.apps == 1000:  # Flux's figures are for 1,000
        result["flux_published_all_ready_s"] = FLUX_PUBLISHED["all_ready_s"]
        result["flux_published_peak_rss_mib"] = FLUX_PUBLISHED["peak_rss_mib"]
        time_ratio = result["all_ready_s"] / FLUX_PUBLISHED["all_ready_s"]
        rss_ratio = result["operator_peak_rss_mib"] / FLUX_PUBLISHED["peak_rss_mib"]
        result["all_ready_vs_flux_published"] = round(time_ratio, 3)
        result["peak_rss_vs_flux_published"] = round(rss_ratio, 3)
        print(
            f"vs Flux's PUBLISHED figures for 1,000 Kustomizations (not measured here): "
            f"time {time_ratio:.2f}x of 255 s, RSS {rss_ratio:.2f}x of 175 MiB",
            file=sys.stderr,
        )
    result["load_average"] = load()
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
