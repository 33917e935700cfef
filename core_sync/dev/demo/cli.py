"""``lockstep demo``'s command line."""

from __future__ import annotations

import argparse
import sys

from core_sync.dev.demo.environment import DemoFailed
from core_sync.dev.demo.story import run_demo

EXAMPLE = "lockstep demo            # live table, then the story\nlockstep demo --non-interactive --keep"


STEP_TIMEOUT_S = 90.0


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Sync a demo repository (SealedSecret, SOPS, OpenBao, AWS SM) and act out drift, a push, "
        "a rotated value and a key rotation.",
        epilog="examples:\n  " + EXAMPLE.replace("\n", "\n  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--non-interactive", action="store_true", help="plain lines instead of a live table")
    parser.add_argument("--keep", action="store_true", help="leave everything running and say how to look")
    parser.add_argument(
        "--kubeconfig",
        help="use this cluster (never touched otherwise; default: the embedded `lockstep dev up` one)",
    )
    parser.add_argument("--timeout", type=float, default=STEP_TIMEOUT_S, help="seconds per step (default 90)")
    return parser


def main(argv: list[str], prog: str = "lockstep demo") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        return run_demo(args)
    except DemoFailed as failed:
        print(f"error: demo: {failed}", file=sys.stderr)
        return 1
