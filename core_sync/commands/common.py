"""What the engine commands share: argument helpers, cluster access, stage context, YAML output."""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Iterable
from typing import Any

EXIT_ERROR = 2


def parser(prog: str, description: str, example: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_cluster_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
    p.add_argument("--context", help="kubeconfig context")
    p.add_argument(
        "-n",
        "--namespace",
        default=None,
        help="namespace for objects that name none (default: the context's)",
    )


def client(args: argparse.Namespace) -> Any:
    """A client on ``--kubeconfig``/``--context``; raises :class:`KubeConfigError` (a ``ValueError``)
    naming the file and field for a malformed kubeconfig, or a credential plugin that cannot run."""
    from core_sync.kube import KubeClient, KubeConfig

    config = KubeConfig.load(args.kubeconfig, args.context)
    config.credentials()  # run a credential plugin now: its failure is a kubeconfig error, not a traceback
    return KubeClient(config)


def secret_reader(kube: Any, namespace: str) -> Any:
    def read(name: str) -> dict[str, bytes]:
        secret = kube.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
        return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}

    return read


def error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")


def dump_yaml_stream(objects: Iterable[dict[str, Any]]) -> str:
    import yaml

    return "".join(
        "---\n" + yaml.safe_dump(obj, sort_keys=False, default_flow_style=False) for obj in objects
    )
