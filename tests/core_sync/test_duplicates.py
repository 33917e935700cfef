"""Two copies of one object are an error naming both files (issue 10, defect 7), also when one copy names
the destination namespace and the other leaves it to the default, and for cluster-scoped kinds whose
namespaces are stripped when placed."""

from __future__ import annotations

from pathlib import Path

import pytest

from core_sync import inventory as inv
from core_sync.apply import Cluster
from core_sync.build import BuildError, build
from core_sync.engine import Engine, SyncFailed, SyncOptions
from core_sync.testing import ControlPlane, GitServer
from tests.core_sync.conftest import run_cli


def cm(name: str, namespace: str | None = None, value: str = "1") -> str:
    ns = f"  namespace: {namespace}\n" if namespace else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{ns}data:\n  v: '{value}'\n"


def role(name: str, namespace: str | None = None) -> str:
    ns = f"  namespace: {namespace}\n" if namespace else ""
    head = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
    return f"{head}metadata:\n  name: {name}\n{ns}rules: []\n"


def test_explicit_and_defaulted_namespace_are_one_object(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(cm("web", value="from-a"))
    (tmp_path / "b.yaml").write_text(cm("web", "shop", value="from-b"))
    with pytest.raises(BuildError) as error:
        build(tmp_path, namespace="shop")
    assert error.value.path == "b.yaml"
    assert error.value.reason == "document 0: ConfigMap/shop/web is also defined in a.yaml (document 0)"


def test_other_namespace_is_another_object(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(cm("web"))
    (tmp_path / "b.yaml").write_text(cm("web", "other"))
    assert len(build(tmp_path, namespace="shop")) == 2


def test_cluster_scoped_copy_with_and_without_namespace(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(role("reader"))
    (tmp_path / "b.yaml").write_text(role("reader", "shop"))
    with pytest.raises(BuildError, match=r"ClusterRole/shop/reader is also defined in a.yaml"):
        build(tmp_path, namespace="shop")


def test_render_cli_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(cm("web"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yaml").write_text(cm("web", "shop"))
    result = run_cli("render", str(tmp_path), "--offline", "-n", "shop")
    assert result.returncode == 1 and result.stdout == "" and "Traceback" not in result.stderr
    assert (
        "sub/b.yaml: document 0: ConfigMap/shop/web is also defined in a.yaml (document 0)" in result.stderr
    )


def test_plan_catches_cluster_scoped_copies_in_two_namespaces(
    control_plane: ControlPlane, namespace: str
) -> None:
    """Only discovery knows ClusterRole is cluster-scoped: both copies become the same object when placed."""
    import yaml

    desired = [
        yaml.safe_load(role("lockstep-dup-reader", "a")),
        yaml.safe_load(role("lockstep-dup-reader", "b")),
    ]
    engine = Engine(Cluster(control_plane.client))
    opts = SyncOptions(app=inv.AppRef(namespace, "dup"), namespace=namespace)
    with pytest.raises(SyncFailed) as failed:
        engine.plan("r1", desired, [], opts)
    assert failed.value.reason == "ValidationFailed"
    assert (
        "ClusterRole.rbac.authorization.k8s.io/lockstep-dup-reader is defined more than once"
        in failed.value.message
    )


def test_sync_applies_nothing_when_copies_collide(
    control_plane: ControlPlane, namespace: str, git_server: GitServer
) -> None:
    url = git_server.create_repo(
        "dup",
        {
            "deploy/a.yaml": cm("web", value="from-a"),
            "deploy/b.yaml": cm("web", namespace, value="from-b"),
            "deploy/c.yaml": cm("other"),
        },
    )
    env = control_plane.env()
    result = run_cli("sync", "--repo", url, "--path", "deploy", "-n", namespace, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        f"deploy/b.yaml: document 0: ConfigMap/{namespace}/web is also defined in deploy/a.yaml"
        in result.stderr
    )
    listed = control_plane.client.get(f"/api/v1/namespaces/{namespace}/configmaps")
    assert not {"web", "other"} & {item["metadata"]["name"] for item in listed["items"]}
