"""``lockstep operator``: every controller under one kopf process.

Controllers come from the ``lockstep.controllers`` entry points (each ``register(registry, settings)``,
or ``register(registry)`` for one that needs no settings), plus the Application controller of
``core_sync`` itself. The command line becomes one :class:`OperatorSettings` handed to all of them.
Login uses Lockstep's own kubeconfig loader (so the heavy official client is imported only for an
auth-provider user), and one small HTTP server serves ``/healthz``, ``/readyz``,
``/metrics`` and the git push webhook receiver ``POST /hook/<token>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from core_sync.operator_settings import OperatorSettings

EXAMPLE = """example:
  KUBECONFIG=~/.kube/config lockstep operator            # all namespaces, standalone
  lockstep operator --namespace team-a --peering lockstep  # one namespace, coordinated replicas
"""
CONTROLLER_GROUP = "lockstep.controllers"
OPTIONS_GROUP = "lockstep.operator_options"  # each ``add_arguments(parser)`` adds a controller's flags


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
    parser.add_argument(
        "--peering",
        metavar="NAME",
        help="coordinate replicas through kopf peering NAME (CRDs: crds/kopf-peering.yaml)",
    )
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
    parser.add_argument(
        "--default-service-account",
        metavar="NAME",
        help="ServiceAccount (in each Application's namespace) to impersonate when an Application "
        "names none (multi-tenancy; default: the operator's own identity)",
    )
    parser.add_argument(
        "--no-cross-namespace-refs",
        action="store_true",
        help="refuse Applications whose destination, dependencies or secret references leave their namespace",
    )
    parser.add_argument(
        "--insecure-kubeconfig-exec",
        action="store_true",
        help="let kubeconfig Secrets of remote-cluster Applications run credential plugins (exec, "
        "auth-provider) in the operator; off by default, as a Secret's author would run commands here",
    )
    parser.add_argument(
        "--shard",
        metavar="NAME",
        default=os.environ.get("LOCKSTEP_SHARD") or None,
        help="reconcile only Applications and ExternalSecrets labelled lockstep.dev/shard=NAME "
        "(default: only those without the label, as Flux's default shard does); 'auto': split the "
        "unlabelled ones between the replicas started with --shard auto (per-replica Leases)",
    )
    parser.add_argument(
        "--shard-namespace",
        metavar="NS",
        default=os.environ.get("LOCKSTEP_SHARD_NAMESPACE") or os.environ.get("POD_NAMESPACE") or "default",
        help="namespace of the --shard auto replicas' Leases (default: $POD_NAMESPACE or default)",
    )
    parser.add_argument(
        "--shard-lease-seconds",
        type=int,
        default=15,
        metavar="S",
        help="--shard auto: a replica silent this long is gone and its share moves (default 15)",
    )
    parser.add_argument("--log-format", choices=("json", "plain"), default="json")
    parser.add_argument("-v", "--verbose", action="store_true")
    from importlib.metadata import entry_points

    for entry in entry_points(group=OPTIONS_GROUP):
        entry.load()(parser.add_argument_group(f"{entry.name} controller"))
    return parser


def load_registry(settings: OperatorSettings) -> Any:
    """A kopf registry holding core_sync's controller and every registered package controller."""
    from importlib.metadata import entry_points

    import kopf

    from core_sync.operator_login import register_login

    registry = kopf.OperatorRegistry()
    register_login(registry, settings)
    if settings.wants("application"):
        from core_sync.app_controller import register as register_applications

        register_applications(registry, settings)
    for entry in entry_points(group=CONTROLLER_GROUP):
        if settings.wants(entry.name):
            register_controller(entry.load(), registry, settings)
    return registry


def register_controller(register: Callable[..., Any], registry: Any, settings: OperatorSettings) -> None:
    """Call ``register(registry, settings)``, or ``register(registry)`` for one that takes no settings."""
    try:
        parameters = list(inspect.signature(register).parameters.values())
    except (TypeError, ValueError):  # no signature to read (a C callable): try the full form
        register(registry, settings)
        return
    variadic = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)
    if variadic or len(parameters) >= 2:
        register(registry, settings)
    else:
        register(registry)


def main(argv: list[str], prog: str = "lockstep operator") -> int:
    _limit_malloc_arenas()
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    from core_sync.sharding import ShardNameError, check_shard

    try:
        check_shard(args.shard)
    except ShardNameError as error:
        parser.error(str(error))
    settings = OperatorSettings.from_args(args)
    from core_sync.logs import configure_logging

    configure_logging(settings.log_format, logging.DEBUG if settings.verbose else logging.INFO)
    with _without_client_models():
        import kopf

    from core_sync.http_server import serve_forever
    from core_sync.kube import KubeConfigError

    try:
        config = settings.kube_config()  # a broken kubeconfig is one clear error now, not a login retry loop
        config.credentials()
    except KubeConfigError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    if config.impersonate or config.tls_server_name:
        logging.getLogger("lockstep.operator").warning(
            "kopf's watches cannot impersonate or verify the server as tls-server-name; "
            "only Lockstep's own requests do",
            extra={"kubeconfig": config.source},
        )
    registry = load_registry(settings)
    host, _, port = settings.http.rpartition(":")

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
        # kopf gives up after 8 retries (about a minute) and the operator exits with tracebacks; an API
        # server that is down for longer (an upgrade, a network partition) must be waited out instead.
        settings.networking.error_backoffs = EndlessBackoff()
        asyncio.get_running_loop().create_task(serve_forever(host or "0.0.0.0", int(port)))  # noqa: S104

    from core_sync.profiling import profiled_main

    try:
        profiled_main(
            kopf.run,
            registry=registry,
            standalone=settings.peering is None,
            peering_name=settings.peering,
            priority=settings.priority,
            clusterwide=not settings.namespaces,
            namespaces=list(settings.namespaces),
        )
    except KeyboardInterrupt:
        return 130
    return 0


class EndlessBackoff:
    """kopf's retry delays for API errors (1, 1, 2, 3, 5, 8, 13, 21 s), then every 30 s for as long as it
    takes: re-iterable (each request starts afresh) and unsized (so kopf never escalates)."""

    STEPS = (1.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0)
    CEILING = 30.0

    def __iter__(self) -> Iterator[float]:
        yield from self.STEPS
        while True:
            yield self.CEILING


@contextlib.contextmanager
def _without_client_models() -> Iterator[None]:
    """Import kopf inside this without the official ``kubernetes`` client's models.

    kopf imports ``kubernetes.client`` when it is installed, only to accept its model objects as owners and
    bodies; Lockstep never hands kopf one, and loading those thousands of generated classes cost every
    operator process 18 MiB of RSS and 0.2 s of start-up (the package is installed for auth-provider
    kubeconfigs only). The module is hidden while kopf loads and un-hidden right after, so the
    auth-provider path can still import the package when a kubeconfig needs it."""
    hidden = "kubernetes.client" not in sys.modules
    if hidden:
        sys.modules["kubernetes.client"] = None  # type: ignore[assignment]  # an import of it fails
    try:
        yield
    finally:
        if hidden and sys.modules.get("kubernetes.client", ...) is None:
            del sys.modules["kubernetes.client"]


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas (default eight per core) before the worker threads start: with dozens
    of threads each growing its own arena, the operator's peak RSS at 1,000 Applications was ~8 MiB
    higher for no speed gained (what ``MALLOC_ARENA_MAX`` does, unless the user set that). Also fix the
    mmap and trim thresholds at 128 KiB: glibc otherwise raises both after freeing a big block (up to
    32/64 MiB), so big transient buffers then stay in the heap and its free top is never given back (at
    1,000 Applications RSS fell from 145 to 118 MiB once the first round of reconciles was over)."""
    import ctypes

    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, arenas)  # M_ARENA_MAX
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 128 * 1024)  # M_TRIM_THRESHOLD
