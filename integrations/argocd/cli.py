"""``lockstep argocd discover`` and ``generate``: the commands of ``deploy/argocd/plugin.yaml``.

The contract with Argo CD's cmp-server: ``generate`` prints only Kubernetes objects on stdout, everything
else on stderr, and exits non-zero on any failure with *nothing* on stdout (an empty stream with prune on
deletes the application's resources). So the whole stream is rendered in memory first and written only
after every step succeeded; an empty render is an error too unless ``--allow-empty``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

EXIT_FAILED = 1
TIMEOUT_SHARE = 0.9  # give up (with an error) before the cmp-server kills us at ARGOCD_EXEC_TIMEOUT
TIMEOUT_MARGIN_S = 5.0  # ... and at least this much before it (interpreter start-up and exit on a busy node)
SIDECAR_ENVIRONMENT = "the sidecar's environment (the lockstep-cmp container of argocd-repo-server)"
CERT_TIMEOUT_FLOOR_S = 1.0  # a certificate fetch late in the budget still gets a fair try

PLAINTEXT_HELP = (
    "render Secrets in plaintext as the engine does (SOPS decrypted, SealedSecrets opened). WARNING: Argo "
    "CD caches generated manifests in Redis, so the plaintext lands in its cache"
)


def discover(argv: list[str], prog: str = "lockstep argocd discover") -> int:
    from core_sync.commands import common

    p = common.parser(
        prog,
        "Print the files of the current directory (the app directory) holding SOPS files, SealedSecrets or "
        "ExternalSecrets; print nothing when there are none. plugin.yaml's discover.find.command.",
        "cd apps/shop && lockstep argocd discover",
    )
    p.add_argument("directory", nargs="?", type=Path, default=Path(), help="default: the current directory")
    args = p.parse_args(argv)
    from gocompat.limits import MAX_FILE_BYTES
    from integrations.argocd.discover import DiscoverError, find_secrets

    try:
        found = find_secrets(args.directory, MAX_FILE_BYTES)
    except (DiscoverError, OSError) as problem:
        common.error(str(problem))
        return EXIT_FAILED
    sys.stdout.write("".join(f"{item.path}: {item.kind}\n" for item in found))
    return 0


def generate(argv: list[str], prog: str = "lockstep argocd generate") -> int:
    from core_sync.commands import common

    p = common.parser(
        prog,
        "Render the current directory (the app directory) for Argo CD: SOPS-encrypted Secrets re-sealed into "
        "SealedSecrets with the cluster's sealing certificate, SealedSecrets and ExternalSecrets passed "
        "through. plugin.yaml's generate command.",
        "SEALED_SECRETS_CERT=/certs/sealing.pem SOPS_AGE_KEY_FILE=/keys/age.txt lockstep argocd generate",
    )
    p.add_argument("--plaintext", action="store_true", help=PLAINTEXT_HELP)
    p.add_argument("--allow-empty", action="store_true", help="print an empty stream instead of failing")
    p.add_argument("--kubeconfig", help="with --plaintext: cluster access (default: $KUBECONFIG, in-cluster)")
    args = p.parse_args(argv)
    try:
        text = _generate(args)
    except _Failure as failure:
        common.error(str(failure))
        return EXIT_FAILED
    except Exception as problem:  # never a traceback: it could carry plaintext
        message = common.cluster_failure(problem) or f"internal error ({type(problem).__name__})"
        common.error(message)
        return EXIT_FAILED
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


class _Failure(Exception):
    pass


def _generate(args: argparse.Namespace) -> str:
    from core_sync.commands import common
    from core_sync.engine import SyncFailed, render_directory
    from core_sync.stages import StageContext, discover_stages
    from integrations.argocd.environment import ArgoEnvironmentError, from_environ, repository_root

    app_dir = Path.cwd()
    try:
        env = from_environ(os.environ)
        scope = env.sealing_scope
    except ArgoEnvironmentError as problem:
        raise _Failure(str(problem)) from None
    for name in env.unknown_parameters():
        common.warning(f"parameter {name!r} is not one this plugin reads (ignored)")
    namespace = env.namespace or "default"
    root = Path(repository_root(str(app_dir), env.source_path))
    context = StageContext(
        namespace=namespace,
        application=env.app_name or None,
        deadline=time.monotonic() + working_time(env.exec_timeout),
        local_identities=True,  # the sidecar's own keys: SOPS_AGE_KEY_FILE, SOPS_AGE_KEY (as sops reads them)
        local_identities_from=SIDECAR_ENVIRONMENT,
    )
    where = env.source_path or str(app_dir)
    if args.plaintext:
        kube = _cluster(args)
        context.client = context.operator_client = kube
        stages = discover_stages()
    else:
        stages = discover_stages(["sops"])  # SealedSecrets and ExternalSecrets pass through untouched
    try:
        objects = render_directory(app_dir, context, stages=stages, boundary=root)
    except SyncFailed as failed:
        raise _Failure(f"{where}: {failed.reason}: {failed.message}") from None
    if not args.plaintext:
        from integrations.argocd.reseal import ResealError, check_passed_through

        try:
            check_passed_through(objects, context.source_of)
        except ResealError as problem:
            raise _Failure(f"{where}: {problem}") from None
        budget = f"ARGOCD_EXEC_TIMEOUT={env.exec_timeout:g}s"
        objects = _sealed(objects, context.secret_ids, namespace, scope, (context.deadline or 0.0, budget))
    if not objects and not args.allow_empty:
        raise _Failure(
            f"{where}: rendered no objects; refusing to print an empty stream (Argo CD would prune the "
            "application's resources); pass --allow-empty if that is intended"
        )
    return common.dump_yaml_stream(objects)


def _sealed(
    objects: list[dict[str, Any]],
    secret_ids: set[int],
    namespace: str,
    scope: str,
    deadline: tuple[float, str],
) -> list[Any]:
    """Re-seal what SOPS decrypted; the certificate fetch gets what is left of the budget (``deadline``:
    the monotonic time to give up at, and the budget's name for the message)."""
    from integrations.argocd.reseal import ResealError, reseal
    from sealed.format.errors import FormatError
    from sealed.sealing import Fail, environment_encrypter

    timeout = certificate_timeout(deadline[0], time.monotonic())
    try:
        return reseal(
            objects, secret_ids, lambda: environment_encrypter(os.environ, timeout), namespace, scope
        )
    except (ResealError, Fail) as problem:
        raise _Failure(str(problem)) from None
    except FormatError as problem:  # the certificate could not be fetched or read
        from sealed.remote import TIMEOUT_S

        within = f" (what was left of {deadline[1]})" if timeout < TIMEOUT_S else ""
        raise _Failure(f"sealing certificate: {problem}{within}") from None


def working_time(budget: float) -> float:
    """Seconds ``generate`` works before failing on its own. The cmp-server kills it ``budget`` seconds
    after starting the process, start-up and exit included: give up at 90 % of it, or 5 s before it if
    that is earlier, but never before half of it."""
    return max(budget * 0.5, budget - max(budget * (1 - TIMEOUT_SHARE), TIMEOUT_MARGIN_S))


def certificate_timeout(deadline: float, now: float) -> float:
    """Seconds one certificate request may take: what is left until ``deadline`` (so the plugin fails with
    its own message before the cmp-server kills it), at least a floor, at most sealed.remote's own bound."""
    from sealed.remote import TIMEOUT_S

    return max(CERT_TIMEOUT_FLOOR_S, min(TIMEOUT_S, deadline - now))


def _cluster(args: argparse.Namespace) -> Any:
    """Cluster access for ``--plaintext`` (the sealed stage reads the sealing keys): in-cluster or
    kubeconfig; none at all is fine until a stage needs it (that stage then says so)."""
    from core_sync.kube import KubeClient, KubeConfig, NoKubeConfig

    try:
        return KubeClient(KubeConfig.load(args.kubeconfig, None))
    except NoKubeConfig:
        return None
    except (OSError, ValueError) as problem:
        raise _Failure(f"cluster access: {problem}") from None
