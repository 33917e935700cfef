"""Every source is confined to its root: `..`, symlinks, kustomization references, special files, size.

The class (issue 10, defect 1): a repository must not make Lockstep read a file outside it, block on a
FIFO, or crash on a symlink loop. Each case is refused with an error naming the file and the reason,
through the library, through `lockstep render` (exit != 0, no traceback), and through a real Git source.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from core_sync.build import BuildError, build
from core_sync.engine import SyncFailed, render_directory
from core_sync.source import GitSource, SourceError
from core_sync.stages import StageContext
from core_sync.testing import ControlPlane, GitServer
from gocompat.limits import MAX_FILE_BYTES
from tests.core_sync.conftest import Apps, Operator, run_cli, write

HOST_SECRET = "host-only-do-not-apply"


def cm(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n"


def outside_tree(tmp_path: Path) -> Path:
    """A directory outside the repository holding a kustomization, a manifest and a secret file."""
    write(tmp_path, "host/kustomization.yaml", "resources: [stolen.yaml]\n")
    write(tmp_path, "host/stolen.yaml", cm("stolen"))
    write(tmp_path, "host/token", HOST_SECRET)
    return tmp_path / "repo"


def refused(root: Path, boundary: Path | None = None) -> BuildError:
    started = time.monotonic()
    with pytest.raises(BuildError) as error:
        build(root, boundary=boundary)
    assert time.monotonic() - started < 5
    assert HOST_SECRET not in str(error.value)
    return error.value


# -- kustomization references -------------------------------------------------------------------------
KUSTOMIZATION_ESCAPES = {
    "resources-dir": "resources:\n  - ../host\n",
    "resources-deep": "resources:\n  - ok/../../host\n",
    "bases": "bases:\n  - ../host\n",
    "components": "components:\n  - ../host\n",
    "resources-file": "resources:\n  - ../host/stolen.yaml\n",
    "patch-path": "resources: [cm.yaml]\npatches:\n  - path: ../host/stolen.yaml\n",
    "patches-strategic": "resources: [cm.yaml]\npatchesStrategicMerge:\n  - ../host/stolen.yaml\n",
    "json6902": (
        "resources: [cm.yaml]\npatchesJson6902:\n  - path: ../host/token\n"
        "    target: {version: v1, kind: ConfigMap, name: a}\n"
    ),
    "configmap-files": "configMapGenerator:\n  - name: x\n    files:\n      - token=../host/token\n",
    "secret-envs": "secretGenerator:\n  - name: x\n    envs:\n      - ../host/token\n",
    "secret-env": "secretGenerator:\n  - name: x\n    env: ../host/token\n",
    "helm-values": "helmCharts:\n  - name: c\n    valuesFile: ../host/token\n",
    "helm-home": "helmGlobals:\n  chartHome: ../host\n",
    "transformers": "transformers:\n  - ../host/stolen.yaml\n",
    "configurations": "configurations:\n  - ../host/token\n",
    "replacements": "replacements:\n  - path: ../host/token\n",
    "openapi": "openapi:\n  path: ../host/token\n",
    "crds": "crds:\n  - ../host/token\n",
}


@pytest.mark.parametrize("case", sorted(KUSTOMIZATION_ESCAPES))
def test_kustomization_reference_leaving_the_repository_is_refused(tmp_path: Path, case: str) -> None:
    repo = outside_tree(tmp_path)
    write(repo, "cm.yaml", cm("a"))
    write(repo, "ok/.keep", "")
    write(repo, "kustomization.yaml", KUSTOMIZATION_ESCAPES[case])
    error = refused(repo)
    assert error.path == "kustomization.yaml"
    assert "leaves the repository" in error.reason
    assert "../host" in error.reason  # the offending reference, as written


def test_escape_in_a_base_the_overlay_pulls_in_is_refused(tmp_path: Path) -> None:
    repo = outside_tree(tmp_path)
    write(repo, "apps/overlays/prod/kustomization.yaml", "resources: [../../base]\n")
    write(repo, "apps/base/kustomization.yaml", "resources: [../../../host]\n")
    error = refused(repo / "apps" / "overlays" / "prod", boundary=repo)
    assert error.path == "apps/base/kustomization.yaml"
    assert "'../../../host' leaves the repository" in error.reason


def test_legitimate_overlay_inside_the_repository_still_builds(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo, "base/cm.yaml", cm("a"))
    write(repo, "base/kustomization.yaml", "resources: [cm.yaml]\n")
    write(repo, "base/env", "A=1\n")
    write(
        repo,
        "prod/kustomization.yaml",
        "resources: [../base]\nnamePrefix: p-\nconfigMapGenerator:\n  - name: g\n    envs: [env]\n",
    )
    write(repo, "prod/env", "B=2\n")
    (repo / "prod" / "cm-link.yaml").symlink_to(Path("..") / "base" / "cm.yaml")  # relative, inside
    built = build(repo / "prod", boundary=repo)
    assert sorted(b.obj["metadata"]["name"] for b in built)[0] == "p-a"


@pytest.mark.parametrize("ref", ["/etc/passwd", "file:///etc", "git::file:///srv/repo.git//deploy"])
def test_absolute_paths_and_file_urls_are_refused(tmp_path: Path, ref: str) -> None:
    write(tmp_path, "kustomization.yaml", f"resources:\n  - {ref}\n")
    error = refused(tmp_path)
    assert error.path == "kustomization.yaml" and ref in error.reason


def test_kustomization_through_a_symlinked_directory_that_escapes(tmp_path: Path) -> None:
    repo = outside_tree(tmp_path)
    write(repo, "kustomization.yaml", "resources: [inner]\n")
    (repo / "inner").symlink_to(Path("..") / "host")
    error = refused(repo)
    assert error.path == "inner" and "outside the repository" in error.reason


# -- plain directories: symlinks, special files, size --------------------------------------------------
def test_relative_symlink_escaping_the_root(tmp_path: Path) -> None:
    repo = outside_tree(tmp_path)
    write(repo, "a.yaml", cm("a"))
    (repo / "evil.yaml").symlink_to(Path("..") / "host" / "stolen.yaml")
    error = refused(repo)
    assert (error.path, error.reason) == ("evil.yaml", "symlink points outside the repository")


def test_absolute_symlink_is_refused_even_when_it_points_inside(tmp_path: Path) -> None:
    write(tmp_path, "real.yaml", cm("a"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "abs.yaml").symlink_to(tmp_path / "real.yaml")
    error = refused(tmp_path)
    assert error.path == "sub/abs.yaml" and "absolute symlink is not allowed" in error.reason


def test_symlink_loop_is_a_clear_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", cm("a"))
    (tmp_path / "loop-a.yaml").symlink_to("loop-b.yaml")
    (tmp_path / "loop-b.yaml").symlink_to("loop-a.yaml")
    error = refused(tmp_path)
    assert error.path == "loop-a.yaml" and error.reason == "symlink loop"


def test_self_symlinked_directory_loop(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", cm("a"))
    (tmp_path / "me").symlink_to("me")
    error = refused(tmp_path)
    assert error.path == "me" and error.reason == "symlink loop"


@pytest.mark.parametrize("name", ["pipe.yaml", "notes/pipe.txt"])
def test_fifo_is_refused_without_blocking(tmp_path: Path, name: str) -> None:
    write(tmp_path, "a.yaml", cm("a"))
    (tmp_path / name).parent.mkdir(exist_ok=True)
    os.mkfifo(tmp_path / name)
    error = refused(tmp_path)
    assert (error.path, error.reason) == (name, "is a FIFO, not a regular file")


def test_fifo_behind_a_kustomization_reference(tmp_path: Path) -> None:
    write(tmp_path, "kustomization.yaml", "configMapGenerator:\n  - name: x\n    files: [in/data]\n")
    (tmp_path / "in").mkdir()
    os.mkfifo(tmp_path / "in" / "data")
    error = refused(tmp_path)
    assert error.path == "in/data" and "FIFO" in error.reason


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    error = refused(tmp_path)
    assert error.path == "big.yaml" and f"over the limit of {MAX_FILE_BYTES} bytes" in error.reason


def test_single_file_root_outside_boundary(tmp_path: Path) -> None:
    repo = outside_tree(tmp_path)
    write(repo, "a.yaml", cm("a"))
    (repo / "link.yaml").symlink_to(Path("..") / "host" / "stolen.yaml")
    error = refused(repo / "link.yaml", boundary=repo)
    assert error.path == "link.yaml" and "outside the repository" in error.reason


# -- local directories through the CLI -----------------------------------------------------------------
def test_render_refuses_an_escaping_kustomization_without_traceback(tmp_path: Path) -> None:
    repo = outside_tree(tmp_path)
    write(repo, "kustomization.yaml", "resources:\n  - ../host\n")
    started = time.monotonic()
    result = run_cli("render", str(repo), "--offline")
    assert time.monotonic() - started < 10
    assert result.returncode != 0 and result.stdout == ""
    assert "Traceback" not in result.stderr and "stolen" not in result.stderr
    assert "kustomization.yaml: resources: '../host' leaves the repository" in result.stderr


def test_render_local_root_is_the_git_work_tree(tmp_path: Path) -> None:
    """`lockstep render overlays/prod` in a checkout may use `../../base`, but not leave the work tree."""
    repo = outside_tree(tmp_path)
    (repo / ".git").mkdir(parents=True)
    write(repo, "base/cm.yaml", cm("a"))
    write(repo, "base/kustomization.yaml", "resources: [cm.yaml]\n")
    write(repo, "overlays/prod/kustomization.yaml", "resources: [../../base]\n")
    ok = run_cli("render", str(repo / "overlays" / "prod"), "--offline")
    assert ok.returncode == 0, ok.stderr
    assert "name: a" in ok.stdout
    write(repo, "overlays/prod/kustomization.yaml", "resources: [../../base, ../../../host]\n")
    bad = run_cli("render", str(repo / "overlays" / "prod"), "--offline")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "overlays/prod/kustomization.yaml: resources: '../../../host' leaves the repository" in bad.stderr


@pytest.mark.parametrize("kind", ["fifo", "loop", "absolute"])
def test_render_cli_special_entries(tmp_path: Path, kind: str) -> None:
    write(tmp_path, "a.yaml", cm("a"))
    entry = tmp_path / "x.yaml"
    if kind == "fifo":
        os.mkfifo(entry)
    elif kind == "loop":
        entry.symlink_to("x.yaml")
    else:
        entry.symlink_to(tmp_path / "a.yaml")
    result = run_cli("render", str(tmp_path), "--offline")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    reason = {"fifo": "is a FIFO", "loop": "symlink loop", "absolute": "absolute symlink is not allowed"}
    assert f"x.yaml: {reason[kind]}" in result.stderr


# -- Git sources -----------------------------------------------------------------------------------------
def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def local_repo(tmp_path: Path, build_tree: object) -> str:
    """A real repository committed with git (symlinks included); its file:// URL."""
    work = tmp_path / "work"
    work.mkdir()
    assert callable(build_tree)
    build_tree(work)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "tree")
    return f"file://{work}"


def test_git_source_with_escaping_kustomization(git_server: GitServer, tmp_path: Path) -> None:
    outside_tree(tmp_path)
    url = git_server.create_repo(
        "app", {"deploy/kustomization.yaml": "resources:\n  - ../../../../../../../../host\n"}
    )
    checkout = GitSource(tmp_path / "cache").fetch(url, "main")
    with pytest.raises(SyncFailed) as failed:
        render_directory(checkout.path("deploy"), StageContext(namespace="n"), [], checkout.root)
    assert failed.value.reason == "BuildFailed"
    assert "deploy/kustomization.yaml: resources: '../../../../../../../../host' leaves the repository" in (
        failed.value.message
    )


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("../../../etc/hostname", "symlink points outside the repository"),
        ("/etc/hostname", "absolute symlink is not allowed"),
    ],
)
def test_git_source_with_bad_symlink_is_refused_at_checkout(tmp_path: Path, target: str, reason: str) -> None:
    def tree(work: Path) -> None:
        write(work, "deploy/a.yaml", cm("a"))
        (work / "deploy" / "link.yaml").symlink_to(target)

    url = local_repo(tmp_path, tree)
    with pytest.raises(SourceError, match=f"deploy/link.yaml: {reason}"):
        GitSource(tmp_path / "cache").fetch(url, "main")


def test_git_source_checkout_follows_link_chains_and_keeps_modes(tmp_path: Path) -> None:
    """A chain of relative links that ends outside is refused like one link; links that stay inside and
    executable files (KRM exec functions) come through as committed."""

    def tree(work: Path) -> None:
        write(work, "deploy/a.yaml", cm("a"))
        write(work, "fn/run.sh", "#!/bin/sh\n")
        (work / "fn" / "run.sh").chmod(0o755)
        (work / "deploy" / "same.yaml").symlink_to("a.yaml")
        (work / "deploy" / "hop.yaml").symlink_to(Path("..") / "fn" / "out.yaml")

    def escaping(work: Path) -> None:
        tree(work)
        (work / "fn" / "out.yaml").symlink_to(Path("..") / ".." / ".." / "etc" / "hostname")

    (tmp_path / "ok").mkdir()
    (tmp_path / "bad").mkdir()
    checkout = GitSource(tmp_path / "cache").fetch(local_repo(tmp_path / "ok", tree), "main")
    assert (checkout.root / "deploy" / "same.yaml").read_text() == cm("a")
    assert os.access(checkout.root / "fn" / "run.sh", os.X_OK)
    with pytest.raises(SourceError, match=r"deploy/hop\.yaml: symlink points outside the repository"):
        GitSource(tmp_path / "cache2").fetch(local_repo(tmp_path / "bad", escaping), "main")


def test_git_source_with_symlink_loop(tmp_path: Path) -> None:
    def tree(work: Path) -> None:
        write(work, "deploy/a.yaml", cm("a"))
        (work / "deploy" / "loop.yaml").symlink_to("loop.yaml")

    checkout = GitSource(tmp_path / "cache").fetch(local_repo(tmp_path, tree), "main")
    with pytest.raises(SyncFailed) as failed:
        render_directory(checkout.path("deploy"), StageContext(namespace="n"), [], checkout.root)
    assert "deploy/loop.yaml: symlink loop" in failed.value.message
    with pytest.raises(SourceError, match="leaves the repository"):
        checkout.path("deploy/../..")
    with pytest.raises(SourceError, match="symlink loop"):
        checkout.path("deploy/loop.yaml")


def test_sync_of_an_escaping_repository_applies_nothing(
    control_plane: ControlPlane, namespace: str, git_server: GitServer, tmp_path: Path
) -> None:
    """The reported defect: `lockstep sync` built `resources: [../..]` and exited 0. Now: exit 1."""
    outside_tree(tmp_path)
    climb = "../" * 12 + str(tmp_path).strip("/") + "/host"
    url = git_server.create_repo(
        "escape",
        {
            "deploy/kustomization.yaml": f"resources:\n  - good.yaml\n  - {climb}\n",
            "deploy/good.yaml": cm("good"),
        },
    )
    env = control_plane.env()
    result = run_cli("sync", "--repo", url, "--path", "deploy", "-n", namespace, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"deploy/kustomization.yaml: resources: '{climb}' leaves the repository" in result.stderr
    by_path = run_cli("sync", "--repo", url, "--path", "deploy/../..", "-n", namespace, env=env)
    assert by_path.returncode == 1 and "Traceback" not in by_path.stderr
    assert "path 'deploy/../..' leaves the repository" in by_path.stderr
    listed = control_plane.client.get(f"/api/v1/namespaces/{namespace}/configmaps")
    assert not {"good", "stolen"} & {item["metadata"]["name"] for item in listed["items"]}


def test_huge_file_behind_a_kustomization_reference(tmp_path: Path) -> None:
    write(tmp_path, "kustomization.yaml", "configMapGenerator:\n  - name: x\n    files: [blob.bin]\n")
    with (tmp_path / "blob.bin").open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    error = refused(tmp_path)
    assert error.path == "kustomization.yaml"
    assert f"'blob.bin' is {MAX_FILE_BYTES + 1} bytes, over the limit" in error.reason


def test_application_path_and_kustomization_escapes_fail_in_status(
    operator: Operator, apps: Apps, control_plane: ControlPlane, git_server: GitServer, tmp_path: Path
) -> None:
    """Through the operator: spec.source.path with `..`, and a kustomization that climbs out."""
    outside_tree(tmp_path)
    climb = "../" * 12 + str(tmp_path).strip("/") + "/host"
    url = git_server.create_repo(
        "escaping-app",
        {"deploy/kustomization.yaml": f"resources:\n  - {climb}\n", "ok/a.yaml": cm("good")},
    )
    apps.create("by-path", url, path="ok/../../..", interval="1h")
    apps.create("by-kustomization", url, path="deploy", interval="1h")
    by_path = apps.wait_failed("by-path", timeout=60)
    assert "leaves the repository" in by_path["message"]
    by_kustomization = apps.wait_failed("by-kustomization", timeout=60)
    assert (
        f"deploy/kustomization.yaml: resources: '{climb}' leaves the repository"
        in by_kustomization["message"]
    )
    listed = control_plane.client.get(f"/api/v1/namespaces/{apps.namespace}/configmaps")
    assert not {"good", "stolen"} & {item["metadata"]["name"] for item in listed["items"]}


def test_hidden_entries_are_not_read_unless_referenced(tmp_path: Path) -> None:
    """A work tree's `.venv` holds absolute symlinks: the build never reads hidden entries, so they pass;
    a kustomization naming one has it checked like any reference."""
    write(tmp_path, "a.yaml", cm("a"))
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to("/usr/bin/python3")
    os.mkfifo(tmp_path / ".pipe")
    assert [b.obj["metadata"]["name"] for b in build(tmp_path)] == ["a"]
    write(tmp_path, "k/kustomization.yaml", "resources: [../.venv/bin/python]\n")
    error = refused(tmp_path)
    assert error.path == "k/kustomization.yaml"
    assert error.reason == "resources: '../.venv/bin/python' leaves the repository"
