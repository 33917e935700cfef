"""``lockstep operator``: every controller under one kopf process.

Controllers come from the ``lockstep.controllers`` entry points (each ``register(registry)``), plus the
Application controller of ``core_sync`` itself. Login uses Lockstep's own kubeconfig loader (so the heavy
official client is never imported), and one small HTTP server serves ``/healthz``, ``/readyz``,
``/metrics`` and the git push webhook receiver ``POST /hook/<token>``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Sequence
from typing import Any

EXAMPLE = """example:
  KUBECONFIG=~/.kube/config lockstep operator            # all namespaces, standalone
  lockstep operator --namespace team-a --peering lockstep  # one namespace, coordinated replicas
"""
CONTROLLER_GROUP = "lockstep.controllers"
OPTIONS_GROUP = "lockstep.operator_options"  # each ``add_arguments(parser)`` adds a controller's flags
OPTIONS = argparse.Namespace()  # the parsed flags, for controllers to read in ``register``


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the Application, SealedSecret and ExternalSecret controllers under kopf.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)"
    )
    parser.add_argument("--context", help="kubeconfig context (default: current-context)")
    parser.add_argument("-n", "--namespace", action="append", default=[], help="watch only these namespaces")
    parser.add_argument("--peering", metavar="NAME", help="coordinate replicas through kopf peering NAME")
    parser.add_argument("--priority", type=int, default=0, help="peering priority of this replica")
    parser.add_argument(
        "--http",
        default=os.environ.get("LOCKSTEP_HTTP", "0.0.0.0:8080"),
        metavar="HOST:PORT",
        help="where /healthz, /readyz, /metrics and /hook listen (default 0.0.0.0:8080)",
    )
    parser.add_argument(
        "--controllers",
        default=os.environ.get("LOCKSTEP_CONTROLLERS"),
        help="comma-separated controller names to run (default: all registered)",
    )
    parser.add_argument("--log-format", choices=("json", "plain"), default="json")
    parser.add_argument("-v", "--verbose", action="store_true")
    from importlib.metadata import entry_points

    for entry in entry_points(group=OPTIONS_GROUP):
        entry.load()(parser.add_argument_group(f"{entry.name} controller"))
    return parser


def load_registry(only: Sequence[str] | None) -> Any:
    """A kopf registry holding core_sync's controller and every registered package controller."""
    from importlib.metadata import entry_points

    import kopf

    from core_sync.operator_login import register_login

    registry = kopf.OperatorRegistry()
    register_login(registry)
    wanted = set(only) if only else None
    if wanted is None or "application" in wanted:
        from core_sync.app_controller import register as register_applications

        register_applications(registry)
    for entry in entry_points(group=CONTROLLER_GROUP):
        if wanted is None or entry.name in wanted:
            entry.load()(registry)
    return registry


def main(argv: list[str], prog: str = "lockstep operator") -> int:
    args = build_parser(prog).parse_args(argv)
    vars(OPTIONS).update(vars(args))
    if args.kubeconfig:
        os.environ["KUBECONFIG"] = args.kubeconfig
    if args.context:
        os.environ["LOCKSTEP_KUBE_CONTEXT"] = args.context
    from core_sync.logs import configure_logging

    configure_logging(args.log_format, logging.DEBUG if args.verbose else logging.INFO)
    import kopf

    from core_sync.http_server import serve_forever

    only = [c.strip() for c in args.controllers.split(",")] if args.controllers else None
    registry = load_registry(only)
    host, _, port = args.http.rpartition(":")

    @kopf.on.startup(registry=registry)
    async def _configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.level = logging.WARNING  # kopf's own per-handler events are noise
        settings.watching.server_timeout = 60
        settings.watching.client_timeout = 90
        settings.persistence.finalizer = "lockstep.dev/finalizer"
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="lockstep.dev")
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix="lockstep.dev", key="last-handled-configuration"
        )
        settings.execution.max_workers = 8
        asyncio.get_running_loop().create_task(serve_forever(host or "0.0.0.0", int(port)))  # noqa: S104

    try:
        kopf.run(
            registry=registry,
            standalone=args.peering is None,
            peering_name=args.peering,
            priority=args.priority,
            clusterwide=not args.namespace,
            namespaces=args.namespace,
        )
    except KeyboardInterrupt:
        return 130
    return 0
