"""What the engine commands share: argument helpers, cluster access, stage context, YAML output."""

from __future__ import annotations

import argparse
import base64
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

EXIT_ERROR = 2
DEFAULT_REQUEST_TIMEOUT = "30s"
# RFC 1123 label: what a namespace, and the name inside ``lockstep-sync-<name>``, must be.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


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
    p.add_argument(
        "--request-timeout",
        metavar="DURATION",
        default=DEFAULT_REQUEST_TIMEOUT,
        help=f"give up on an API request after DURATION (default {DEFAULT_REQUEST_TIMEOUT})",
    )


def client(args: argparse.Namespace) -> Any:
    """A client on ``--kubeconfig``/``--context``; raises :class:`KubeConfigError` (a ``ValueError``)
    naming the file and field for a malformed kubeconfig, or a credential plugin that cannot run."""
    from core_sync.kube import KubeClient, KubeConfig
    from gocompat.duration import parse_strict

    try:
        timeout = parse_strict(args.request_timeout, 30.0)
    except ValueError as invalid:
        raise ValueError(f"--request-timeout: {invalid}") from None
    if timeout <= 0:
        raise ValueError(f"--request-timeout {args.request_timeout!r} must be positive")
    config = KubeConfig.load(args.kubeconfig, args.context)
    config.credentials()  # run a credential plugin now: its failure is a kubeconfig error, not a traceback
    return KubeClient(config, timeout=timeout)


def check_dns_label(value: str, what: str) -> None:
    """Refuse a name the API server would refuse, before anything is written."""
    if len(value) > 63 or not _DNS_LABEL.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} is not a valid name: lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        )


def cluster_failure(error: BaseException) -> str | None:
    """The one-line message for a failure to talk to the cluster, or ``None`` when ``error`` is not one.

    Why here: every command that talks to the API server ends in this one handler, so a refused
    connection, a wrong CA, a 401/403, a timeout or a 5xx is an error line naming the server and the
    reason, never a traceback.
    """
    from core_sync.kube import ApiError, ApiUnreachable, KubeConfigError
    from core_sync.redaction import one_line

    if isinstance(error, ApiUnreachable | KubeConfigError):
        return one_line(str(error))
    if isinstance(error, ApiError):
        where = f"API server {error.server}" if error.server else "API server"
        what = f"{error.status} {error.reason or ''}".strip()
        detail = f": {error.message}" if error.message and error.message != error.reason else ""
        return one_line(f"{where}: {error.method} {error.path}: {what}{detail}")
    return None


SERVER_SIDE_REASONS = frozenset({"ValidationFailed", "ApplyFailed", "HealthCheckFailed"})


def sync_failure(where: str, failed: Any, kube: Any) -> str:
    """The error line of a failed render/plan/apply; the server is named when it gave the answer."""
    server = f" (API server {kube.config.server})" if failed.reason in SERVER_SIDE_REASONS else ""
    return f"{where}: {failed.reason}: {failed.message}{server}"


def guarded(run: Callable[[], int]) -> int:
    """Run a command body; cluster-access failures become one ``error:`` line and exit code 2."""
    try:
        return run()
    except Exception as problem:
        message = cluster_failure(problem)
        if message is None:
            raise
        error(message)
        return EXIT_ERROR


def add_decryption_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sops-secret",
        metavar="NAME",
        help="Secret holding SOPS age identities (*.agekey), besides the ones sops itself would use "
        "(SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, SOPS_AGE_KEY_CMD, ~/.config/sops/age/keys.txt)",
    )


def decryption(args: argparse.Namespace) -> dict[str, Any]:
    """The ``spec.decryption`` equivalent of the command's flags."""
    settings: dict[str, Any] = {}
    if getattr(args, "external_mode", None):
        settings["external"] = {"mode": args.external_mode}
    if args.sops_secret:
        settings["sops"] = {"secretRef": {"name": args.sops_secret}}
    return settings


def add_helm_args(p: argparse.ArgumentParser, values_relative_to: str) -> None:
    """The flags for a path holding a Helm chart (a ``Chart.yaml``), as ``spec.source.helm`` sets them."""
    group = p.add_argument_group("Helm charts (a path holding Chart.yaml is rendered with helm template)")
    group.add_argument(
        "--values",
        metavar="FILE",
        action="append",
        default=[],
        help=f"a values file, {values_relative_to}; repeatable, later files win; a SOPS-encrypted file is "
        "decrypted in memory",
    )
    group.add_argument("--release-name", metavar="NAME", help="the Helm release name")
    group.add_argument(
        "--kube-version",
        metavar="VERSION",
        help="Kubernetes version for the chart's Capabilities (default: the cluster's, else helm's)",
    )
    group.add_argument("--helm", metavar="PATH", help="the helm binary (default: $LOCKSTEP_HELM, then PATH)")


def helm_settings(args: argparse.Namespace, release_name: str, *, values_from_cwd: bool) -> Any:
    """The :class:`~core_sync.helm_settings.HelmSettings` of the command's flags; ``ValueError`` for a bad
    one. ``values_from_cwd``: ``--values`` names local files (made absolute, still confined to the
    source root), else paths in the repository relative to the chart, as ``valuesFiles``."""
    from core_sync.helm_settings import (
        HelmSettings,
        check_kube_version,
        check_release_name,
        check_values_path,
        default_release_name,
    )

    release = args.release_name or default_release_name(release_name)
    check_release_name(release, "--release-name")
    if args.kube_version:
        check_kube_version(args.kube_version, "--kube-version")
    files: list[str] = []
    for value in args.values:
        if values_from_cwd:  # the directories as they really are; the file itself is checked when read
            path = Path(value).absolute()
            files.append(str(path.parent.resolve() / path.name))
        else:
            check_values_path(value, "--values")
            files.append(value)
    return HelmSettings(
        release_name=release, values_files=tuple(files), kube_version=args.kube_version, binary=args.helm
    )


def secret_reader(kube: Any, namespace: str) -> Any:
    def read(name: str) -> dict[str, bytes]:
        secret = kube.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
        return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}

    return read


def error(message: str) -> None:
    """Print one sanitised error line (see :mod:`core_sync.redaction`)."""
    from core_sync.redaction import one_line

    sys.stderr.write(f"error: {one_line(message)}\n")


def warning(message: str) -> None:
    from core_sync.redaction import one_line

    sys.stderr.write(f"warning: {one_line(message)}\n")


def dump_yaml_stream(objects: Iterable[dict[str, Any]]) -> str:
    import yaml

    return "".join(
        "---\n" + yaml.safe_dump(obj, sort_keys=False, default_flow_style=False) for obj in objects
    )


class InputError(Exception):
    """A file named on the command line that cannot be read or parsed; the message names it and why."""


def read_manifests(path: Path, loader_class: Any = None) -> list[Any]:
    """The YAML/JSON documents of a file the user named: a regular file (a FIFO cannot block), within the
    input size limit, UTF-8, parsed with the engine's limits (aliases, depth, size) and ``loader_class``
    (default: the safe loader)."""
    import yaml

    from core_sync.confine import ConfinementError, read_named_file
    from gocompat.limits import LimitExceeded, iter_yaml

    try:
        text = read_named_file(path).decode("utf-8")
    except ConfinementError as problem:
        raise InputError(f"{path}: cannot read: {problem.reason}") from None
    except UnicodeDecodeError as problem:
        raise InputError(f"{path}: cannot read: not UTF-8 (byte {problem.start})") from None
    try:
        return list(iter_yaml(text, loader_class))
    except (yaml.YAMLError, LimitExceeded, ValueError) as problem:  # ValueError: a 5,000-digit integer
        first = str(problem).strip().splitlines()[0] if str(problem).strip() else type(problem).__name__
        raise InputError(f"{path}: not valid YAML: {first}") from None
