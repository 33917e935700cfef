"""The ``lockstep keys`` flags named in issue 9 are a contract: each command's --help lists them."""

from __future__ import annotations

from pathlib import Path

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


def test_every_keys_command_runs_twice_in_one_interpreter(tmp_path: Path) -> None:
    """Importing ``sealed.keys_cli.usage`` (or ``rotate``, ``backup``) binds the module as an attribute
    of the package: a door named like it would then be a module, and a second call a TypeError."""
    import subprocess
    import sys

    script = (
        "import sys\nfrom core_sync.cli import main\n"
        "offline = [['keys', c, '--offline', '--keys', sys.argv[1], '--repo', '.'] for c in "
        "('usage', 'rotate', 'usage', 'rotate')]\n"
        "for argv in offline + [['keys', 'restore', sys.argv[1]]] * 2:\n"
        "    print(main(argv))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "missing.yaml")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.split() == ["1"] * 6
    assert done.stderr.count("missing.yaml: cannot read: No such file or directory") == 6
