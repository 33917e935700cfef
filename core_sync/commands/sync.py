"""``lockstep sync``: the engine without an Application object, once or in a loop.

The inventory (what to prune next time) is kept in a ConfigMap ``lockstep-sync-<name>`` in the target
namespace, so repeated one-shot syncs prune what left Git, exactly like an Application would.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from core_sync.commands import common


def main(argv: list[str], prog: str = "lockstep sync") -> int:
    p = common.parser(
        prog,
        "Fetch a Git revision, render it and apply it to a namespace.",
        "lockstep sync --repo https://git.example/app.git --ref main --path deploy -n app --prune --once",
    )
    p.add_argument("--repo", required=True, help="Git URL (https, ssh, git, file)")
    p.add_argument("--ref", default=None, help="branch, tag or commit SHA (default: the remote HEAD)")
    p.add_argument("--path", default=None, help="directory inside the repository")
    common.add_cluster_args(p)
    p.add_argument(
        "--name",
        default="cli",
        help="name of this sync (its inventory ConfigMap lockstep-sync-NAME): a DNS label; default 'cli'",
    )
    p.add_argument("--prune", action="store_true", help="delete objects that left Git since the last sync")
    p.add_argument("--allow-empty", action="store_true", help="allow an empty revision to prune everything")
    p.add_argument("--create-namespace", action="store_true")
    p.add_argument("--wait", action="store_true", help="wait until every applied object is healthy")
    p.add_argument("--timeout", default="5m")
    common.add_decryption_args(p)
    common.add_helm_args(p, "in the repository, relative to --path (as spec.source.helm.valuesFiles)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="sync once and exit (the default)")
    mode.add_argument("--interval", metavar="DURATION", help="sync again every DURATION (e.g. 30s, 5m)")
    args = p.parse_args(argv)
    return common.guarded(lambda: _sync(args))


def _sync(args: argparse.Namespace) -> int:
    from core_sync import inventory as inv
    from core_sync.apply import Cluster
    from core_sync.engine import Engine, SyncFailed, SyncOptions
    from core_sync.kube import ApiError, ApiUnreachable
    from core_sync.source import GitSource, SourceError
    from gocompat.duration import parse_strict

    try:
        kube = common.client(args)
        interval = parse_strict(args.interval, 0.0) if args.interval else 0.0
        timeout = parse_strict(args.timeout, 300.0)
        namespace = args.namespace or kube.config.namespace
        # Checked before anything is applied: a name the API server refuses for the inventory
        # ConfigMap would otherwise fail only after the objects were applied, and they could never be
        # pruned.
        common.check_dns_label(namespace, "namespace")
        common.check_dns_label(args.name, "--name")
        helm = common.helm_settings(args, args.name, values_from_cwd=False)
    except (OSError, ValueError) as problem:
        common.error(str(problem))
        return common.EXIT_ERROR
    store = f"/api/v1/namespaces/{namespace}/configmaps/lockstep-sync-{args.name}"
    engine, source = Engine(Cluster(kube)), GitSource()
    opts = SyncOptions(
        app=inv.AppRef(namespace, args.name),
        namespace=namespace,
        prune=args.prune,
        allow_empty=args.allow_empty,
        wait=args.wait,
        timeout=timeout,
        create_namespace=args.create_namespace,
        read_secret=common.secret_reader(kube, namespace),
        decryption=common.decryption(args),
        local_identities=True,
        helm=helm,
    )

    stored: dict[str, str] = {}

    def previous() -> list[inv.InventoryEntry]:
        try:
            data = kube.get(store).get("data") or {}
        except ApiError as problem:
            if problem.not_found:
                return []
            raise
        stored.clear()
        stored.update(data)
        return [inv.InventoryEntry.from_dict(e) for e in json.loads(data.get("inventory", "[]"))]

    def save(entries: list[inv.InventoryEntry], revision: str) -> None:
        data = {"inventory": json.dumps([e.to_dict() for e in entries]), "revision": revision}
        if data == stored:
            return  # a no-op sync writes nothing
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"lockstep-sync-{args.name}"},
            "data": data,
        }
        kube.apply(store, body, field_manager="lockstep")
        stored.clear()
        stored.update(data)

    status = 0
    while True:
        try:
            checkout = source.fetch(args.repo, args.ref)
            before = previous()
            result = engine.sync(
                checkout.revision, checkout.path(args.path), before, opts, boundary=checkout.root
            )
            save(result.inventory, checkout.revision)
            print(f"{checkout.revision[:12]}: {result.summary()}", flush=True)
            for note in result.notes:
                print(f"warning: {note}", file=sys.stderr)
            status = 0
        except SourceError as problem:
            common.error(f"{args.repo}: {problem}")
            status = 1
        except SyncFailed as failed:
            if failed.inventory is not None:
                save(failed.inventory, failed.revision)
            common.error(common.sync_failure(failed.revision[:12] or args.repo, failed, kube))
            status = 1
        except (ApiError, ApiUnreachable) as problem:
            if not interval:
                raise  # reported by common.guarded, naming the server
            common.error(common.cluster_failure(problem) or str(problem))  # keep looping: it may come back
            status = common.EXIT_ERROR
        if not interval:
            return status
        time.sleep(interval)
