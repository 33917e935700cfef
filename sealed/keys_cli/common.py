"""What every ``lockstep keys`` command shares: the controller flags of ``lockstep seal`` (same table, same
``SEALED_SECRETS_*`` environment variables), the cluster connection, the question before changes, and one
error path (``error: <where>: <reason>``, exit 1, never a traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sealed.flags import FLAGS, defaults

if TYPE_CHECKING:
    from core_sync.kube import KubeClient
    from sealed.remote import Controller

CONTROLLER_FLAGS = ("controller_url", "controller_name", "controller_namespace", "kubeconfig", "context")


def parser(prog: str, description: str, epilog: str = "") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = p.add_argument_group("controller (as lockstep seal reaches it)")
    for options, dest, _, _, metavar, help_text in FLAGS:
        if dest in CONTROLLER_FLAGS:
            group.add_argument(*options, dest=dest, metavar=metavar, help=help_text)
    p.set_defaults(**{k: v for k, v in defaults(os.environ).items() if k in CONTROLLER_FLAGS})
    return p


class CommandError(Exception):
    """A failure already phrased for the user."""


def run(body: Callable[[], int]) -> int:
    """Run a command body: known failures become ``error: ...`` and exit 1."""
    from sealed.format.errors import FormatError

    try:
        return body()
    except CommandError as error:
        sys.stderr.write(f"error: {error}\n")
    except FormatError as error:
        sys.stderr.write(f"error: {error}\n")
    except _api_errors() as error:
        sys.stderr.write(f"error: {error}\n")
    except ValueError as error:  # bad input found below the command layer (a label value, a reply)
        sys.stderr.write(f"error: {error}\n")
    except BrokenPipeError:
        pass
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        sys.stderr.write(f"error: {where}{error.strerror or error}\n")
    return 1


def _api_errors() -> tuple[type[Exception], ...]:
    from core_sync.kube import ApiError, KubeConfigError

    return (ApiError, KubeConfigError)


def kube_client(args: argparse.Namespace) -> KubeClient:
    from core_sync.kube import KubeClient, KubeConfig, KubeConfigError

    try:
        return KubeClient(KubeConfig.load(args.kubeconfig, args.context))
    except (KubeConfigError, ValueError, OSError) as error:
        raise CommandError(f"cannot reach the cluster: {error}") from None


def controller(args: argparse.Namespace) -> Controller:
    from sealed.seal_args import ControllerRef
    from sealed.sealing import controller_for

    return controller_for(ControllerRef(args))


def key_namespace(args: argparse.Namespace) -> str:
    """The keys live beside the controller (Bitnami's layout), so ``--controller-namespace`` names both."""
    return str(args.controller_namespace)


def confirm(question: str, yes: bool) -> None:
    """Ask on a terminal; ``--yes`` skips; without a terminal, refuse unless ``--yes``."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CommandError("refusing to change anything without a terminal to ask; pass --yes")
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise CommandError("cancelled; nothing was changed")


def dump(obj: Any) -> str:
    import json

    return json.dumps(obj, indent=2, sort_keys=True) + "\n"
