"""crds/ and deploy/ are accepted by a real API server, as `kubectl apply --server-side` would send them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from core_sync.testing import ControlPlane, binaries

ROOT = Path(__file__).resolve().parents[2]


def test_install_manifests_apply_with_kubectl(control_plane: ControlPlane) -> None:
    result = subprocess.run(
        [
            str(binaries.kubectl()),
            "apply",
            "--server-side",
            "--field-manager=install-test",
            "-f",
            str(ROOT / "crds"),
            "-f",
            str(ROOT / "deploy"),
        ],
        env=control_plane.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "deployment.apps/lockstep-operator serverside-applied" in result.stdout
    path = "/apis/apps/v1/namespaces/lockstep-system/deployments/lockstep-operator"
    deployment = control_plane.client.get(path)
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "lockstep"
