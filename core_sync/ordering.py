"""Apply order: sync waves, then kinds, then names; prune runs the same order backwards.

Waves come from ``lockstep.dev/sync-wave`` (falling back to Argo CD's ``argocd.argoproj.io/sync-wave``) so a
repository written for Argo CD keeps its order. Within a wave, kinds go in an order that makes every object's
prerequisites exist first (the blend of Argo CD's and Flux's kind tables in reference/gitops-engines.md):
namespaces and CRDs, identities and RBAC, configuration, cluster-wide classes and quotas, storage, services,
workloads, then custom resources, and admission webhooks last so they cannot block the rest of the sync.
Custom resources whose CRD is in the same set are reported so the engine waits for ``Established`` first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core_sync.inventory import ObjectKey, split_api_version

KubeObject = dict[str, Any]

WAVE_ANNOTATION = "lockstep.dev/sync-wave"
ARGO_WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"

_RBAC = "rbac.authorization.k8s.io"
_ADMISSION = "admissionregistration.k8s.io"

# (group, kind) in apply order; kinds on one line share a rank. Unlisted kinds (custom resources and any
# built-in not named here) go between the last "first" rank and the webhooks.
_FIRST: tuple[tuple[tuple[str, str], ...], ...] = (
    (("", "Namespace"),),
    (("apiextensions.k8s.io", "CustomResourceDefinition"),),
    (("", "ServiceAccount"),),
    ((_RBAC, "ClusterRole"), (_RBAC, "Role")),
    ((_RBAC, "ClusterRoleBinding"), (_RBAC, "RoleBinding")),
    (("", "ConfigMap"), ("", "Secret")),
    (("scheduling.k8s.io", "PriorityClass"), ("node.k8s.io", "RuntimeClass")),
    (("", "ResourceQuota"), ("", "LimitRange")),
    (
        ("storage.k8s.io", "StorageClass"),
        ("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
        ("networking.k8s.io", "IngressClass"),
        ("gateway.networking.k8s.io", "GatewayClass"),
    ),
    (("networking.k8s.io", "NetworkPolicy"),),
    (("", "PersistentVolume"),),
    (("", "PersistentVolumeClaim"),),
    (("", "Service"),),
    (("policy", "PodDisruptionBudget"),),
    (("apps", "DaemonSet"),),
    (("", "Pod"),),
    (("", "ReplicationController"), ("apps", "ReplicaSet")),
    (("apps", "Deployment"),),
    (("apps", "StatefulSet"),),
    (("autoscaling", "HorizontalPodAutoscaler"),),
    (("batch", "Job"),),
    (("batch", "CronJob"),),
    (("networking.k8s.io", "Ingress"),),
    (("apiregistration.k8s.io", "APIService"),),
)
_LAST: tuple[tuple[tuple[str, str], ...], ...] = (
    (
        (_ADMISSION, "MutatingWebhookConfiguration"),
        (_ADMISSION, "ValidatingWebhookConfiguration"),
        (_ADMISSION, "ValidatingAdmissionPolicy"),
        (_ADMISSION, "MutatingAdmissionPolicy"),
    ),
    ((_ADMISSION, "ValidatingAdmissionPolicyBinding"), (_ADMISSION, "MutatingAdmissionPolicyBinding")),
)
_UNLISTED_RANK = len(_FIRST)
_RANKS: dict[tuple[str, str], int] = {gk: i for i, row in enumerate(_FIRST) for gk in row} | {
    gk: _UNLISTED_RANK + 1 + i for i, row in enumerate(_LAST) for gk in row
}


class OrderingError(ValueError):
    """An object's ordering annotations are unusable; the message names the object."""


def _describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    parts = [str(obj.get("kind") or "?"), str(meta.get("namespace") or ""), str(meta.get("name") or "?")]
    return "/".join(p for p in parts if p)


def sync_wave(obj: Mapping[str, Any]) -> int:
    """The object's wave: ``lockstep.dev/sync-wave``, else ``argocd.argoproj.io/sync-wave``, else 0."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    for key in (WAVE_ANNOTATION, ARGO_WAVE_ANNOTATION):
        if key in annotations:
            raw = annotations[key]
            try:
                if isinstance(raw, bool):
                    raise ValueError(raw)
                return int(str(raw).strip())
            except ValueError:
                raise OrderingError(f"{_describe(obj)}: annotation {key}={raw!r} is not an integer") from None
    return 0


def _group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    return split_api_version(str(obj.get("apiVersion") or ""))[0], str(obj.get("kind") or "")


def kind_rank(obj: Mapping[str, Any]) -> int:
    """Position of the object's kind within a wave (lower applies first)."""
    return _RANKS.get(_group_kind(obj), _UNLISTED_RANK)


def apply_key(obj: Mapping[str, Any]) -> tuple[int, int, str, str, str, str]:
    """Total order for applying: wave, kind rank, then kind, group, namespace, name for determinism."""
    meta = obj.get("metadata") or {}
    group, kind = _group_kind(obj)
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    return sync_wave(obj), kind_rank(obj), kind, group, namespace, name


def crd_names_by_group_kind(objects: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """``(group, kind)`` served by each CRD in ``objects`` → the CRD's name (``<plural>.<group>``)."""
    out: dict[tuple[str, str], str] = {}
    for obj in objects:
        if _group_kind(obj) != ("apiextensions.k8s.io", "CustomResourceDefinition"):
            continue
        spec = obj.get("spec") or {}
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        name = (obj.get("metadata") or {}).get("name")
        if isinstance(group, str) and isinstance(kind, str) and isinstance(name, str):
            out[(group, kind)] = name
    return out


def crd_dependencies(objects: Sequence[Mapping[str, Any]]) -> dict[ObjectKey, str]:
    """Custom resources in ``objects`` whose CRD is also in ``objects`` → that CRD's name."""
    crds = crd_names_by_group_kind(objects)
    return {ObjectKey.of(o): crds[gk] for o in objects if (gk := _group_kind(o)) in crds}


@dataclass(frozen=True)
class Wave:
    """The objects of one wave in apply order.

    ``awaits_crds`` names CRDs (from this or an earlier wave) that must be ``Established`` before
    ``objects[crd_barrier:]`` are applied; ``crd_barrier`` is ``len(objects)`` when nothing waits.
    """

    number: int
    objects: tuple[KubeObject, ...]
    awaits_crds: tuple[str, ...]
    crd_barrier: int

    def split(self) -> tuple[tuple[KubeObject, ...], tuple[KubeObject, ...]]:
        """Objects to apply before waiting for ``awaits_crds``, and those to apply after."""
        return self.objects[: self.crd_barrier], self.objects[self.crd_barrier :]


def plan_waves(objects: Iterable[KubeObject]) -> list[Wave]:
    """Group objects into waves (ascending) in apply order; stable and independent of input order."""
    items = sorted(objects, key=apply_key)
    crds = crd_names_by_group_kind(items)
    crd_wave = {name: sync_wave(o) for o in items if (name := _crd_name_if_crd(o)) is not None}
    waves: dict[int, list[KubeObject]] = {}
    for obj in items:
        waves.setdefault(sync_wave(obj), []).append(obj)
    out: list[Wave] = []
    for number in sorted(waves):
        members = waves[number]
        awaits: list[str] = []
        barrier = len(members)
        for i, obj in enumerate(members):
            crd = crds.get(_group_kind(obj))
            if crd is not None and crd_wave.get(crd, number) <= number:
                barrier = min(barrier, i)
                if crd not in awaits:
                    awaits.append(crd)
        out.append(Wave(number, tuple(members), tuple(sorted(awaits)), barrier))
    return out


def _crd_name_if_crd(obj: Mapping[str, Any]) -> str | None:
    if _group_kind(obj) != ("apiextensions.k8s.io", "CustomResourceDefinition"):
        return None
    name = (obj.get("metadata") or {}).get("name")
    return name if isinstance(name, str) else None


def prune_order(objects: Iterable[KubeObject]) -> list[KubeObject]:
    """Delete order: the exact reverse of apply order (highest wave first, webhooks before workloads)."""
    return sorted(objects, key=apply_key, reverse=True)
