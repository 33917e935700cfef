"""Projects: two teams' Projects; an Application outside its Project is refused and nothing is applied.

The rules are checked directly (pure module), then end to end with the real operator, API server and git
daemon: source repository, destination and kinds, and a Project that does not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from core_sync.projects import check_application, check_object
from tests.core_sync.conftest import Apps, Operator, configmap, live

PROJECTS = "/apis/lockstep.dev/v1alpha1/projects"


def project(name: str, repos: list[str], namespace: str, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "lockstep.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": name},
        "spec": {
            "sourceRepos": repos,
            "destinations": [{"namespace": namespace, "cluster": "in-cluster"}],
            **extra,
        },
    }


def test_rules() -> None:
    team = project(
        "team-a",
        ["git://127.0.0.1:*/team-a-*"],
        "shop-*",
        namespaceResourceBlacklist=[{"kind": "Secret", "group": ""}],
    )
    spec = {
        "source": {"repoURL": "git://127.0.0.1:9418/team-a-web.git"},
        "destination": {"namespace": "shop-web"},
    }
    assert check_application(team, spec, "shop-web") == []
    other_repo = {**spec, "source": {"repoURL": "git://127.0.0.1:9418/team-b-api.git"}}
    assert check_application(team, other_repo, "x") == [
        "project team-a does not allow source repository git://127.0.0.1:9418/team-b-api.git"
    ]
    remote = {**spec, "destination": {"namespace": "shop-web", "kubeconfigSecretRef": {"name": "prod"}}}
    assert check_application(team, remote, "x") == [
        "project team-a does not allow destination namespace shop-web on cluster prod"
    ]
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}
    assert check_object(team, role) == "project team-a does not allow cluster-scoped ClusterRole r"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "shop-web"}}
    assert check_object(team, secret) == "project team-a denies Secret shop-web/s"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop-web"}}
    assert check_object(team, cm) is None
    allowed = project(
        "ops", ["*"], "*", clusterResourceWhitelist=[{"group": "rbac.authorization.k8s.io", "kind": "*"}]
    )
    assert check_object(allowed, role) is None


CLUSTER_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {name}
rules: []
"""


@pytest.mark.integration
def test_two_teams(operator: Operator, apps: Apps, git_server: Any, lockstep_storage: None) -> None:
    client, ns = apps.client, apps.namespace
    url_a = git_server.create_repo(f"{ns}-team-a", {"deploy/cm.yaml": configmap("from-a", "1")})
    url_b = git_server.create_repo(f"{ns}-team-b", {"deploy/cm.yaml": configmap("from-b", "1")})
    url_a_rbac = git_server.create_repo(
        f"{ns}-team-a-rbac",
        {
            "deploy/cm.yaml": configmap("from-a-rbac", "1"),
            "deploy/role.yaml": CLUSTER_ROLE.format(name=f"{ns}-r"),
        },
    )
    team_a, team_b = f"{ns}-team-a", f"{ns}-team-b"
    client.create(PROJECTS, project(team_a, [url_a.replace(f"{ns}-team-a", f"{ns}-team-a*")], ns))
    client.create(PROJECTS, project(team_b, [url_b], f"{ns}-b"))
    try:
        apps.create("a-ok", url_a, project=team_a, interval="1h")
        apps.wait_ready("a-ok")
        assert live(client, f"/api/v1/namespaces/{ns}/configmaps/from-a") is not None

        apps.create("a-foreign-repo", url_b, project=team_a, interval="1h")
        apps.create("b-wrong-namespace", url_b, project=team_b, interval="1h")
        apps.create("a-cluster-kind", url_a_rbac, project=team_a, interval="1h")
        apps.create("no-project", url_a, project=f"{ns}-nobody", interval="1h")
        expected = {
            "a-foreign-repo": f"does not allow source repository {url_b}",
            "b-wrong-namespace": f"does not allow destination namespace {ns} on cluster in-cluster",
            "a-cluster-kind": f"does not allow cluster-scoped ClusterRole {ns}-r",
            "no-project": f"project {ns}-nobody does not exist",
        }
        for name, text in expected.items():
            condition = apps.wait_failed(name)
            assert condition["reason"] == "ProjectDenied" and text in condition["message"], condition
        assert live(client, f"/api/v1/namespaces/{ns}/configmaps/from-b") is None
        assert live(client, f"/api/v1/namespaces/{ns}/configmaps/from-a-rbac") is None
        assert live(client, f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{ns}-r") is None
    finally:
        for name in (team_a, team_b):
            client.delete(f"{PROJECTS}/{name}")
