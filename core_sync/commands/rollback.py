"""``lockstep rollback NS/APP [REVISION]``, ``lockstep suspend NS/APP`` and ``lockstep resume NS/APP``.

Argo CD refuses a rollback while automated sync is on. Every Lockstep Application syncs automatically, so
the rollback is itself the switch: one write (guarded by the resourceVersion read) sets ``spec.rollback``,
which pins the commit and suspends following ``targetRevision`` until ``lockstep resume`` removes it. The
operator then syncs the pinned commit like any other: its SOPS/sealed files are decrypted again from that
commit; no plaintext is stored anywhere to roll back to.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from core_sync.commands import common

FIELD_MANAGER = "lockstep-rollback"  # its own: an ApplicationSet's apply (another manager) keeps the pin
EXAMPLE_ROLLBACK = "lockstep rollback team-a/web        # to the previous revision in status.history"


def _parser(prog: str, description: str, example: str) -> argparse.ArgumentParser:
    p = common.parser(prog, description, example)
    p.add_argument("application", metavar="NS/APP", help="the Application (NAMESPACE/NAME, or NAME with -n)")
    common.add_cluster_args(p)
    return p


def _split(value: str, namespace: str | None) -> tuple[str, str]:
    ns, _, name = value.rpartition("/")
    ns = ns or namespace or "default"
    common.check_dns_label(ns, "namespace")
    if not name:
        raise ValueError(f"{value!r}: no Application name (expected NAMESPACE/NAME)")
    return ns, name


def _path(namespace: str, name: str) -> str:
    return f"/apis/lockstep.dev/v1alpha1/namespaces/{namespace}/applications/{name}"


def rollback(argv: list[str], prog: str = "lockstep rollback") -> int:
    p = _parser(
        prog,
        "Sync a previous revision of an Application (from status.history) and suspend automatic sync "
        "until `lockstep resume`. REVISION is a history id or a commit SHA (prefix); default the previous.",
        EXAMPLE_ROLLBACK,
    )
    p.add_argument("revision", metavar="REVISION", nargs="?", help="history id or commit SHA")
    p.add_argument("--wait", action="store_true", help="wait until the revision is applied and Ready")
    p.add_argument("--timeout", default="5m", metavar="DURATION", help="with --wait (default 5m)")
    args = p.parse_args(argv)
    return common.guarded(lambda: _rollback(args))


def _rollback(args: argparse.Namespace) -> int:
    from core_sync.history import HistoryError, find
    from core_sync.kube import ApiError
    from gocompat.duration import parse_strict

    try:
        namespace, name = _split(args.application, args.namespace)
        timeout = parse_strict(args.timeout, 300.0)
        kube = common.client(args)
    except ValueError as invalid:
        common.error(str(invalid))
        return common.EXIT_ERROR
    where = f"Application {namespace}/{name}"
    app = _get(kube, namespace, name)
    if app is None:
        common.error(f"{where} not found")
        return common.EXIT_ERROR
    spec, status = app.get("spec") or {}, app.get("status") or {}
    if spec.get("suspend"):
        common.error(f"{where} is suspended (spec.suspend): run `lockstep resume {namespace}/{name}` first")
        return common.EXIT_ERROR
    try:
        entry = find(status.get("history") or [], args.revision, status.get("lastAppliedRevision"))
    except HistoryError as unknown:
        common.error(f"{where} {unknown}; nothing was changed")
        return common.EXIT_ERROR
    patch = {
        "metadata": {"resourceVersion": app["metadata"]["resourceVersion"]},
        "spec": {"rollback": {"revision": entry["revision"], "historyId": int(entry["id"])}},
    }
    try:
        kube.merge_patch(_path(namespace, name), patch, fieldManager=FIELD_MANAGER)
    except ApiError as error:
        if error.status != 409:
            raise
        common.error(f"{where} changed while rolling back; nothing was changed, run the command again")
        return common.EXIT_ERROR
    sys.stdout.write(
        f"{where}: rolling back to {entry['revision'][:12]} (history id {entry['id']}); automatic sync "
        f"is suspended until `lockstep resume {namespace}/{name}`\n"
    )
    if args.wait:
        return _wait(kube, namespace, name, entry["revision"], timeout)
    return 0


def _get(kube: Any, namespace: str, name: str) -> dict[str, Any] | None:
    result: dict[str, Any] | None = kube.get_or_none(_path(namespace, name))
    return result


def _wait(kube: Any, namespace: str, name: str, revision: str, timeout: float) -> int:
    """Until the operator applied ``revision`` and says Ready (exit 0), failed on it, or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app = _get(kube, namespace, name) or {}
        status = app.get("status") or {}
        ready: dict[str, Any] = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {}
        )
        if status.get("lastAppliedRevision") == revision and ready.get("status") == "True":
            sys.stdout.write(f"Application {namespace}/{name}: {revision[:12]} applied\n")
            return 0
        if status.get("lastAttemptedRevision") == revision and ready.get("status") == "False":
            common.error(f"Application {namespace}/{name}: {ready.get('reason')}: {ready.get('message')}")
            return 1
        time.sleep(0.5)
    common.error(f"Application {namespace}/{name}: {revision[:12]} not applied within {timeout:.0f} s")
    return 1


def resume(argv: list[str], prog: str = "lockstep resume") -> int:
    p = _parser(
        prog,
        "Resume automatic sync: drop a rollback pin and spec.suspend, so the Application follows its "
        "source's targetRevision again.",
        "lockstep resume team-a/web",
    )
    args = p.parse_args(argv)
    return common.guarded(lambda: _set(args, {"rollback": None, "suspend": None}, "resumed"))


def suspend(argv: list[str], prog: str = "lockstep suspend") -> int:
    p = _parser(
        prog,
        "Suspend an Application (spec.suspend): no sync, no drift correction until `lockstep resume`.",
        "lockstep suspend team-a/web",
    )
    args = p.parse_args(argv)
    return common.guarded(lambda: _set(args, {"suspend": True}, "suspended"))


def _set(args: argparse.Namespace, spec: dict[str, Any], done: str) -> int:
    try:
        namespace, name = _split(args.application, args.namespace)
        kube = common.client(args)
    except ValueError as invalid:
        common.error(str(invalid))
        return common.EXIT_ERROR
    if _get(kube, namespace, name) is None:
        common.error(f"Application {namespace}/{name} not found")
        return common.EXIT_ERROR
    kube.merge_patch(_path(namespace, name), {"spec": spec}, fieldManager=FIELD_MANAGER)
    sys.stdout.write(f"Application {namespace}/{name} {done}\n")
    return 0
