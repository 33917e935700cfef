"""Benchmark: one operator replica vs three ``--shard auto`` replicas on the same Applications, and one
replica at growing numbers of managed objects.

Per case: time from the first Application created until all are Ready, CPU seconds summed over the
replicas (user + system, children included, from /proc; the children's part, git, also on its own as
``git_cpu_s``), and each replica's peak RSS (VmHWM). The target is ``cpu_ratio`` (three replicas' CPU
over one's) <= 1.3: sharding adds no duplicated work.

Each replica's cache (git mirrors and checkouts) is on tmpfs (``/dev/shm``, when it has 1 GiB free) unless
``--cache-dir`` names another place. Why: every replica checks out the revision once (1,800 files and
directories here), and on a file system that makes file creation slow for reasons of its own the figure
measures the file system. This machine's root is ext4 without a journal, whose inode allocator skips
inodes deleted in the last minutes by scanning for others: with other processes deleting files, the same
checkout cost 40 ms or 600 ms of system CPU (strace: 260 us per ``openat``), and the same code gave
``cpu_ratio`` 1.13 or 1.81. ``--cache-dir /tmp`` measures on disk; ``git_cpu_s`` shows what the checkouts
cost there.

Usage: .venv/bin/python bench/scale.py [--apps 300] [--per-app 5] [--objects 1000,5000,10000] [--repeat 3]
       [--cache-dir DIR]
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
TMPFS = "/dev/shm"  # noqa: S108 - only the parent of a mkdtemp directory


def cpu_seconds(pid: int) -> tuple[float, float]:
    """The process's own CPU and its children's (git), each user + system."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own, children = fields[11:13], fields[13:15]  # utime stime, cutime cstime
    return sum(int(f) for f in own) / CLOCK, sum(int(f) for f in children) / CLOCK


def default_cache_parent() -> Path | None:
    """tmpfs when it is writable and has room for the largest case (10,000 objects: ~100 MiB of
    checkouts and mirrors; a container's default 64 MiB ``/dev/shm`` has not), else the temp directory."""
    try:
        room = os.statvfs(TMPFS)
    except OSError:
        return None
    if not os.access(TMPFS, os.W_OK) or room.f_bavail * room.f_frsize < 1 << 30:
        return None
    return Path(TMPFS)


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


def run_case(
    plane: Any, git: Any, replicas: int, apps: int, per_app: int, work: Path, cache: Path
) -> dict[str, Any]:
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
                "LOCKSTEP_CACHE": str(cache / f"{name}-{index}"),
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
        spent = [
            (own - own0, children - children0)
            for (own, children), (own0, children0) in zip(
                (cpu_seconds(p.pid) for p in processes), base, strict=True
            )
        ]
        cpu = sum(own + children for own, children in spent)
        git_cpu = sum(children for _, children in spent)
        rss = [peak_rss_mib(p.pid) for p in processes]
    finally:
        for process in processes:
            process.stop()
    print(
        f"{name}: {elapsed:.1f} s to all Ready, {cpu:.2f} CPU s (git {git_cpu:.2f}), "
        f"peak RSS {max(rss):.0f} MiB",
        file=sys.stderr,
    )
    # rss_mib: the largest replica's peak
    return {
        "seconds": round(elapsed, 2),
        "cpu_s": round(cpu, 2),
        "git_cpu_s": round(git_cpu, 2),
        "rss_mib": round(max(rss), 1),
    }


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
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=default_cache_parent(),
        help="where the replicas' caches go (default: /dev/shm, tmpfs, when it has 1 GiB free; see the "
        "module doc)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import shutil
    import tempfile

    from core_sync.testing.control_plane import ControlPlane
    from core_sync.testing.services import GitServer

    result: dict[str, Any] = {"apps": args.apps, "objects_per_app": args.per_app}
    work = Path(tempfile.mkdtemp(prefix="lockstep-scale-"))
    cache = Path(tempfile.mkdtemp(prefix="lockstep-scale-cache-", dir=args.cache_dir))
    result["cache_dir"] = str(args.cache_dir or tempfile.gettempdir())
    ones: list[dict[str, Any]] = []
    threes: list[dict[str, Any]] = []
    try:
        with ControlPlane() as plane, GitServer() as git:
            plane.install_crds(str(REPO / "crds"))
            for _ in range(args.repeat):  # interleaved, so the machine's load weighs on both alike
                ones.append(run_case(plane, git, 1, args.apps, args.per_app, work, cache))
                threes.append(run_case(plane, git, 3, args.apps, args.per_app, work, cache))
            for objects in (int(o) for o in args.objects.split(",") if o):
                apps = max(1, objects // args.per_app)
                case = run_case(plane, git, 1, apps, args.per_app, work, cache)
                result[f"objects_{objects}_seconds"] = case["seconds"]
                result[f"objects_{objects}_rss_mib"] = case["rss_mib"]
    finally:
        shutil.rmtree(cache, ignore_errors=True)  # tmpfs is memory
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
