"""Projects (Argo CD's AppProject, cluster-scoped so only cluster admins write them): what an Application
naming one may use. Pure: the reconciler loads the Project, these checks say what is refused and why.

Fields (Argo CD's names): ``sourceRepos`` (globs), ``destinations[{namespace, cluster}]`` (globs;
cluster is the Application's ``kubeconfigSecretRef`` name, ``in-cluster`` for the local cluster),
``clusterResourceWhitelist[{group, kind}]`` (cluster-scoped kinds allowed; none by default, as in Argo
CD), ``namespaceResourceWhitelist`` (default all) and ``namespaceResourceBlacklist``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

PROJECTS_PATH = "/apis/lockstep.dev/v1alpha1/projects"
IN_CLUSTER = "in-cluster"
DENIED = "ProjectDenied"


def _glob(value: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(value, p) for p in patterns)


def _kind_listed(group: str, kind: str, entries: Sequence[Mapping[str, Any]]) -> bool:
    return any(
        fnmatchcase(group, str(e.get("group", ""))) and fnmatchcase(kind, str(e.get("kind", "")))
        for e in entries
    )


def check_application(project: Mapping[str, Any], spec: Mapping[str, Any], app_namespace: str) -> list[str]:
    """Why the Application's source or destination is outside ``project`` (empty: allowed)."""
    name = (project.get("metadata") or {}).get("name")
    rules = project.get("spec") or {}
    problems = []
    repo = str((spec.get("source") or {}).get("repoURL", ""))
    if not _glob(repo, rules.get("sourceRepos") or []):
        problems.append(f"project {name} does not allow source repository {repo}")
    destination = spec.get("destination") or {}
    namespace = str(destination.get("namespace") or app_namespace)
    cluster = str((destination.get("kubeconfigSecretRef") or {}).get("name") or IN_CLUSTER)
    allowed = any(
        fnmatchcase(namespace, str(d.get("namespace", "")))
        and fnmatchcase(cluster, str(d.get("cluster", "")))
        for d in rules.get("destinations") or []
    )
    if not allowed:
        problems.append(
            f"project {name} does not allow destination namespace {namespace} on cluster {cluster}"
        )
    return problems


def check_object(project: Mapping[str, Any], obj: Mapping[str, Any]) -> str | None:
    """Why one rendered (placed) object's kind is outside ``project``; a placed object without a
    namespace is cluster-scoped."""
    rules = project.get("spec") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    kind = str(obj.get("kind", ""))
    meta = obj.get("metadata") or {}
    what = f"{kind} {meta.get('namespace', '')}/{meta.get('name')}".replace(" /", " ")
    name = (project.get("metadata") or {}).get("name")
    if not meta.get("namespace"):
        if not _kind_listed(group, kind, rules.get("clusterResourceWhitelist") or []):
            return f"project {name} does not allow cluster-scoped {what}"
        return None
    whitelist = rules.get("namespaceResourceWhitelist")
    if whitelist is not None and not _kind_listed(group, kind, whitelist):
        return f"project {name} does not allow {what}"
    if _kind_listed(group, kind, rules.get("namespaceResourceBlacklist") or []):
        return f"project {name} denies {what}"
    return None
