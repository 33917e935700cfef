"""`lockstep render`, `lockstep diff` and `lockstep sync` as a user runs them, against the real API server."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import yaml

from core_sync.testing import ControlPlane, GitServer
from tests.core_sync.conftest import configmap, live

SECRET = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ntype: Opaque\nstringData:\n  password: hunter2\n"
)


def lockstep(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core_sync.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_render_masks_secrets_unless_asked(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(configmap("a", "1"))
    (tmp_path / "secret.yaml").write_text(SECRET)
    masked = lockstep("render", str(tmp_path), "--offline")
    assert masked.returncode == 0, masked.stderr
    docs = list(yaml.safe_load_all(masked.stdout))
    assert [d["kind"] for d in docs] == ["ConfigMap", "Secret"]
    assert "hunter2" not in masked.stdout and base64.b64encode(b"hunter2").decode() not in masked.stdout
    shown = lockstep("render", str(tmp_path), "--offline", "--show-secrets")
    assert "hunter2" in shown.stdout


def test_render_reports_bad_manifests_with_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("kind: ConfigMap\nmetadata: {name: x}\n")
    result = lockstep("render", str(tmp_path), "--offline")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "broken.yaml" in result.stderr and "apiVersion" in result.stderr


def test_diff_exit_codes(control_plane: ControlPlane, namespace: str, tmp_path: Path) -> None:
    env = control_plane.env()
    (tmp_path / "cm.yaml").write_text(configmap("a", "1"))
    (tmp_path / "secret.yaml").write_text(SECRET)
    changed = lockstep("diff", str(tmp_path), "-n", namespace, env=env)
    assert changed.returncode == 1, changed.stderr
    assert "+  value: '1'" in changed.stdout or "value: '1'" in changed.stdout
    assert "hunter2" not in changed.stdout and "++++++++" in changed.stdout
    not_git = lockstep("sync", "--repo", str(tmp_path), "-n", namespace, env=env)
    assert not_git.returncode == 1 and "git" in not_git.stderr  # a plain directory is not a repository
    invalid = tmp_path / "bad"
    invalid.mkdir()
    (invalid / "c.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: 5\n")
    error = lockstep("diff", str(invalid), "-n", namespace, env=env)
    assert error.returncode == 2 and f"ConfigMap/{namespace}/c" in error.stderr


def test_sync_once_applies_then_prunes_and_diff_is_clean(
    control_plane: ControlPlane, namespace: str, git_server: GitServer, tmp_path: Path
) -> None:
    env = {**control_plane.env(), "LOCKSTEP_CACHE": str(tmp_path / "cache")}
    url = git_server.create_repo(
        "cli", {"deploy/a.yaml": configmap("a", "1"), "deploy/b.yaml": configmap("b", "1")}
    )
    first = lockstep(
        "sync",
        "--repo",
        url,
        "--ref",
        "main",
        "--path",
        "deploy",
        "-n",
        namespace,
        "--prune",
        "--once",
        env=env,
    )
    assert first.returncode == 0, first.stderr
    assert "2 created" in first.stdout
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", url, str(checkout)], check=True)
    clean = lockstep("diff", str(checkout / "deploy"), "-n", namespace, "--app", f"{namespace}/cli", env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    git_server.commit("cli", remove=("deploy/b.yaml",))
    second = lockstep(
        "sync", "--repo", url, "--ref", "main", "--path", "deploy", "-n", namespace, "--prune", env=env
    )
    assert second.returncode == 0, second.stderr
    assert "1 pruned" in second.stdout
    assert live(control_plane.client, f"/api/v1/namespaces/{namespace}/configmaps/b") is None
    assert live(control_plane.client, f"/api/v1/namespaces/{namespace}/configmaps/a") is not None


def test_noop_resync_makes_no_write_requests(
    control_plane: ControlPlane, namespace: str, git_server: GitServer, tmp_path: Path
) -> None:
    env = {**control_plane.env(), "LOCKSTEP_CACHE": str(tmp_path / "cache")}
    files = {f"deploy/cm-{i}.yaml": configmap(f"cm-{i}", str(i)) for i in range(20)}
    files["deploy/secret.yaml"] = SECRET
    url = git_server.create_repo("noop", files)
    sync = ["sync", "--repo", url, "--path", "deploy", "-n", namespace]
    assert lockstep(*sync, env=env).returncode == 0
    before = control_plane.write_requests(namespaces=[namespace])
    again = lockstep(*sync, env=env)
    assert again.returncode == 0 and "21 unchanged" in again.stdout, again.stdout + again.stderr
    assert control_plane.write_requests(namespaces=[namespace]) == before
    # an edit by someone else is found (dry-run) and corrected with exactly one write
    control_plane.client.merge_patch(
        f"/api/v1/namespaces/{namespace}/configmaps/cm-3",
        {"data": {"value": "x"}},
        fieldManager="kubectl-edit",
    )
    edited = len(control_plane.write_requests(namespaces=[namespace]))
    fixed = lockstep(*sync, env=env)
    assert "1 configured, 20 unchanged" in fixed.stdout, fixed.stdout
    writes = control_plane.write_requests(namespaces=[namespace])[edited:]
    assert [(w["verb"], w["objectRef"]["name"]) for w in writes if w["verb"] == "patch"] == [
        ("patch", "cm-3"),
        ("patch", "cm-3"),
    ]  # drop kubectl-edit's managedFields entry, then apply
