"""The ``lockstep keys`` flags named in issue 9 are a contract: each command's --help lists them."""

from __future__ import annotations

import pytest

from tests.keys.conftest import lockstep

CONTROLLER = ("--controller-url", "--controller-namespace", "--controller-name", "--kubeconfig", "--context")
CONTRACT = {
    "list": ("-o",),
    "cert": (),
    "usage": ("--repo", "--keys", "-o"),
    "backup": ("-o", "--age-recipient"),
    "restore": ("--age-identity",),
    "retire": ("--repo",),
    "rotate": (
        "--repo", "--dry-run", "--yes", "--use-current", "--offline", "--keys", "--no-backup-check",
        "--commit", "-o",
    ),
    "compromised": ("--repo", "--yes", "--dry-run", "-o"),
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(CONTRACT))
def test_help_lists_the_contract_flags(command: str) -> None:
    done = lockstep("keys", command, "--help")
    assert done.returncode == 0, done.stderr
    for flag in (*CONTROLLER, *CONTRACT[command]):
        assert f" {flag}" in done.stdout, f"{command}: {flag}"


def test_unknown_flag_is_a_usage_error_without_traceback() -> None:
    done = lockstep("keys", "rotate", "--frobnicate")
    assert done.returncode == 2 and "unrecognized arguments" in done.stderr and "Traceback" not in done.stderr
