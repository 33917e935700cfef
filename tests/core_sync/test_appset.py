"""ApplicationSet expansion (generators, ``{{param}}`` templates, plan) and ``lockstep appset preview``.

The guide's set (a clusters generator selecting ``env: production``) runs through the same ``lockstep
import`` conversion a team would use, then expands against registered cluster Secrets on the real API
server; git directories come from a real git daemon.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from core_sync.appset import cluster
from core_sync.appset.generators import World, expand
from core_sync.appset.plan import SET_LABEL, changes, desired
from core_sync.appset.template import AppSetError
from core_sync.importers.convert import convert
from tests.core_sync.test_import import APPLICATION_SET  # the guide's set, as imported

LOCKSTEP = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "lockstep"


def guide_set(namespace: str = "fleet", uid: str = "") -> dict[str, Any]:
    [appset] = convert([("guide.yaml", yaml.safe_load(APPLICATION_SET))]).objects
    appset["metadata"].update(namespace=namespace, **({"uid": uid} if uid else {}))
    return appset


def cluster_secret(name: str, env: str, server: str) -> dict[str, Any]:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{name}-cluster", "labels": {"lockstep.dev/cluster": "true", "env": env}},
        "data": {
            "name": b64(name),
            "server": b64(server),
            "kubeconfig": b64("apiVersion: v1\nkind: Config\n"),
        },
    }


CLUSTERS = [
    cluster_secret("east", "production", "https://127.0.0.1:6441"),
    cluster_secret("west", "production", "https://127.0.0.1:6442"),
    cluster_secret("lab", "staging", "https://127.0.0.1:6443"),
]


def test_guide_set_makes_one_application_per_production_cluster() -> None:
    apps = desired(guide_set(uid="u-1"), World(clusters=CLUSTERS))
    assert [a["metadata"]["name"] for a in apps] == ["my-app-east", "my-app-west"]
    east = apps[0]
    assert east["spec"]["destination"] == {
        "namespace": "production",
        "kubeconfigSecretRef": {"name": "east-cluster"},
    }
    assert east["metadata"]["labels"] == {SET_LABEL: "my-app-set"}
    owner = east["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "ApplicationSet",
        "my-app-set",
        "u-1",
        True,
    )


def test_unlabelled_secret_is_not_a_cluster() -> None:
    stray = cluster_secret("stray", "production", "https://127.0.0.1:1")
    del stray["metadata"]["labels"]["lockstep.dev/cluster"]
    assert desired(guide_set(), World(clusters=[stray])) == []


def test_list_and_matrix_generators() -> None:
    elements = [{"team": "a", "replicas": 2, "flags": {"debug": True}}, {"team": "b", "replicas": 3}]
    params = expand([{"list": {"elements": elements}}], World())
    assert params[0] == {"team": "a", "replicas": "2", "flags.debug": "true"}
    selector = {"matchExpressions": [{"key": "env", "operator": "In", "values": ["production"]}]}
    matrix = {
        "matrix": {"generators": [{"clusters": {"selector": selector}}, {"list": {"elements": elements}}]}
    }
    combined = expand([matrix], World(clusters=CLUSTERS))
    assert [(p["name"], p["team"]) for p in combined] == [
        ("east", "a"),
        ("east", "b"),
        ("west", "a"),
        ("west", "b"),
    ]
    with pytest.raises(AppSetError, match="exactly two"):
        expand([{"matrix": {"generators": [{"list": {"elements": []}}]}}], World())


def test_bad_templates_and_generators_are_clear_errors() -> None:
    appset = guide_set()
    appset["spec"]["template"]["metadata"]["name"] = "my-app-{{region}}"
    with pytest.raises(AppSetError, match=r"\{\{region\}\} is not a parameter .*name, secretName, server"):
        desired(appset, World(clusters=CLUSTERS))
    appset["spec"]["template"]["metadata"]["name"] = "same"
    with pytest.raises(AppSetError, match="same Application name 'same'"):
        desired(appset, World(clusters=CLUSTERS))
    with pytest.raises(AppSetError, match="'scmProvider' is not supported"):
        expand([{"scmProvider": {}}], World())


def test_policies_update_delete_or_keep() -> None:
    want = desired(guide_set(), World(clusters=CLUSTERS))
    stale = {**want[0], "spec": {**want[0]["spec"], "interval": "9m"}}
    gone = {**want[1], "metadata": {**want[1]["metadata"], "name": "my-app-old"}}
    owned = [stale, gone]
    synced = changes(want, owned, "sync")
    assert [a["metadata"]["name"] for a in synced.create] == ["my-app-west"]
    assert [a["metadata"]["name"] for a in synced.update] == ["my-app-east"]
    assert synced.delete == ["my-app-old"] and synced.keep == []
    kept = changes(want, owned, "create-update")
    assert kept.delete == [] and kept.keep == ["my-app-old"] and len(kept.update) == 1
    only = changes(want, owned, "create-only")
    assert only.update == [] and only.delete == [] and changes(want, want, "sync").empty()


@pytest.mark.integration
def test_git_directories_generator(git_server: Any) -> None:
    url = git_server.create_repo(
        "platform",
        {"apps/web/k.yaml": "a", "apps/api/k.yaml": "b", "apps/legacy/k.yaml": "c", "infra/x/k.yaml": "d"},
    )
    generator = {
        "git": {
            "repoURL": url,
            "revision": "main",
            "directories": [{"path": "apps/*"}, {"path": "apps/legacy", "exclude": True}],
        }
    }
    params = expand([generator], World(directories=cluster.git_directories))
    assert [(p["path"], p["path.basename"], p["path[0]"]) for p in params] == [
        ("apps/api", "api", "apps"),
        ("apps/web", "web", "apps"),
    ]


@pytest.mark.integration
def test_preview_against_registered_clusters(
    control_plane: Any, namespace: str, tmp_path: Path, lockstep_storage: None
) -> None:
    client = control_plane.client
    for secret in CLUSTERS:
        client.create(f"/api/v1/namespaces/{namespace}/secrets", secret)
    appset = guide_set(namespace)
    file = tmp_path / "set.yaml"
    file.write_text(yaml.safe_dump(appset))

    def preview() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LOCKSTEP), "appset", "preview", str(file)],
            capture_output=True,
            text=True,
            timeout=60,
            env=control_plane.env(),
        )

    first = preview()
    assert first.returncode == 1, first.stderr
    assert first.stdout.splitlines() == [
        f"create Application {namespace}/my-app-east",
        f"create Application {namespace}/my-app-west",
    ]
    plan = changes(desired(appset, cluster.world(client, namespace)), cluster.owned(client, appset), "sync")
    cluster.write(client, namespace, plan)
    assert preview().returncode == 0
    client.delete(f"/api/v1/namespaces/{namespace}/secrets/west-cluster")
    after = preview()
    assert after.returncode == 1 and after.stdout.splitlines() == [
        f"delete Application {namespace}/my-app-west"
    ]
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [")
    bad = subprocess.run(
        [str(LOCKSTEP), "appset", "preview", str(broken)],
        capture_output=True,
        text=True,
        env=control_plane.env(),
    )
    assert bad.returncode == 2 and "not valid YAML" in bad.stderr and "Traceback" not in bad.stderr
