"""``lockstep appset preview FILE``: what an ApplicationSet would create, update, delete or keep.

Reads the cluster (registered cluster Secrets, owned Applications) and writes nothing. Exit codes as
``lockstep diff``: 0 nothing would change, 1 changes, 2 error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core_sync.commands import common


def preview(argv: list[str], prog: str = "lockstep appset preview") -> int:
    p = common.parser(
        prog,
        "Expand an ApplicationSet against the cluster and print what would change (writes nothing).",
        "lockstep appset preview fleet/my-app-set.yaml --namespace apps",
    )
    p.add_argument("file", type=Path)
    common.add_cluster_args(p)
    p.add_argument("-o", "--output", choices=("names", "yaml"), default="names")
    args = p.parse_args(argv)
    return common.guarded(lambda: _preview(args))


def _preview(args: argparse.Namespace) -> int:
    import yaml

    from core_sync.appset import cluster
    from core_sync.appset.plan import changes, desired
    from core_sync.appset.template import AppSetError

    try:
        documents = common.read_manifests(args.file)
    except common.InputError as problem:
        common.error(str(problem))
        return common.EXIT_ERROR
    appset = documents[0] if len(documents) == 1 else None
    if not isinstance(appset, dict) or appset.get("kind") != "ApplicationSet":
        common.error(f"{args.file}: not an ApplicationSet (one ApplicationSet document expected)")
        return common.EXIT_ERROR
    for field in ("metadata", "spec"):
        if not isinstance(appset.get(field) or {}, dict):
            common.error(f"{args.file}: ApplicationSet {field} is not a mapping")
            return common.EXIT_ERROR
    kube = common.client(args)
    meta = appset.setdefault("metadata", {})
    meta["namespace"] = args.namespace or meta.get("namespace") or "default"
    try:
        want = desired(appset, cluster.world(kube, meta["namespace"]))
        policy = ((appset.get("spec") or {}).get("syncPolicy") or {}).get("applicationsSync", "sync")
        plan = changes(want, cluster.owned(kube, appset), policy)
    except AppSetError as problem:
        common.error(f"{args.file}: {problem}")
        return common.EXIT_ERROR
    for verb, apps in (("create", plan.create), ("update", plan.update)):
        for app in apps:
            print(f"{verb} Application {meta['namespace']}/{app['metadata']['name']}")
            if args.output == "yaml":
                sys.stdout.write(yaml.safe_dump(app, sort_keys=False, explicit_start=True))
    for verb, names in (("delete", plan.delete), ("keep", plan.keep)):
        for name in names:
            print(f"{verb} Application {meta['namespace']}/{name}")
    return 0 if plan.empty() else 1
