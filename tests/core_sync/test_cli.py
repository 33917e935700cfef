"""The ``lockstep`` command tree: every contract command is listed, help is fast and light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core_sync import cli

CONTRACT = {
    "seal": None,
    "keys": {"list", "cert", "usage", "rotate", "retire", "backup", "restore", "compromised"},
    "sops": {
        "decrypt",
        "encrypt",
        "rotate",
        "updatekeys",
        "edit",
        "git-setup",
        "git-textconv",
        "git-merge",
        "filestatus",
        "set",
        "unset",
        "exec-env",
        "exec-file",
    },
    "render": None,
    "diff": None,
    "sync": None,
    "import": None,
    "rollback": None,
    "suspend": None,
    "resume": None,
    "appset": {"preview"},
    "argocd": {"discover", "generate"},
    "operator": None,
    "dev": {"up", "down", "env"},
    "demo": None,
}
HEAVY = ("kubernetes", "boto3", "kopf", "hvac", "botocore", "aiohttp")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core_sync.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_every_contract_command() -> None:
    result = _run("--help")
    assert result.returncode == 0
    listed = {
        line.split()[0]
        for line in result.stdout.split("commands:")[1].split("\n\n")[0].splitlines()
        if line.strip()
    }
    assert listed == set(CONTRACT)
    assert "example" in result.stdout
    for group, children in CONTRACT.items():
        if children:
            sub = _run(group, "--help")
            assert sub.returncode == 0
            names = {
                line.split()[0]
                for line in sub.stdout.split("commands:")[1].split("\n\n")[0].splitlines()
                if line.strip()
            }
            assert names == children, group


def test_help_imports_nothing_heavy() -> None:
    probe = (
        "import sys, io, contextlib\n"
        "from core_sync.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        f"print(__import__('json').dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout) == []


def test_unknown_command_is_an_error_naming_it() -> None:
    result = _run("frobnicate")
    assert result.returncode == 2
    assert "unknown command 'frobnicate'" in result.stderr


def test_command_whose_module_is_missing_says_not_implemented(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = cli.Command("lockstep", "t", children=(cli.Command("later", "x", "core_sync.not_built_yet:main"),))
    monkeypatch.setattr(cli, "TREE", tree)
    assert cli.dispatch(["later"]) == cli.NOT_IMPLEMENTED_EXIT
    assert "lockstep later: not implemented yet" in capsys.readouterr().err


def test_import_errors_inside_a_command_module_are_not_hidden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "broken_command.py").write_text("import a_dependency_that_is_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    tree = cli.Command("lockstep", "t", children=(cli.Command("x", "x", "broken_command:main"),))
    monkeypatch.setattr(cli, "TREE", tree)
    with pytest.raises(ModuleNotFoundError, match="a_dependency_that_is_not_installed"):
        cli.dispatch(["x"])


GC_PROBE = (
    "import atexit, gc, sys\n"
    "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"  # runs after ours
    "sys.argv = ['lockstep', *sys.argv[1:]]\n"
    "from core_sync.cli import main\n"
    "code = main({argv})\n"
    "print('collector on:', gc.isenabled(), 'exit', code)\n"
)


def _gc_probe(*argv: str, in_process: bool = False) -> str:
    probe = GC_PROBE.format(argv=repr(list(argv)) if in_process else "")
    return subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def test_one_shot_command_as_the_process_runs_without_the_cyclic_collector(tmp_path: Path) -> None:
    """`lockstep sops decrypt` from the console script: collector off, live objects frozen at exit."""
    missing = str(tmp_path / "missing.enc.yaml")
    out = _gc_probe("sops", "decrypt", missing)
    assert "collector on: False exit 100" in out
    assert "frozen at exit: True" in out


def test_one_shot_command_in_process_leaves_the_collector_alone(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.enc.yaml")
    out = _gc_probe("sops", "decrypt", missing, in_process=True)
    assert "collector on: True exit 100" in out
    assert "frozen at exit: False" in out


def test_other_commands_keep_the_collector(tmp_path: Path) -> None:
    out = _gc_probe("sops", "filestatus", str(tmp_path / "missing.enc.yaml"))
    assert "collector on: True exit" in out
    assert "frozen at exit: False" in out
    assert all(not c.one_shot for c in _leaves(cli.TREE) if c.target != "sops_plugin.cli:decrypt")


def _leaves(node: cli.Command) -> list[cli.Command]:
    return [node] if not node.children else [leaf for child in node.children for leaf in _leaves(child)]
