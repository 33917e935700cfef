"""The process behind ``lockstep dev up``: owns the local services until SIGTERM.

It runs detached from the terminal so the services outlive ``lockstep dev up``; its children die with it
(``PR_SET_PDEATHSIG``), so ``kill -9`` of the supervisor still leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

from core_sync.testing import ControlPlane, MotoServer, OpenBao


def state_dir() -> Path:
    from core_sync.testing.binaries import cache_dir

    return cache_dir() / "dev"


def run(directory: Path) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    status = directory / "status.json"
    try:
        with ControlPlane() as plane, OpenBao() as bao, MotoServer() as moto:
            crds = Path(__file__).resolve().parents[2] / "crds"
            if crds.is_dir():
                plane.install_crds(crds)
            shutil.copyfile(plane.kubeconfig, directory / "kubeconfig")
            (directory / "kubeconfig").chmod(0o600)
            env = {
                "KUBECONFIG": str(directory / "kubeconfig"),
                "BAO_ADDR": bao.url,
                "VAULT_ADDR": bao.url,
                "BAO_TOKEN": bao.token,
                "VAULT_TOKEN": bao.token,
                "AWS_ENDPOINT_URL": moto.url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
            env_file = directory / "env"
            env_file.write_text("".join(f"export {k}={v}\n" for k, v in env.items()))
            env_file.chmod(0o600)
            status.write_text(
                json.dumps({"state": "ready", "pid": os.getpid(), "server": plane.server, "env": env})
            )
            stop.wait()
    except Exception as error:  # reported to `dev up`, which is waiting on the status file
        status.write_text(json.dumps({"state": "failed", "error": str(error)}))
        return 1
    finally:
        for name in ("kubeconfig", "env"):
            (directory / name).unlink(missing_ok=True)
    status.write_text(json.dumps({"state": "stopped"}))
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
