"""scripts/build-control-plane: a second run does nothing (the newest sops included); a missing Go
toolchain names the step and fix."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from core_sync.testing import binaries

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build-control-plane"


def test_second_run_reuses_the_binaries_and_prints_versions() -> None:
    began = time.monotonic()
    result = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - began < 30
    versions = binaries.pinned_versions()
    for name, key in (
        ("kube-apiserver", "KUBERNETES_VERSION"),
        ("etcd", "ETCD_VERSION"),
        ("kubeseal", "KUBESEAL_VERSION"),
        ("sealed-secrets-controller", "KUBESEAL_VERSION"),
        ("sops", "SOPS_VERSION"),
        ("helm", "HELM_VERSION"),
    ):
        assert f"{name} {versions[key]} already built" in result.stderr
    assert f"Kubernetes {versions['KUBERNETES_VERSION']}" in result.stdout
    assert f"etcd Version: {versions['ETCD_VERSION'].lstrip('v')}" in result.stdout
    assert f"kubeseal version: {versions['KUBESEAL_VERSION']}" in result.stdout
    assert f"sops {versions['SOPS_VERSION'].lstrip('v')}" in result.stdout
    assert versions["HELM_VERSION"] in result.stdout.splitlines()


def test_the_newest_sops_is_built_where_the_locator_looks() -> None:
    version = binaries.pinned_versions()["SOPS_VERSION"]
    path = binaries.sops_latest()
    assert path.parent.name == f"sops-{version}"
    args = [str(path), "--version", "--disable-version-check"]
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith(f"sops {version.lstrip('v')}"), result.stdout


def test_missing_go_toolchain_names_the_step_and_the_fix(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": "/usr/bin:/bin", "LOCKSTEP_CACHE": str(tmp_path)}  # no Go on this PATH
    if any(Path(d, "go").exists() for d in ("/usr/bin", "/bin")):
        raise AssertionError("this test needs a PATH without go; /usr/bin/go exists here")
    result = subprocess.run([str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert 'step "check toolchain" failed' in result.stderr and "Install Go" in result.stderr
    assert not (tmp_path / "bin").exists()
