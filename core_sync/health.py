"""kstatus-style health of live objects: pure rules over the JSON form, no cluster access.

The order of checks follows kstatus (reference/gitops-engines.md §3.4): deletion → Terminating; an
unobserved generation → InProgress; ``Reconciling``/``Stalled`` conditions; per-kind rules; a ``Ready``
condition; otherwise Current. kstatus's own test cases run against these rules
(tests/core_sync/test_health_kstatus.py); where Lockstep answers differently it is on purpose, and the
differences are listed in ``KSTATUS_DIFFERENCES`` (the test checks that every listed case still differs and
no other case does). They are Argo CD's stricter choices, because ``spec.wait`` gates later waves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["Current", "InProgress", "Failed", "Terminating", "Unknown"]
# Worst first: aggregate health is the worst member's.
_SEVERITY: dict[str, int] = {"Failed": 4, "Unknown": 3, "Terminating": 2, "InProgress": 1, "Current": 0}


# Case names from kstatus's tests where Lockstep deliberately differs, with the reason.
KSTATUS_DIFFERENCES: dict[str, str] = {
    "podCompletedFailed": "a Pod in phase Failed is Failed, as in Argo CD (Degraded); kstatus calls a "
    "finished Pod Current whatever its outcome, which would let a failed hook Pod pass a wait",
    "podUnschedulable": "an unschedulable Pod stays InProgress, as in Argo CD (Progressing): health is a "
    "pure function without a clock, a node may yet be added by an autoscaler, and spec.wait's timeout "
    "reports it; kstatus turns it Failed 15s after creation",
    "jobInProgress": "a running Job is InProgress until it completes, as in Argo CD; kstatus calls any "
    "started Job Current, which would let a later wave start before the Job's work is done",
    "serviceLBok": "a LoadBalancer Service needs an ingress address, as in Argo CD; kstatus only needs a "
    "spec.clusterIP, which every Service gets at once",
}


@dataclass(frozen=True)
class Health:
    status: Status
    message: str = ""

    @property
    def healthy(self) -> bool:
        return self.status == "Current"


class _Malformed(ValueError):
    """A status field has the wrong type; the object's health is Unknown."""


def _current(msg: str) -> Health:
    return Health("Current", msg)


def _progress(msg: str) -> Health:
    return Health("InProgress", msg)


def _failed(msg: str) -> Health:
    return Health("Failed", msg)


def _int(data: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Malformed(f"{key} is not an integer: {value!r}")
    return value


def _map(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _Malformed(f"{key} is not an object")
    return value


def _conditions(status: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    raw = status.get("conditions") or []
    if not isinstance(raw, list):
        raise _Malformed("status.conditions is not a list")
    return {str(c.get("type")): c for c in raw if isinstance(c, Mapping)}


def _is(conds: Mapping[str, Mapping[str, Any]], ctype: str, value: str = "True") -> bool:
    return str((conds.get(ctype) or {}).get("status")) == value


def _msg(cond: Mapping[str, Any] | None, fallback: str) -> str:
    if not cond:
        return fallback
    return str(cond.get("message") or cond.get("reason") or fallback)


def assess(obj: Mapping[str, Any]) -> Health:
    """The health of one live object."""
    try:
        return _assess(obj)
    except _Malformed as exc:
        return Health("Unknown", f"cannot read status: {exc}")


def _assess(obj: Mapping[str, Any]) -> Health:
    meta = _map(obj, "metadata")
    if meta.get("deletionTimestamp"):
        return Health("Terminating", "being deleted")
    status = _map(obj, "status")
    conds = _conditions(status)
    if "observedGeneration" in status and "generation" in meta:
        observed, generation = _int(status, "observedGeneration"), _int(meta, "generation")
        if observed != generation:
            return _progress(f"generation {generation} not observed yet (observed {observed})")
    if _is(conds, "Stalled"):
        return _failed(_msg(conds["Stalled"], "stalled"))
    if _is(conds, "Reconciling"):
        return _progress(_msg(conds["Reconciling"], "reconciling"))
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    rule = _RULES.get((group, str(obj.get("kind") or "")))
    if rule is not None:
        return rule(_map(obj, "spec"), status, conds)
    if "Ready" in conds:
        ready = conds["Ready"]
        if _is(conds, "Ready"):
            return _current(_msg(ready, "ready"))
        return _progress(_msg(ready, "not ready"))
    return _current("")


Rule = Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Mapping[str, Any]]], Health]


def _deployment(
    spec: Mapping[str, Any], status: Mapping[str, Any], conds: Mapping[str, Mapping[str, Any]]
) -> Health:
    progressing = conds.get("Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return _failed(_msg(progressing, "progress deadline exceeded"))
    want = _int(spec, "replicas", 1)
    have, updated = _int(status, "replicas"), _int(status, "updatedReplicas")
    ready, available = _int(status, "readyReplicas"), _int(status, "availableReplicas")
    if have < want:
        return _progress(f"replicas: {have}/{want}")
    if updated < want:
        return _progress(f"updated: {updated}/{want}")
    if have > want:
        return _progress(f"pending termination: {have - want} extra")
    if available < updated:
        return _progress(f"available: {available}/{updated}")
    if ready < want:
        return _progress(f"ready: {ready}/{want}")
    if "progressDeadlineSeconds" in spec and not (
        _is(conds, "Progressing") and progressing.get("reason") == "NewReplicaSetAvailable"
    ):
        return _progress("rollout not finished")
    if not _is(conds, "Available"):
        return _progress(_msg(conds.get("Available"), "not available"))
    return _current(f"available, replicas: {available}")


def _statefulset(
    spec: Mapping[str, Any], status: Mapping[str, Any], _c: Mapping[str, Mapping[str, Any]]
) -> Health:
    strategy = _map(spec, "updateStrategy")
    if strategy.get("type") == "OnDelete":
        return _current("update strategy OnDelete")
    want = _int(spec, "replicas", 1)
    have, ready = _int(status, "replicas"), _int(status, "readyReplicas")
    if have < want:
        return _progress(f"replicas: {have}/{want}")
    if ready < want:
        return _progress(f"ready: {ready}/{want}")
    if have > want:
        return _progress(f"pending termination: {have - want} extra")
    rolling = _map(strategy, "rollingUpdate")
    if rolling.get("partition") is not None:
        partition = _int(rolling, "partition")
        updated = _int(status, "updatedReplicas")
        if updated < want - partition:
            return _progress(f"partitioned rollout: updated {updated}/{max(want - partition, 0)}")
        return _current(f"partitioned rollout complete: updated {updated}")
    current = _int(status, "currentReplicas")
    if current < want:
        return _progress(f"current: {current}/{want}")
    if status.get("currentRevision") != status.get("updateRevision"):
        return _progress(f"revision {status.get('updateRevision')} rolling out")
    return _current(f"ready, replicas: {ready}")


def _daemonset(
    _s: Mapping[str, Any], status: Mapping[str, Any], _c: Mapping[str, Mapping[str, Any]]
) -> Health:
    if status.get("desiredNumberScheduled") is None:
        return _progress("desired number of pods not computed yet")
    desired = _int(status, "desiredNumberScheduled")
    for key, label in (
        ("currentNumberScheduled", "scheduled"),
        ("updatedNumberScheduled", "updated"),
        ("numberAvailable", "available"),
        ("numberReady", "ready"),
    ):
        value = _int(status, key)
        if value < desired:
            return _progress(f"{label}: {value}/{desired}")
    return _current(f"all {desired} pods ready")


def _replicaset(
    spec: Mapping[str, Any], status: Mapping[str, Any], conds: Mapping[str, Mapping[str, Any]]
) -> Health:
    if _is(conds, "ReplicaFailure"):
        return _progress(_msg(conds["ReplicaFailure"], "replica failure"))
    want = _int(spec, "replicas", 1)
    for key, label in (
        ("fullyLabeledReplicas", "labelled"),
        ("availableReplicas", "available"),
        ("readyReplicas", "ready"),
    ):
        value = _int(status, key)
        if value < want:
            return _progress(f"{label}: {value}/{want}")
    have = _int(status, "replicas")
    if have > want:
        return _progress(f"pending termination: {have - want} extra")
    return _current(f"replicas: {want}")


def _job(
    spec: Mapping[str, Any], status: Mapping[str, Any], conds: Mapping[str, Mapping[str, Any]]
) -> Health:
    for ctype in ("Failed", "FailureTarget"):
        if _is(conds, ctype):
            return _failed(_msg(conds[ctype], "job failed"))
    for ctype in ("Complete", "SuccessCriteriaMet"):
        if _is(conds, ctype):
            return _current(f"completed: {_int(status, 'succeeded')} succeeded")
    # Suspended only when both the spec asks for it and the controller says so (as kstatus): while the two
    # disagree the Job is moving into or out of suspension.
    if spec.get("suspend") is True and _is(conds, "Suspended"):
        return _current("suspended")
    if not status.get("startTime"):
        return _progress("not started")
    return _progress(f"running: {_int(status, 'active')} active, {_int(status, 'succeeded')} succeeded")


def _pvc(_s: Mapping[str, Any], status: Mapping[str, Any], _c: Mapping[str, Mapping[str, Any]]) -> Health:
    phase = status.get("phase")
    if phase == "Bound":
        return _current("bound")
    if phase == "Lost":
        return _failed("claim lost its volume")
    return _progress(f"not bound (phase {phase or 'unset'})")


def _service(
    spec: Mapping[str, Any], status: Mapping[str, Any], _c: Mapping[str, Mapping[str, Any]]
) -> Health:
    if spec.get("type") != "LoadBalancer":
        return _current("")
    ingress = _map(status, "loadBalancer").get("ingress")
    if isinstance(ingress, list) and ingress:
        return _current("load balancer ready")
    return _progress("waiting for a load balancer address")


def _crd(_s: Mapping[str, Any], _st: Mapping[str, Any], conds: Mapping[str, Mapping[str, Any]]) -> Health:
    if _is(conds, "NamesAccepted", "False"):
        return _failed(_msg(conds["NamesAccepted"], "names not accepted"))
    if _is(conds, "Established"):
        return _current("established")
    established = conds.get("Established")
    if established and established.get("status") == "False" and established.get("reason") != "Installing":
        return _failed(_msg(established, "not established"))
    return _progress("installing")


def _pod(_s: Mapping[str, Any], status: Mapping[str, Any], conds: Mapping[str, Mapping[str, Any]]) -> Health:
    phase = status.get("phase")
    if phase == "Succeeded":
        return _current("completed")
    if phase == "Failed":
        return _failed(str(status.get("message") or status.get("reason") or "pod failed"))
    if phase == "Unknown":
        return Health("Unknown", "pod phase Unknown")
    if phase == "Running":
        if _is(conds, "Ready"):
            return _current("running and ready")
        for cs in status.get("containerStatuses") or []:
            if not isinstance(cs, Mapping):
                continue
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") == "CrashLoopBackOff":
                return _failed(f"container {cs.get('name')} is crash-looping")
        return _progress("running, not ready")
    scheduled = conds.get("PodScheduled") or {}
    if scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        return _progress(_msg(scheduled, "unschedulable"))
    return _progress(f"phase {phase or 'unset'}")


_RULES: dict[tuple[str, str], Rule] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("apps", "ReplicaSet"): _replicaset,
    ("batch", "Job"): _job,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "Service"): _service,
    ("", "Pod"): _pod,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
}


def worst(healths: Iterable[Health]) -> Health:
    """The worst of several healths (Failed > Unknown > Terminating > InProgress > Current)."""
    result = Health("Current", "")
    for h in healths:
        if _SEVERITY[h.status] > _SEVERITY[result.status]:
            result = h
    return result


def aggregate(objects: Iterable[Mapping[str, Any]]) -> Health:
    """Health of a set of objects: the worst status, with a message naming the objects that hold it."""
    assessed = [(_name(o), assess(o)) for o in objects]
    if not assessed:
        return _current("no objects")
    top = worst(h for _, h in assessed)
    if top.status == "Current":
        return _current(f"all {len(assessed)} objects current")
    culprits = [
        f"{name}: {h.message}" if h.message else name for name, h in assessed if h.status == top.status
    ]
    shown = "; ".join(culprits[:3]) + (f"; and {len(culprits) - 3} more" if len(culprits) > 3 else "")
    return Health(top.status, f"{len(culprits)}/{len(assessed)} {top.status}: {shown}")


def _name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    parts = [str(obj.get("kind") or "?"), str(meta.get("namespace") or ""), str(meta.get("name") or "?")]
    return "/".join(p for p in parts if p)
