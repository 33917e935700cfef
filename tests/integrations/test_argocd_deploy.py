"""deploy/argocd: the component builds onto Argo CD's repo-server with real kubectl kustomize, follows Argo
CD's sidecar rules, is accepted by a real API server, and plugin.yaml passes the cmp-server's own checks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from core_sync.testing import ControlPlane, kubectl

ROOT = Path(__file__).parents[2]
COMPONENT = ROOT / "deploy" / "argocd"

# The parts of Argo CD's argocd-repo-server Deployment the patch relies on (volumes var-files and plugins).
REPO_SERVER = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "argocd-repo-server"},
    "spec": {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "argocd-repo-server"}},
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": "argocd-repo-server"}},
            "spec": {
                "containers": [
                    {
                        "name": "argocd-repo-server",
                        "image": "quay.io/argoproj/argocd:v3.2.0",
                        "volumeMounts": [
                            {"name": "var-files", "mountPath": "/var/run/argocd"},
                            {"name": "plugins", "mountPath": "/home/argocd/cmp-server/plugins"},
                        ],
                    }
                ],
                "volumes": [{"name": "var-files", "emptyDir": {}}, {"name": "plugins", "emptyDir": {}}],
            },
        },
    },
}


def _build(tmp_path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    overlay = tmp_path / "argocd"
    overlay.mkdir()
    (overlay / "repo-server.yaml").write_text(yaml.safe_dump(REPO_SERVER))
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {"namespace": "argocd", "resources": ["repo-server.yaml"], "components": ["component"]}
        )
    )
    shutil.copytree(COMPONENT, overlay / "component")  # as a checkout of Lockstep beside Argo CD's
    out = subprocess.run(
        [str(kubectl()), "kustomize", str(overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out.stdout) if d}


def test_sidecar_follows_argo_cd_rules(tmp_path: Path) -> None:
    objects = _build(tmp_path)
    pod = objects[("Deployment", "argocd-repo-server")]["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    assert set(containers) == {"argocd-repo-server", "lockstep-cmp"}
    sidecar = containers["lockstep-cmp"]
    assert sidecar["command"] == ["/var/run/argocd/argocd-cmp-server"]
    assert sidecar["securityContext"]["runAsUser"] == 999 and sidecar["securityContext"]["runAsNonRoot"]
    mounts = {m["mountPath"]: m for m in sidecar["volumeMounts"]}
    assert mounts["/var/run/argocd"]["name"] == "var-files"
    assert mounts["/home/argocd/cmp-server/plugins"]["name"] == "plugins"
    config = mounts["/home/argocd/cmp-server/config/plugin.yaml"]
    assert config["subPath"] == "plugin.yaml"
    assert mounts["/tmp"]["name"] not in {m["name"] for m in containers["argocd-repo-server"]["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[config["name"]]["configMap"]["name"] == "lockstep-cmp-plugin"
    env = {e["name"]: e.get("value") for e in sidecar["env"]}
    assert env["SEALED_SECRETS_CONTROLLER_URL"].endswith("lockstep-sealed-secrets.lockstep-system.svc:8080")
    assert "SOPS_AGE_KEY_FILE" in env
    plugin_cm = objects[("ConfigMap", "lockstep-cmp-plugin")]
    assert plugin_cm["metadata"]["namespace"] == "argocd"
    assert yaml.safe_load(plugin_cm["data"]["plugin.yaml"]) == yaml.safe_load(
        (COMPONENT / "plugin.yaml").read_text()
    )


def test_plugin_yaml_passes_the_cmp_servers_checks() -> None:
    """ValidatePluginConfig's rules, and the socket name the docs promise (<name>-<version>.sock)."""
    plugin = yaml.safe_load((COMPONENT / "plugin.yaml").read_text())
    assert plugin["apiVersion"] == "argoproj.io/v1alpha1" and plugin["kind"] == "ConfigManagementPlugin"
    assert plugin["metadata"]["name"] and plugin["spec"]["generate"]["command"]
    assert plugin["spec"]["discover"]["find"]["command"][:3] == ["lockstep", "argocd", "discover"]
    socket = f"/home/argocd/cmp-server/plugins/{plugin['metadata']['name']}-{plugin['spec']['version']}.sock"
    assert socket.endswith("/lockstep-v1.0.sock") and len(socket.encode()) < 108
    docs = (ROOT / "docs" / "integrations" / "argocd.md").read_text()
    assert "lockstep-v1.0.sock" in docs and "plugin: {name: lockstep-v1.0}" in docs


@pytest.mark.integration
def test_patched_repo_server_is_accepted_by_the_api_server(
    tmp_path: Path, control_plane: ControlPlane
) -> None:
    objects = _build(tmp_path)
    control_plane.client.apply(
        "/api/v1/namespaces/argocd",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}},
        field_manager="test",
    )
    out = subprocess.run(
        [str(kubectl()), "apply", "--server-side", "--dry-run=server", "-f", "-"],
        input=yaml.safe_dump_all(list(objects.values())),
        capture_output=True,
        text=True,
        env=control_plane.env(),
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "deployment.apps/argocd-repo-server serverside-applied (server dry run)" in out.stdout
