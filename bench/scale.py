"""Benchmark: one operator replica vs three ``--shard auto`` replicas on the same Applications, and one
replica at growing numbers of managed objects.

Per case: time from the first Application created until all are Ready, CPU seconds summed over the
replicas (user + system, children included, from /proc), and each replica's peak RSS (VmHWM). The target
is ``cpu_ratio`` (three replicas' CPU over one's) <= 1.3: sharding adds no duplicated work.

Usage: .venv/bin/python bench/scale.py [--apps 300] [--per-app 5] [--objects 1000,5000,10000] [--repeat 3]
Last line: ``RESULT {json}`` with ``cpu_ratio`` and ``<case>_rss_mib`` for every RSS figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLOCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / CLOCK  # utime stime cutime cstime


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def ready_count(client: Any, namespace: str) -> int:
    items = client.get(f"/apis/lockstep.dev/v1alpha1/namespaces/{namespace}/applications").get("items") or []
    return sum(
        any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (i.get("status") or {}).get("conditions") or []
        )
        for i in items
    )


def run_case(plane: Any, git: Any, replicas: int, apps: int, per_app: int, work: Path) -> dict[str, Any]:
    from core_sync.testing.processes import ManagedProcess, free_port, http_ok

    name = f"r{replicas}-a{apps}-o{per_app}"
    namespace = plane.create_namespace("bench-")
    files = {
        f"deploy/app-{a}/cm-{o}.yaml": (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-{a}-cm-{o}\ndata:\n  value: '{o}'\n"
        )
        for a in range(apps)
        for o in range(per_app)
    }
    url = git.create_repo(name, files)
    shard = ("--shard", "auto", "--shard-namespace", namespace) if replicas > 1 else ()
    processes = []
    for index in range(replicas):
        port = free_port()
        process = ManagedProcess(
            f"operator-{index}",
            [
                str(REPO / ".venv" / "bin" / "lockstep"),
                "operator",
                "--controllers",
                "application",
                "--http",
                f"127.0.0.1:{port}",
                "--namespace",
                namespace,
                *shard,
            ],
            work / f"{name}-{index}.log",
            env={
                **plane.env(),
                "LOCKSTEP_CACHE": str(work / f"cache-{name}-{index}"),
                "LOCKSTEP_SHARD_ID": f"bench-{index}",
            },
        )
        process.start()
        process.wait_until(
            lambda port=port: http_ok(f"http://127.0.0.1:{port}/healthz"), 30, "operator health"
        )
        processes.append(process)
    time.sleep(7 if replicas > 1 else 0)  # the replicas have seen each other's Leases
    try:
        base = [cpu_seconds(p.pid) for p in processes]
        started = time.monotonic()
        for a in range(apps):
            plane.client.create(
                f"/apis/lockstep.dev/v1alpha1/namespaces/{namespace}/applications",
                {
                    "apiVersion": "lockstep.dev/v1alpha1",
                    "kind": "Application",
                    "metadata": {"name": f"app-{a}", "namespace": namespace},
                    "spec": {
                        "source": {"repoURL": url, "targetRevision": "main", "path": f"deploy/app-{a}"},
                        "interval": "1h",
                    },
                },
            )
        while ready_count(plane.client, namespace) < apps:
            if time.monotonic() - started > 1800:
                raise SystemExit(f"{name}: not all Ready after 30 min")
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        cpu = sum(cpu_seconds(p.pid) - b for p, b in zip(processes, base, strict=True))
        rss = [peak_rss_mib(p.pid) for p in processes]
    finally:
        for process in processes:
            process.stop()
    print(
        f"{name}: {elapsed:.1f} s to all Ready, {cpu:.1f} CPU s, peak RSS {max(rss):.0f} MiB", file=sys.stderr
    )
    # rss_mib: the largest replica's peak
    return {"seconds": round(elapsed, 2), "cpu_s": round(cpu, 2), "rss_mib": round(max(rss), 1)}


def median_case(cases: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs of one case."""
    return {key: round(statistics.median(c[key] for c in cases), 2) for key in cases[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--apps", type=int, default=300)
    parser.add_argument("--per-app", type=int, default=5)
    parser.add_argument("--objects", default="1000,5000,10000", help="managed-object counts for one replica")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="1 vs 3 replica runs, interleaved; figures are medians (0: only the object counts)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import tempfile

    from core_sync.testing.control_plane import ControlPlane
    from core_sync.testing.services import GitServer

    result: dict[str, Any] = {"apps": args.apps, "objects_per_app": args.per_app}
    work = Path(tempfile.mkdtemp(prefix="lockstep-scale-"))
    with ControlPlane() as plane, GitServer() as git:
        plane.install_crds(str(REPO / "crds"))
        ones, threes = [], []
        for _ in range(args.repeat):  # interleaved, so the machine's load weighs on both alike
            ones.append(run_case(plane, git, 1, args.apps, args.per_app, work))
            threes.append(run_case(plane, git, 3, args.apps, args.per_app, work))
        for objects in (int(o) for o in args.objects.split(",") if o):
            case = run_case(plane, git, 1, max(1, objects // args.per_app), args.per_app, work)
            result[f"objects_{objects}_seconds"] = case["seconds"]
            result[f"objects_{objects}_rss_mib"] = case["rss_mib"]
    if ones:
        one, three = median_case(ones), median_case(threes)
        result.update({f"one_{k}": v for k, v in one.items()})
        result.update({f"three_{k}": v for k, v in three.items()})
        result["cpu_ratio"] = round(three["cpu_s"] / one["cpu_s"], 3) if one["cpu_s"] else None
        result["cpu_s_samples"] = {"one": [c["cpu_s"] for c in ones], "three": [c["cpu_s"] for c in threes]}
        samples = result["cpu_s_samples"]
        print(
            f"cpu_ratio {result['cpu_ratio']} (median of {args.repeat} interleaved runs each: "
            f"1 replica {samples['one']} CPU s, 3 replicas {samples['three']})",
            file=sys.stderr,
        )
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
