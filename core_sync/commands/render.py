"""``lockstep render DIR``: build a directory and run every render stage; a YAML stream on stdout.

Secret values, and everything a secret stage decrypted whatever its kind, are masked unless
``--show-secrets``: render output is often pasted into tickets.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core_sync.commands import common


def main(argv: list[str], prog: str = "lockstep render") -> int:
    p = common.parser(
        prog,
        "Build DIR (YAML/JSON, kustomize or a Helm chart) and run the render stages.",
        "lockstep render deploy/overlays/prod --namespace shop > rendered.yaml",
    )
    p.add_argument("directory", type=Path)
    common.add_cluster_args(p)
    p.add_argument("--show-secrets", action="store_true", help="print Secret values instead of masks")
    p.add_argument("--offline", action="store_true", help="no cluster access (stages that need it fail)")
    common.add_decryption_args(p)
    p.add_argument("--external-mode", choices=("controller", "render"), default="controller")
    common.add_helm_args(p, "relative to the working directory, inside the source's Git work tree")
    args = p.parse_args(argv)
    return common.guarded(lambda: _render(args))


def _render(args: argparse.Namespace) -> int:
    from core_sync.engine import SyncFailed, render_directory
    from core_sync.masking import mask_rendered
    from core_sync.stages import StageContext

    try:
        helm = common.helm_settings(args, args.directory.absolute().name, values_from_cwd=True)
    except ValueError as problem:
        common.error(str(problem))
        return common.EXIT_ERROR
    kube = None
    namespace = args.namespace or "default"
    no_cluster = ""
    if not args.offline:
        from core_sync.kube import NoKubeConfig

        try:
            kube = common.client(args)
            namespace = args.namespace or kube.config.namespace
        except NoKubeConfig as problem:
            no_cluster = str(problem)  # no cluster configured: stages that need one report it
        except (OSError, ValueError) as problem:
            if args.kubeconfig:
                common.error(str(problem))  # a kubeconfig named on the command line must work
                return common.EXIT_ERROR
            # Plain manifests render without a cluster; say why there is none instead of hiding it.
            no_cluster = str(problem)
            common.warning(f"no cluster access: {no_cluster}")
    context = StageContext(
        namespace=namespace,
        client=kube,
        decryption=common.decryption(args),
        read_secret=common.secret_reader(kube, namespace) if kube else None,
        local_identities=True,
    )
    try:
        objects = render_directory(args.directory, context, helm=helm)
    except SyncFailed as failed:
        hint = f" (no cluster access: {no_cluster})" if no_cluster else ""
        common.error(f"{args.directory}: {failed.reason}: {failed.message}{hint}")
        return 1
    shown = objects if args.show_secrets else mask_rendered(objects, context.secret_ids)
    sys.stdout.write(common.dump_yaml_stream(shown))
    return 0
