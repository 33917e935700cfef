"""The Application controller end to end: real git daemon, real API server, real `lockstep operator`."""

from __future__ import annotations

import time

from core_sync.testing import ControlPlane, GitServer
from tests.core_sync.conftest import Apps, Operator, configmap, live, wait_for

CM = "/api/v1/namespaces/{ns}/configmaps/{name}"


def _cm(control_plane: ControlPlane, ns: str, name: str) -> dict | None:  # type: ignore[type-arg]
    return live(control_plane.client, CM.format(ns=ns, name=name))


def test_create_push_prune_and_status(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    url = git_server.create_repo(
        "app", {"deploy/a.yaml": configmap("a", "1"), "deploy/b.yaml": configmap("b", "1")}
    )
    apps.create("web", url, interval="1s")
    app = apps.wait_ready("web")
    status = app["status"]
    assert status["lastAppliedRevision"] == status["lastAttemptedRevision"]
    assert status["observedGeneration"] == app["metadata"]["generation"]
    assert [e["id"] for e in status["inventory"]["entries"]] == [f"{ns}_a__ConfigMap", f"{ns}_b__ConfigMap"]
    assert {(r["name"], r["status"], r["health"]) for r in status["resources"]} == {
        ("a", "Synced", "Current"),
        ("b", "Synced", "Current"),
    }
    a = _cm(control_plane, ns, "a")
    assert a is not None
    assert a["metadata"]["annotations"]["lockstep.dev/tracking-id"] == f"{ns}/web:/ConfigMap:{ns}/a"
    assert a["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "lockstep"
    assert (
        a["metadata"]["annotations"]["test.lockstep.dev/rendered-by"] == "test-marker"
    )  # the plugin stage ran
    assert [m["manager"] for m in a["metadata"]["managedFields"]] == ["lockstep"]

    sha = git_server.commit("app", {"deploy/a.yaml": configmap("a", "2")}, remove=("deploy/b.yaml",))
    apps.wait_ready("web", revision=sha)
    assert _cm(control_plane, ns, "a")["data"] == {"value": "2"}  # type: ignore[index]
    assert _cm(control_plane, ns, "b") is None
    assert [e["id"] for e in apps.get("web")["status"]["inventory"]["entries"]] == [f"{ns}_a__ConfigMap"]
    wait_for(lambda: apps.events("Synced"), 10, "Synced event")
    assert 'lockstep_reconcile_total{result="success"}' in operator.metrics()


def test_drift_is_reverted_within_seconds(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    url = git_server.create_repo("drift", {"deploy/a.yaml": configmap("a", "git")})
    apps.create("drift", url, interval="1h")
    apps.wait_ready("drift")
    path = CM.format(ns=ns, name="a")
    began = time.monotonic()
    control_plane.client.merge_patch(path, {"data": {"value": "edited"}}, fieldManager="kubectl-edit")
    wait_for(lambda: control_plane.client.get(path)["data"]["value"] == "git", 5, "drift reverted")
    assert time.monotonic() - began < 5
    wait_for(lambda: apps.events("DriftCorrected"), 5, "DriftCorrected event")
    # a deleted object comes back too
    control_plane.client.delete(path)
    wait_for(lambda: _cm(control_plane, ns, "a") is not None, 5, "deleted object re-created")


def test_self_heal_off_reports_out_of_sync(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    url = git_server.create_repo("noheal", {"deploy/a.yaml": configmap("a", "git")})
    apps.create("noheal", url, interval="1h", selfHeal=False)
    apps.wait_ready("noheal")
    path = CM.format(ns=ns, name="a")
    control_plane.client.merge_patch(path, {"data": {"value": "edited"}}, fieldManager="kubectl-edit")

    def out_of_sync() -> bool:
        resources = apps.get("noheal")["status"]["resources"]
        return any(r["name"] == "a" and r["status"] == "OutOfSync" for r in resources)

    wait_for(out_of_sync, 10, "OutOfSync reported")
    assert control_plane.client.get(path)["data"]["value"] == "edited"


def test_schema_error_applies_and_prunes_nothing(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    url = git_server.create_repo(
        "bad", {"deploy/a.yaml": configmap("a", "1"), "deploy/b.yaml": configmap("b", "1")}
    )
    apps.create("bad", url, interval="1s")
    good = apps.wait_ready("bad")["status"]["lastAppliedRevision"]
    broken = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: not-a-map\n"
    sha = git_server.commit(
        "bad", {"deploy/a.yaml": configmap("a", "2"), "deploy/c.yaml": broken}, remove=("deploy/b.yaml",)
    )
    cond = apps.wait_failed("bad")
    assert cond["reason"] == "ValidationFailed"
    assert f"ConfigMap/{ns}/c" in cond["message"]
    status = apps.get("bad")["status"]
    assert status["lastAppliedRevision"] == good and status["lastAttemptedRevision"] == sha
    assert _cm(control_plane, ns, "a")["data"] == {"value": "1"}  # type: ignore[index]  # nothing applied
    assert _cm(control_plane, ns, "b") is not None  # nothing pruned
    assert any(c["type"] == "Stalled" and c["status"] == "True" for c in status["conditions"])
    fixed = git_server.commit("bad", {"deploy/c.yaml": configmap("c", "3")})
    apps.wait_ready("bad", revision=fixed)
    assert _cm(control_plane, ns, "b") is None
    assert not any(c["type"] == "Stalled" for c in apps.get("bad")["status"]["conditions"])


def test_failing_render_stage_applies_and_prunes_nothing(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    url = git_server.create_repo(
        "render", {"deploy/a.yaml": configmap("a", "1"), "deploy/b.yaml": configmap("b", "1")}
    )
    apps.create("render", url, interval="1s")
    apps.wait_ready("render")
    git_server.commit(
        "render",
        {
            "deploy/a.yaml": configmap("a", "2"),
            "deploy/c.yaml": configmap("c", "1", **{"test.lockstep.dev/fail": "bad input"}),
        },
        remove=("deploy/b.yaml",),
    )
    cond = apps.wait_failed("render")
    assert cond["reason"] == "RenderFailed"
    assert "ConfigMap/c (deploy/c.yaml)" in cond["message"] and "bad input" in cond["message"]
    assert _cm(control_plane, ns, "a")["data"] == {"value": "1"}  # type: ignore[index]
    assert _cm(control_plane, ns, "b") is not None
    assert _cm(control_plane, ns, "c") is None
    wait_for(lambda: apps.events("SyncFailed"), 5, "SyncFailed event")


def test_git_server_down_keeps_state_and_recovers(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    url = git_server.create_repo("down", {"deploy/a.yaml": configmap("a", "1")})
    apps.create("down", url, interval="1s")
    apps.wait_ready("down")
    git_server.stop()
    try:
        cond = apps.wait_failed("down", timeout=20)
        assert cond["reason"] == "ArtifactFailed"
        assert any(
            c["type"] == "Stalled" and c["status"] == "True" for c in apps.get("down")["status"]["conditions"]
        )
        assert _cm(control_plane, ns, "a") is not None  # last applied state kept
    finally:
        git_server.start()
    sha = git_server.commit("down", {"deploy/a.yaml": configmap("a", "2")})
    apps.wait_ready("down", revision=sha, timeout=40)
    assert _cm(control_plane, ns, "a")["data"] == {"value": "2"}  # type: ignore[index]


def test_two_applications_never_prune_each_other(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    one = git_server.create_repo(
        "one", {"deploy/shared.yaml": configmap("shared", "one"), "deploy/one.yaml": configmap("one", "1")}
    )
    two = git_server.create_repo("two", {"deploy/two.yaml": configmap("two", "2")})
    apps.create("one", one, interval="1s")
    apps.create("two", two, interval="1s")
    apps.wait_ready("one")
    apps.wait_ready("two")
    # "two" takes over "shared", then "one" drops it from Git: "one" must not delete what "two" now owns
    sha_two = git_server.commit("two", {"deploy/shared.yaml": configmap("shared", "two")})
    apps.wait_ready("two", revision=sha_two)
    sha_one = git_server.commit("one", remove=("deploy/shared.yaml",))
    status = apps.wait_ready("one", revision=sha_one)["status"]
    shared = _cm(control_plane, ns, "shared")
    assert shared is not None and shared["data"] == {"value": "two"}
    skipped = [r for r in status["resources"] if r["name"] == "shared"]
    assert skipped and skipped[0]["status"] == "PruneSkipped" and "tracked by" in skipped[0]["message"]
    assert _cm(control_plane, ns, "two") is not None


def test_protected_objects_are_not_pruned(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    url = git_server.create_repo(
        "keep",
        {
            "deploy/keep.yaml": configmap("keep", "1", **{"lockstep.dev/prune": "disabled"}),
            "deploy/go.yaml": configmap("go", "1"),
        },
    )
    apps.create("keep", url, interval="1s")
    apps.wait_ready("keep")
    sha = git_server.commit("keep", remove=("deploy/keep.yaml",))
    apps.wait_ready("keep", revision=sha)
    assert _cm(control_plane, ns, "keep") is not None
    assert _cm(control_plane, ns, "go") is not None


def test_empty_revision_never_prunes_everything(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane
) -> None:
    ns = apps.namespace
    url = git_server.create_repo("empty", {"deploy/a.yaml": configmap("a", "1"), "README.md": "x"})
    apps.create("empty", url, interval="1s")
    apps.wait_ready("empty")
    git_server.commit("empty", {"deploy/.keep": ""}, remove=("deploy/a.yaml",))
    cond = apps.wait_failed("empty")
    assert cond["reason"] == "PruneGuard"
    assert _cm(control_plane, ns, "a") is not None
