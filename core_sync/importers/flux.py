"""Flux ``Kustomization`` (with the ``GitRepository`` it names) to a Lockstep Application.

Flux polls the source and reconciles the Kustomization on separate intervals; a Lockstep Application has
one, so it takes the shorter of the two: new commits go live as soon as under Flux (drift is then
corrected that often too, and the note says so).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core_sync.importers.common import Conversion

SourceKey = tuple[str, str]  # (namespace, name); namespace "" when the manifest has none
DIRECT_FIELDS = ("timeout", "retryInterval", "suspend", "wait", "serviceAccountName")
NO_EQUIVALENT = (
    "patches",
    "images",
    "components",
    "namePrefix",
    "nameSuffix",
    "commonMetadata",
    "postBuild",
    "healthChecks",
    "healthCheckExprs",
    "force",
    "ignore",
    "deletionPolicy",
)
DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def source_key(doc: Mapping[str, Any]) -> SourceKey:
    meta = doc.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def kustomization(
    doc: Mapping[str, Any], repositories: Mapping[SourceKey, Mapping[str, Any]], where: str, out: Conversion
) -> None:
    spec = doc.get("spec") or {}
    ref = spec.get("sourceRef") or {}
    if ref.get("kind") != "GitRepository":
        out.note(where, f"not converted: sourceRef kind {ref.get('kind')} (Lockstep syncs Git repositories)")
        return
    namespace = ref.get("namespace") or (doc.get("metadata") or {}).get("namespace") or ""
    repository = repositories.get((namespace, ref.get("name", ""))) or repositories.get(
        ("", ref.get("name", ""))
    )
    if repository is None:
        out.note(where, f"not converted: GitRepository {ref.get('name')} is not among the imported files")
        return
    source = _source(repository.get("spec") or {}, where, out)
    if source is None:
        return
    if spec.get("path") not in (None, "", ".", "./"):
        source["path"] = str(spec["path"]).removeprefix("./")
    result: dict[str, Any] = {"source": source}
    if spec.get("targetNamespace"):
        result["destination"] = {"namespace": spec["targetNamespace"]}
    kube_config = (spec.get("kubeConfig") or {}).get("secretRef")
    if kube_config:
        ref_out = {"name": kube_config["name"], "key": kube_config.get("key", "value")}
        result.setdefault("destination", {})["kubeconfigSecretRef"] = ref_out
    result["interval"] = _interval(spec, repository.get("spec") or {}, where, out)
    result["prune"] = bool(spec.get("prune", False))
    result["selfHeal"] = True  # Flux corrects drift at every interval
    for key in DIRECT_FIELDS:
        if key in spec:
            result[key] = spec[key]
    if spec.get("dependsOn"):
        result["dependsOn"] = [
            {k: v for k, v in dep.items() if k in ("name", "namespace")} for dep in spec["dependsOn"]
        ]
    _decryption(spec.get("decryption") or {}, result, where, out)
    for key in NO_EQUIVALENT:
        if key in spec:
            out.note(where, f"spec.{key} has no Lockstep equivalent (dropped)")
    out.add("Application", doc, result, where)


def _decryption(decryption: Mapping[str, Any], result: dict[str, Any], where: str, out: Conversion) -> None:
    """``spec.decryption`` field by field (docs/migrating.md): ``provider: sops`` + ``secretRef.name`` carry
    over; what Flux would do with cloud credentials instead of a Secret's age keys is noted."""
    if not decryption:
        return
    provider = decryption.get("provider")
    if provider != "sops":
        out.note(where, f"spec.decryption.provider {provider!r} has no Lockstep equivalent (only sops)")
        return
    name = (decryption.get("secretRef") or {}).get("name")
    if name:
        result["decryption"] = {"sops": {"secretRef": {"name": name}}}
    else:
        out.note(
            where,
            "spec.decryption has no secretRef (Flux would use its controller's KMS credentials): put the age "
            "identities in a Secret's *.agekey entries and set spec.decryption.sops.secretRef",
        )
    if decryption.get("serviceAccountName"):
        out.note(where, "spec.decryption.serviceAccountName (KMS workload identity): no Lockstep equivalent")


def _source(spec: Mapping[str, Any], where: str, out: Conversion) -> dict[str, Any] | None:
    ref = spec.get("ref") or {}
    if ref.get("semver"):
        out.note(
            where, f"not converted: ref.semver {ref['semver']} (Lockstep follows a branch, tag or commit)"
        )
        return None
    source: dict[str, Any] = {"repoURL": spec.get("url")}
    revision = ref.get("commit") or ref.get("name") or ref.get("tag") or ref.get("branch") or "master"
    source["targetRevision"] = revision
    if spec.get("secretRef"):
        source["secretRef"] = {"name": spec["secretRef"]["name"]}
    for key in ("include", "verify", "ignore", "sparseCheckout", "recurseSubmodules", "proxySecretRef"):
        if key in spec:
            out.note(where, f"GitRepository spec.{key} has no Lockstep equivalent (dropped)")
    return source


def _interval(spec: Mapping[str, Any], repository: Mapping[str, Any], where: str, out: Conversion) -> str:
    own, polled = spec.get("interval"), repository.get("interval")
    if own and polled and seconds(polled) < seconds(own):
        out.note(
            where,
            f"interval {polled} (the GitRepository's; the Kustomization's is {own}): Lockstep has one "
            "interval, so drift is corrected that often too",
        )
        return str(polled)
    return str(own or polled or "1m")


def seconds(duration: str) -> float:
    """A Go/Flux duration (``1m30s``) in seconds."""
    return sum(float(n) * SECONDS[unit] for n, unit in DURATION.findall(duration))
