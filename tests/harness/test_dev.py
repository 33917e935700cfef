"""`lockstep dev up | env | down` brings the local environment up and takes it all down again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core_sync.kube import KubeClient, KubeConfig


def _lockstep(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core_sync.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )


def isolated_cache(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A private LOCKSTEP_CACHE (no one else's dev environment is seen) linking the built binaries."""
    cache = tmp_path / "cache"
    (cache / "bin").mkdir(parents=True)
    real_bin = Path(os.environ.get("LOCKSTEP_CACHE", Path.home() / ".cache" / "lockstep")) / "bin"
    for built in real_bin.iterdir():
        (cache / "bin" / built.name).symlink_to(built)
    return cache, {**os.environ, "LOCKSTEP_CACHE": str(cache)}


def test_dev_up_env_down(tmp_path: Path) -> None:
    cache, env = isolated_cache(tmp_path)
    up = _lockstep("dev", "up", env=env)
    try:
        assert up.returncode == 0, up.stderr
        exports = _lockstep("dev", "env", env=env)
        assert exports.returncode == 0
        values = dict(line.removeprefix("export ").split("=", 1) for line in exports.stdout.splitlines())
        client = KubeClient(KubeConfig.from_file(Path(values["KUBECONFIG"])))
        assert client.get("/apis/lockstep.dev/v1alpha1")["groupVersion"] == "lockstep.dev/v1alpha1"
        import hvac

        assert hvac.Client(url=values["BAO_ADDR"], token=values["BAO_TOKEN"]).is_authenticated()
        assert _lockstep("dev", "up", env=env).stdout.startswith("already up")
    finally:
        down = _lockstep("dev", "down", env=env)
    assert down.returncode == 0 and down.stdout.strip() == "stopped"
    assert not (cache / "dev" / "kubeconfig").exists()
    assert _lockstep("dev", "env", env=env).returncode == 1
