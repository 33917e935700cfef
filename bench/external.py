"""Benchmark: 1,000 ExternalSecrets over 100 distinct OpenBao keys, run by the real operator.

Measures (1) provider calls per refresh cycle, counted independently by OpenBao's own audit log (every
read of a bench key) and by the operator's ``lockstep_external_provider_calls_total`` metric, and
(2) the time from the first ExternalSecret created until all 1,000 are Ready. ESO makes one provider
call per ExternalSecret per refresh (1,000); the targets here are <= 100 calls and <= 60 s.

Usage: .venv/bin/python bench/external.py [--count 1000] [--keys 100] [--interval 30s]
Last line: ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def bao(openbao: Any, method: str, path: str, body: Any = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"{openbao.url}/v1/{path}",
        data=data,
        method=method,
        headers={"X-Vault-Token": openbao.token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        payload = response.read()
    return json.loads(payload) if payload else {}


def audit_reads(log: Path) -> int:
    """Responses OpenBao logged for reads of bench keys (its own count, not ours)."""
    if not log.exists():
        return 0
    count = 0
    for line in log.read_text().splitlines():
        if '"type":"response"' in line and '"path":"secret/data/bench/' in line:
            count += 1
    return count


def metric_calls(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        float(m.group(1))
        for m in re.finditer(
            r'^lockstep_external_provider_calls_total\{[^}]*api="vault:read"[^}]*\} (\S+)$', text, re.M
        )
    )


def ready_count(client: Any, namespace: str) -> int:
    items = (
        client.get(f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets").get("items") or []
    )
    ready = 0
    for item in items:
        for condition in (item.get("status") or {}).get("conditions") or ():
            if condition.get("type") == "Ready" and condition.get("status") == "True":
                ready += 1
    return ready


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--interval", default="30s")
    args = parser.parse_args()
    interval_s = float(args.interval.rstrip("s"))

    from core_sync.testing.control_plane import ControlPlane
    from core_sync.testing.processes import ManagedProcess, free_port, http_ok
    from core_sync.testing.services import OpenBao

    class AuditedOpenBao(OpenBao):
        """The dev server plus a file audit device (OpenBao only allows those from its config file)."""

        def _argv(self) -> list[str]:
            config = self.dir / "audit.hcl"
            config.write_text(
                f'audit "file" "bench" {{\n  options {{\n    file_path = "{self.dir / "audit.log"}"\n'
                "  }\n}\n"
            )
            return [*super()._argv(), f"-config={config}"]

    with ControlPlane() as plane, AuditedOpenBao() as openbao:
        client = plane.client
        plane.install_crds(REPO / "crds" / "external-secrets.yaml")
        from core_sync.kube import ApiError

        for plural in (
            "externalsecrets",
            "secretstores",
            "clustersecretstores",
        ):  # storage settles after install
            while True:
                try:
                    client.get(f"/apis/external-secrets.io/v1/{plural}")
                    break
                except ApiError as error:
                    if error.status != 429:
                        raise
                    time.sleep(0.2)
        time.sleep(1)
        audit = openbao.dir / "audit.log"
        for i in range(args.keys):
            bao(
                openbao, "POST", f"secret/data/bench/k{i}", {"data": {"password": f"pw-{i}", "user": f"u{i}"}}
            )
        namespace = plane.create_namespace("bench-")
        import base64

        client.create(
            f"/api/v1/namespaces/{namespace}/secrets",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "bao"},
                "data": {"token": base64.b64encode(openbao.token.encode()).decode()},
            },
        )
        client.create(
            f"/apis/external-secrets.io/v1/namespaces/{namespace}/secretstores",
            {
                "apiVersion": "external-secrets.io/v1",
                "kind": "SecretStore",
                "metadata": {"name": "bao"},
                "spec": {
                    "provider": {
                        "vault": {
                            "server": openbao.url,
                            "path": "secret",
                            "version": "v2",
                            "auth": {"tokenSecretRef": {"name": "bao", "key": "token"}},
                        }
                    }
                },
            },
        )
        port = free_port()
        log = openbao.dir / "operator.log"
        operator = ManagedProcess(
            "operator",
            [
                str(REPO / ".venv" / "bin" / "lockstep"),
                "operator",
                "--controllers",
                "external",
                "--http",
                f"127.0.0.1:{port}",
                "--log-format",
                "json",
            ],
            log,
            env=plane.env(),
        )
        operator.start()
        try:
            operator.wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), 30, "operator health")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                store = client.get(f"/apis/external-secrets.io/v1/namespaces/{namespace}/secretstores/bao")
                if any(
                    c.get("status") == "True" for c in (store.get("status") or {}).get("conditions") or ()
                ):
                    break
                time.sleep(0.2)
            audit_before, metric_before = audit_reads(audit), metric_calls(port)
            started = time.monotonic()
            for n in range(args.count):
                client.create(
                    f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets",
                    {
                        "apiVersion": "external-secrets.io/v1",
                        "kind": "ExternalSecret",
                        "metadata": {"name": f"es-{n}"},
                        "spec": {
                            "refreshInterval": args.interval,
                            "secretStoreRef": {"name": "bao"},
                            "data": [
                                {
                                    "secretKey": "password",
                                    "remoteRef": {"key": f"bench/k{n % args.keys}", "property": "password"},
                                },
                                {
                                    "secretKey": "user",
                                    "remoteRef": {"key": f"bench/k{n % args.keys}", "property": "user"},
                                },
                            ],
                        },
                    },
                )
            created = time.monotonic() - started
            ready = 0
            while time.monotonic() - started < 120:
                ready = ready_count(client, namespace)
                if ready >= args.count:
                    break
                time.sleep(0.5)
            all_ready = time.monotonic() - started
            first_audit, first_metric = audit_reads(audit) - audit_before, metric_calls(port) - metric_before
            # steady state: count over two refresh intervals and report the mean per interval
            window = interval_s * 2
            time.sleep(max(0.0, started + interval_s - time.monotonic()))
            cycle_audit0, cycle_metric0 = audit_reads(audit), metric_calls(port)
            time.sleep(window)
            cycle_audit = (audit_reads(audit) - cycle_audit0) / 2
            cycle_metric = (metric_calls(port) - cycle_metric0) / 2
            sample = client.get(f"/api/v1/namespaces/{namespace}/secrets/es-7")
            if base64.b64decode(sample["data"]["password"]) != b"pw-7":
                raise SystemExit("es-7 does not hold the expected value")
        except BaseException:
            items = client.get(f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets").get(
                "items"
            )
            bad = [
                c
                for i in items or ()
                for c in (i.get("status") or {}).get("conditions") or ()
                if c.get("status") != "True"
            ]
            print(f"not ready: {len(bad)}; e.g. {bad[:2]}", file=sys.stderr)
            print(operator.log_tail(20), file=sys.stderr)
            raise
        finally:
            operator.stop()
    result = {
        "externalsecrets": args.count,
        "distinct_keys": args.keys,
        "refresh_interval_s": interval_s,
        "create_seconds": round(created, 2),
        "all_ready_seconds": round(all_ready, 2),
        "ready": ready,
        "provider_calls_first_sync_openbao_audit": first_audit,
        "provider_calls_first_sync_metric": int(first_metric),
        "provider_calls_per_refresh_cycle_openbao_audit": cycle_audit,
        "provider_calls_per_refresh_cycle_metric": cycle_metric,
        "eso_calls_per_refresh_cycle": args.count,
        "targets": {"calls_per_cycle": 100, "all_ready_seconds": 60},
    }
    print("RESULT " + json.dumps(result))
    return 0 if ready >= args.count else 1


if __name__ == "__main__":
    sys.exit(main())
