"""``lockstep render DIR``: build a directory and run every render stage; a YAML stream on stdout.

Secret values are masked unless ``--show-secrets``: render output is often pasted into tickets.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core_sync.commands import common


def main(argv: list[str], prog: str = "lockstep render") -> int:
    p = common.parser(
        prog,
        "Build DIR (YAML/JSON or kustomize) and run the render stages.",
        "lockstep render deploy/overlays/prod --namespace shop > rendered.yaml",
    )
    p.add_argument("directory", type=Path)
    common.add_cluster_args(p)
    p.add_argument("--show-secrets", action="store_true", help="print Secret values instead of masks")
    p.add_argument("--offline", action="store_true", help="no cluster access (stages that need it fail)")
    p.add_argument("--sops-secret", metavar="NAME", help="Secret holding SOPS age identities (*.agekey)")
    p.add_argument("--external-mode", choices=("controller", "render"), default="controller")
    args = p.parse_args(argv)

    from core_sync.engine import SyncFailed, render_directory
    from core_sync.masking import mask_secret
    from core_sync.stages import StageContext

    kube = None
    namespace = args.namespace or "default"
    if not args.offline:
        from core_sync.kube import NoKubeConfig

        try:
            kube = common.client(args)
            namespace = args.namespace or kube.config.namespace
        except NoKubeConfig:
            kube = None  # no cluster configured: stages that need one report it
        except (OSError, ValueError) as problem:
            common.error(str(problem))  # a kubeconfig that is there but broken is said, not hidden
            return common.EXIT_ERROR
    decryption: dict[str, object] = {"external": {"mode": args.external_mode}}
    if args.sops_secret:
        decryption["sops"] = {"secretRef": {"name": args.sops_secret}}
    context = StageContext(
        namespace=namespace,
        client=kube,
        decryption=decryption,
        read_secret=common.secret_reader(kube, namespace) if kube else None,
    )
    try:
        objects = render_directory(args.directory, context)
    except SyncFailed as failed:
        common.error(f"{args.directory}: {failed.reason}: {failed.message}")
        return 1
    shown = objects if args.show_secrets else [mask_secret(o) for o in objects]
    sys.stdout.write(common.dump_yaml_stream(shown))
    return 0
