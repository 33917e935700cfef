"""Benchmark: 1,000 SealedSecrets (3 items each) unsealed by the real ``lockstep operator``.

The operator makes its own RSA-4096 key (as in production), the SealedSecrets are sealed with the
certificate it serves at ``/v1/cert.pem``, then all are created through the API server at once. Measured:
the time from the first create until every SealedSecret reports ``Synced=True`` for its generation
(``all_synced_seconds``; target <= 20 s on 2 cores), and the operator's peak resident memory
(``operator_peak_rss_mib``, the kernel's VmHWM of the process). Every Secret is checked to hold its values.

The same measurement then runs for Bitnami's controller v0.38.4 (the peer, built by
``scripts/build-control-plane``; see :mod:`core_sync.testing.bitnami`) in the same run, on its own namespace,
after ours (never both at once), and the ratio is printed (``--no-bitnami`` skips it).

Usage: .venv/bin/python bench/unseal.py [--count 1000] [--items 3] [--workers 16] [--no-bitnami]
Last line: ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SS_API = "/apis/bitnami.com/v1alpha1"


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def synced_count(client: Any, namespace: str) -> int:
    items = client.get(f"{SS_API}/namespaces/{namespace}/sealedsecrets").get("items") or []
    done = 0
    for item in items:
        status = item.get("status") or {}
        if status.get("observedGeneration") != item["metadata"].get("generation"):
            continue
        if any(
            c.get("type") == "Synced" and c.get("status") == "True" for c in status.get("conditions") or ()
        ):
            done += 1
    return done


def sealed_secrets(cert_pem: bytes, namespace: str, count: int, items: int) -> list[dict[str, Any]]:
    """The SealedSecrets kubeseal would make, sealed in-process with the served certificate."""
    from sealed.format.certs import parse_certificate_pem
    from sealed.format.convert import SealOptions, parse_secret, seal
    from sealed.format.crypto import hybrid_encrypt, public_key

    key = public_key(parse_certificate_pem(cert_pem))
    out = []
    for n in range(count):
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"ss-{n}", "namespace": namespace},
            "stringData": {f"item{i}": f"value-{n}-{i}" for i in range(items)},
        }
        out.append(
            seal(parse_secret(secret), lambda data, label: hybrid_encrypt(key, data, label), SealOptions())
        )
    return out


def measure(client: Any, process: Any, cert: bytes, namespace: str, args: Any) -> dict[str, Any]:
    """Create the SealedSecrets and wait until all are Synced; the figures for one controller process."""
    objects = sealed_secrets(cert, namespace, args.count, args.items)
    path = f"{SS_API}/namespaces/{namespace}/sealedsecrets"
    cpu_before = cpu_seconds(process.pid)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda obj: client.create(path, obj), objects))
    created = time.monotonic() - started
    done = 0
    while time.monotonic() - started < args.timeout:
        done = synced_count(client, namespace)
        if done >= args.count:
            break
        time.sleep(0.25)
    all_synced = time.monotonic() - started
    rss = peak_rss_mib(process.pid)
    cpu = round(cpu_seconds(process.pid) - cpu_before, 2)
    secrets = client.get(f"/api/v1/namespaces/{namespace}/secrets").get("items") or []
    by_name = {s["metadata"]["name"]: s for s in secrets}
    wrong = 0
    for n in range(args.count):
        data = by_name.get(f"ss-{n}", {}).get("data") or {}
        if {k: base64.b64decode(v).decode() for k, v in data.items()} != {
            f"item{i}": f"value-{n}-{i}" for i in range(args.items)
        }:
            wrong += 1
    return {
        "create_seconds": round(created, 2),
        "all_synced_seconds": round(all_synced, 2),
        "synced": done,
        "secrets_missing_or_wrong": wrong,
        "peak_rss_mib": rss,
        "cpu_seconds": cpu,
    }


def fetch_cert(url: str) -> bytes:
    with urllib.request.urlopen(url + "/v1/cert.pem", timeout=10) as response:  # noqa: S310 - loopback
        return bytes(response.read())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--items", type=int, default=3)
    parser.add_argument("--workers", type=int, default=16, help="the operator's --sealed-workers")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--no-bitnami", action="store_true", help="skip Bitnami's controller (the peer)")
    args = parser.parse_args()

    from core_sync.kube import ApiError
    from core_sync.testing.bitnami import BitnamiController
    from core_sync.testing.control_plane import ControlPlane
    from core_sync.testing.processes import ManagedProcess, free_port, http_ok

    peer: dict[str, Any] | None = None
    with ControlPlane() as plane:
        client = plane.client
        plane.install_crds(REPO / "crds" / "sealedsecret.yaml")
        while True:  # the new CRD's storage settles
            try:
                client.get(f"{SS_API}/sealedsecrets")
                break
            except ApiError as error:
                if error.status != 429:
                    raise
                time.sleep(0.2)
        namespace = plane.create_namespace("bench-")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        argv = [str(REPO / ".venv" / "bin" / "lockstep"), "operator", "--controllers", "sealed"]
        argv += ["--http", f"127.0.0.1:{port}", "-n", namespace, "--sealed-workers", str(args.workers)]
        operator = ManagedProcess(
            "operator", [*argv, "--log-format", "json"], plane.dir / "operator.log", env=plane.env()
        )
        operator.start()
        try:
            operator.wait_until(lambda: http_ok(url + "/v1/cert.pem"), 120, "the operator's first key")
            ours = measure(client, operator, fetch_cert(url), namespace, args)
        except BaseException:
            print(operator.log_tail(20), file=sys.stderr)
            raise
        finally:
            operator.stop()
        if not args.no_bitnami:
            peer_namespace = plane.create_namespace("bench-peer-")
            with BitnamiController(plane, [peer_namespace]) as bitnami:
                assert bitnami.process is not None
                try:
                    peer = measure(client, bitnami.process, fetch_cert(bitnami.url), peer_namespace, args)
                except BaseException:
                    print(bitnami.process.log_tail(20), file=sys.stderr)
                    raise
    print(
        f"# {args.count} SealedSecrets x {args.items} items, RSA-4096; Lockstep with {args.workers} workers"
    )
    for who, figures in (("lockstep", ours), ("bitnami", peer)):
        if figures is not None:
            print(
                f"{who:9} created in {figures['create_seconds']:.2f} s; all Synced after "
                f"{figures['all_synced_seconds']:.2f} s; peak RSS {figures['peak_rss_mib']} MiB, "
                f"CPU {figures['cpu_seconds']} s"
            )
    result: dict[str, Any] = {
        "sealed_secrets": args.count,
        "items_each": args.items,
        "workers": args.workers,
        "create_seconds": ours["create_seconds"],
        "all_synced_seconds": ours["all_synced_seconds"],
        "synced": ours["synced"],
        "secrets_missing_or_wrong": ours["secrets_missing_or_wrong"],
        "operator_peak_rss_mib": ours["peak_rss_mib"],
        "operator_cpu_seconds": ours["cpu_seconds"],
        "targets": {"all_synced_seconds": 20},
    }
    if peer is not None:
        result["bitnami"] = peer
        ratio = peer["all_synced_seconds"] / ours["all_synced_seconds"]
        result["bitnami_over_lockstep_all_synced"] = round(ratio, 2)
        finished = peer["synced"] >= args.count
        result["bitnami_finished"] = finished
        if finished:
            print(f"all Synced: Bitnami / Lockstep = {ratio:.2f}x")
        else:  # its client is throttled (--kubeclient-qps 5 by default): the ratio is a lower bound
            print(
                f"all Synced: Bitnami / Lockstep > {ratio:.2f}x (Bitnami had {peer['synced']}/{args.count} "
                f"Synced at the {args.timeout:.0f} s timeout)"
            )
    print("RESULT " + json.dumps(result))
    ok = ours["synced"] >= args.count and not ours["secrets_missing_or_wrong"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
