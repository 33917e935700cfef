"""``lockstep diff DIR``: what a sync would change, by server-side-apply dry-run; Secrets masked.

Exit 0: no difference; 1: differences; 2: error (as ``kubectl diff`` and ``flux diff`` do).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core_sync.commands import common


def main(argv: list[str], prog: str = "lockstep diff") -> int:
    p = common.parser(
        prog,
        "Diff the rendered desired state of DIR against the live cluster.",
        "lockstep diff deploy/ --namespace shop --app shop/web; echo $?",
    )
    p.add_argument("directory", type=Path)
    common.add_cluster_args(p)
    common.add_decryption_args(p)
    p.add_argument(
        "--app",
        metavar="NS/NAME",
        help="also show what this Application's (or `lockstep sync --name`'s) prune would delete",
    )
    common.add_helm_args(p, "relative to the working directory, inside the source's Git work tree")
    args = p.parse_args(argv)
    return common.guarded(lambda: _diff(args))


def _diff(args: argparse.Namespace) -> int:
    from core_sync import inventory as inv
    from core_sync.apply import Cluster
    from core_sync.engine import (
        Engine,
        SyncFailed,
        SyncOptions,
        redacted_failures,
        render_directory,
        revision_redactor,
    )
    from core_sync.kube import ApiError
    from core_sync.masking import masked_diff
    from core_sync.stages import StageContext, object_ref

    try:
        kube = common.client(args)
        namespace = args.namespace or kube.config.namespace
        common.check_dns_label(namespace, "namespace")
        app_ns, _, app_name = (args.app or f"{namespace}/lockstep-diff").partition("/")
        common.check_dns_label(app_ns, "--app namespace")
        common.check_dns_label(app_name, "--app name")
        release = app_name if args.app else args.directory.absolute().name
        helm = common.helm_settings(args, release, values_from_cwd=True)
    except (OSError, ValueError) as problem:
        common.error(str(problem))
        return common.EXIT_ERROR
    app = inv.AppRef(app_ns, app_name)
    previous: list[inv.InventoryEntry] = []
    if args.app:
        try:
            previous = _inventory(kube, app_ns, app_name)
        except ApiError as problem:
            if not problem.not_found:
                raise  # reported by common.guarded, naming the server
            common.error(f"{args.app}: {problem.message}")
            return common.EXIT_ERROR
    engine = Engine(Cluster(kube))
    context = StageContext(
        namespace=namespace,
        client=kube,
        decryption=common.decryption(args),
        read_secret=common.secret_reader(kube, namespace),
        local_identities=True,
    )
    try:
        desired = render_directory(args.directory, context, helm=helm)
        with redacted_failures(revision_redactor(desired, context.secret_ids)):
            plan = engine.plan(
                "local",
                desired,
                previous,
                SyncOptions(app=app, namespace=namespace, prune=bool(args.app)),
                context.secret_ids,
            )
    except SyncFailed as failed:
        common.error(common.sync_failure(str(args.directory), failed, kube))
        return common.EXIT_ERROR
    finally:
        engine.cluster.close()
    out = []
    for item in plan.changes:
        label = object_ref(item.desired)
        out.append(
            masked_diff(
                item.live,
                item.predicted or item.desired,
                before_label=f"live/{label}",
                after_label=f"desired/{label}",
                secret_bearing=item.secret_bearing,
            )
        )
    for entry in plan.prune:
        out.append(f"--- live/{entry.key}\n+++ (pruned)\n")
    sys.stdout.write("".join(out))
    return 1 if out else 0


def _inventory(kube: Any, namespace: str, name: str) -> list[Any]:
    """The inventory of Application ``name``, or of the CLI sync of that name (its ConfigMap)."""
    import json

    from core_sync import inventory as inv
    from core_sync.kube import ApiError

    try:
        app = kube.get(f"/apis/lockstep.dev/v1alpha1/namespaces/{namespace}/applications/{name}")
        entries = ((app.get("status") or {}).get("inventory") or {}).get("entries") or []
    except ApiError as missing:
        if not missing.not_found:
            raise
        store = kube.get(f"/api/v1/namespaces/{namespace}/configmaps/lockstep-sync-{name}")
        entries = json.loads((store.get("data") or {}).get("inventory", "[]"))
    return [inv.InventoryEntry.from_dict(e) for e in entries]
