"""Argo CD ``Application``, ``ApplicationSet`` and ``AppProject`` to Lockstep objects.

Argo CD's in-cluster destination (``https://kubernetes.default.svc`` / ``in-cluster``) is Lockstep's local
cluster. An Application aimed at any other literal server is not converted: Lockstep reaches remote
clusters through a kubeconfig Secret it cannot guess, and deploying to the wrong cluster is worse than a
note. In an ApplicationSet template ``{{server}}`` comes from the clusters generator, whose cluster
Secrets carry the kubeconfig, so it becomes ``kubeconfigSecretRef: {name: '{{secretName}}'}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core_sync.importers.common import Conversion, lockstep_metadata

IN_CLUSTER_SERVERS = ("https://kubernetes.default.svc", "https://kubernetes.default.svc/")
SYNC_OPTIONS = ("CreateNamespace=true", "PruneLast=true")
IMPLIED_OPTIONS = ("ServerSideApply=true",)  # Lockstep always applies server-side
GENERATORS = ("clusters", "list", "git", "matrix")
APPLICATIONS_SYNC = ("create-only", "create-update", "create-delete", "sync")
NO_EQUIVALENT_SPEC = ("ignoreDifferences", "info", "revisionHistoryLimit", "sourceHydrator")
NO_EQUIVALENT_SOURCE = ("kustomize", "directory", "plugin", "chart", "ref", "name")
# spec.source.helm fields Lockstep's chart source reads as Argo CD does (docs/helm.md)
HELM_FIELDS = (
    "releaseName",
    "valueFiles",
    "ignoreMissingValueFiles",
    "values",
    "valuesObject",
    "parameters",
    "skipCrds",
    "kubeVersion",
    "apiVersions",
)


def application(doc: Mapping[str, Any], where: str, out: Conversion) -> None:
    """One Argo CD Application to one Lockstep Application (or a note saying why not)."""
    spec = application_spec(doc.get("spec") or {}, where, out, templated=False)
    if spec is None:
        return
    out.add("Application", doc, spec, where)


def application_spec(
    spec: Mapping[str, Any], where: str, out: Conversion, templated: bool
) -> dict[str, Any] | None:
    """An Argo CD Application spec as a Lockstep Application spec; ``None`` when it cannot be converted."""
    source = _source(spec, where, out)
    destination = _destination(spec.get("destination") or {}, where, out, templated)
    if source is None or destination is None:
        return None
    result: dict[str, Any] = {"source": source}
    if destination:
        result["destination"] = destination
    project = spec.get("project")
    if project and project != "default":
        result["project"] = project
    result.update(_sync_policy(spec.get("syncPolicy") or {}, where, out))
    for key in NO_EQUIVALENT_SPEC:
        if key in spec:
            out.note(where, f"spec.{key} has no Lockstep equivalent (dropped)")
    return result


def _source(spec: Mapping[str, Any], where: str, out: Conversion) -> dict[str, Any] | None:
    sources = spec.get("sources") or []
    source = spec.get("source") or (sources[0] if len(sources) == 1 else None)
    if not isinstance(source, Mapping) or not source.get("repoURL"):
        reason = "several sources" if len(sources) > 1 else "no spec.source.repoURL"
        out.note(where, f"not converted: {reason} (Lockstep syncs one Git path per Application)")
        return None
    result: dict[str, Any] = {"repoURL": source["repoURL"]}
    revision = source.get("targetRevision")
    if revision and revision != "HEAD":
        result["targetRevision"] = revision
    if source.get("path") not in (None, "", "."):
        result["path"] = str(source["path"]).removeprefix("./")
    helm = source.get("helm")
    if isinstance(helm, Mapping):
        result["helm"] = {k: v for k, v in helm.items() if k in HELM_FIELDS}
        for key in helm:
            if key not in HELM_FIELDS:
                out.note(where, f"spec.source.helm.{key} has no Lockstep equivalent (dropped)")
    for key in NO_EQUIVALENT_SOURCE:
        if key in source:
            out.note(where, f"spec.source.{key} has no Lockstep equivalent (dropped)")
    return result


def _destination(
    destination: Mapping[str, Any], where: str, out: Conversion, templated: bool
) -> dict[str, Any] | None:
    result: dict[str, Any] = {}
    if destination.get("namespace"):
        result["namespace"] = destination["namespace"]
    server, name = destination.get("server"), destination.get("name")
    if templated and any("{{" in str(v) for v in (server, name) if v):
        result["kubeconfigSecretRef"] = {"name": "{{secretName}}"}
        out.note(
            where, "destination from the clusters generator: kubeconfigSecretRef is the cluster's Secret"
        )
    elif server not in (None, *IN_CLUSTER_SERVERS) or name not in (None, "in-cluster"):
        out.note(
            where,
            f"not converted: destination {server or name} is a remote cluster; register its kubeconfig "
            "Secret and set spec.destination.kubeconfigSecretRef",
        )
        return None
    return result


def _sync_policy(policy: Mapping[str, Any], where: str, out: Conversion) -> dict[str, Any]:
    automated = policy.get("automated")
    result: dict[str, Any] = {}
    if automated is None or (isinstance(automated, Mapping) and automated.get("enabled") is False):
        result["suspend"] = True
        out.note(where, "manual sync in Argo CD: imported suspended (sync with `lockstep sync` or resume)")
        automated = {}
    result["prune"] = bool(automated.get("prune", False))
    result["selfHeal"] = bool(automated.get("selfHeal", False))
    if automated.get("allowEmpty"):
        result["allowEmpty"] = True
    options = []
    for option in policy.get("syncOptions") or ():
        if option in SYNC_OPTIONS:
            options.append(option)
        elif option not in IMPLIED_OPTIONS:
            out.note(where, f"syncOption {option} has no Lockstep equivalent (dropped)")
    if options:
        result["syncOptions"] = options
    backoff = (policy.get("retry") or {}).get("backoff") or {}
    if backoff.get("duration"):
        result["retryInterval"] = backoff["duration"]
    for key in ("managedNamespaceMetadata",):
        if key in policy:
            out.note(where, f"syncPolicy.{key} has no Lockstep equivalent (dropped)")
    return result


def application_set(doc: Mapping[str, Any], where: str, out: Conversion) -> None:
    """An Argo CD ApplicationSet to a Lockstep ApplicationSet (same generators and ``{{param}}`` syntax)."""
    spec = doc.get("spec") or {}
    if spec.get("goTemplate"):
        out.note(where, "not converted: goTemplate sets use Go templates; Lockstep uses {{param}}")
        return
    generators = [g for g in (_generator(g, where, out) for g in spec.get("generators") or ()) if g]
    template = spec.get("template") or {}
    app_spec = application_spec(template.get("spec") or {}, where, out, templated=True)
    if not generators or app_spec is None:
        if not generators:
            out.note(where, "not converted: no generator Lockstep supports")
        return
    template_meta = lockstep_metadata(template.get("metadata") or {}, where, out)
    result_spec: dict[str, Any] = {
        "generators": generators,
        "template": {"metadata": template_meta, "spec": app_spec},
    }
    sync = (spec.get("syncPolicy") or {}).get("applicationsSync")
    if sync in APPLICATIONS_SYNC:
        result_spec["syncPolicy"] = {"applicationsSync": sync}
    out.add("ApplicationSet", doc, result_spec, where)


def _generator(generator: Mapping[str, Any], where: str, out: Conversion) -> dict[str, Any] | None:
    kinds = [k for k in generator if k not in ("selector", "values")]
    kind = kinds[0] if len(kinds) == 1 else None
    if kind not in GENERATORS:
        out.note(where, f"generator {', '.join(kinds) or '?'} has no Lockstep equivalent (dropped)")
        return None
    body = dict(generator[kind] or {})
    if kind == "git" and "files" in body:
        out.note(where, "git files generator has no Lockstep equivalent (dropped)")
        return None
    if kind == "clusters":
        out.note(where, 'clusters generator: label each kubeconfig Secret lockstep.dev/cluster: "true"')
    if kind == "matrix":
        inner = [g for g in (_generator(g, where, out) for g in body.get("generators") or ()) if g]
        if len(inner) != 2:
            out.note(where, "matrix generator needs two supported generators (dropped)")
            return None
        body["generators"] = inner
    return {kind: body}


def app_project(doc: Mapping[str, Any], where: str, out: Conversion) -> None:
    """An Argo CD AppProject to a (cluster-scoped) Lockstep Project with the same field names."""
    spec = doc.get("spec") or {}
    result: dict[str, Any] = {"sourceRepos": list(spec.get("sourceRepos") or [])}
    destinations = []
    for destination in spec.get("destinations") or ():
        server, name = destination.get("server"), destination.get("name")
        if server in IN_CLUSTER_SERVERS or name == "in-cluster" or server == "*" or name == "*":
            cluster = "*" if "*" in (server, name) else "in-cluster"
            destinations.append({"namespace": destination.get("namespace", "*"), "cluster": cluster})
        else:
            out.note(
                where, f"destination {server or name}: use its kubeconfig Secret's name as cluster (dropped)"
            )
    result["destinations"] = destinations
    for key in ("clusterResourceWhitelist", "namespaceResourceWhitelist", "namespaceResourceBlacklist"):
        if key in spec:
            result[key] = [{"group": e.get("group", ""), "kind": e.get("kind", "")} for e in spec[key]]
    for key in ("roles", "syncWindows", "signatureKeys", "orphanedResources", "clusterResourceBlacklist"):
        if key in spec:
            out.note(where, f"spec.{key} has no Lockstep equivalent (dropped)")
    out.add("Project", doc, result, where)
