"""kstatus-style health rules, one kind at a time, plus aggregation."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from core_sync.health import Health, aggregate, assess, worst
from core_sync.testing import ControlPlane


def cond(ctype: str, status: str, reason: str = "", message: str = "") -> dict[str, str]:
    return {"type": ctype, "status": status, "reason": reason, "message": message}


def make(api: str, kind: str, spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None,
         **meta: Any) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": "x", "namespace": "ns", **meta},
    }
    if spec is not None:
        out["spec"] = spec
    if status is not None:
        out["status"] = status
    return out


def healthy_deployment(replicas: int = 3) -> dict[str, Any]:
    return make(
        "apps/v1",
        "Deployment",
        {"replicas": replicas, "progressDeadlineSeconds": 600},
        {
            "observedGeneration": 2,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "conditions": [
                cond("Available", "True", "MinimumReplicasAvailable"),
                cond("Progressing", "True", "NewReplicaSetAvailable"),
            ],
        },
        generation=2,
    )


class TestGeneric:
    def test_terminating_wins(self) -> None:
        d = healthy_deployment()
        d["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        assert assess(d).status == "Terminating"

    def test_generation_not_observed(self) -> None:
        d = healthy_deployment()
        d["metadata"]["generation"] = 3
        h = assess(d)
        assert h.status == "InProgress"
        assert "generation 3" in h.message

    def test_no_status_is_current(self) -> None:
        assert assess(make("v1", "ConfigMap")) == Health("Current", "")
        assert assess(make("example.com/v1", "Widget", {"size": 1})).status == "Current"

    def test_ready_condition_for_custom_resources(self) -> None:
        ready = make(
            "example.com/v1", "Widget", status={"conditions": [cond("Ready", "True", "Ok", "all good")]}
        )
        assert assess(ready) == Health("Current", "all good")
        waiting = make("example.com/v1", "Widget", status={"conditions": [cond("Ready", "False", "Waiting")]})
        assert assess(waiting) == Health("InProgress", "Waiting")
        unknown = make("example.com/v1", "Widget", status={"conditions": [cond("Ready", "Unknown", "")]})
        assert assess(unknown).status == "InProgress"

    def test_stalled_is_failed_and_reconciling_in_progress(self) -> None:
        stalled = make(
            "example.com/v1",
            "Widget",
            status={
                "conditions": [
                    cond("Ready", "False", "Broken", "bad spec"),
                    cond("Stalled", "True", "Broken"),
                ]
            },
        )
        assert assess(stalled).status == "Failed"
        reconciling = make(
            "example.com/v1",
            "Widget",
            status={
                "conditions": [cond("Ready", "True"), cond("Reconciling", "True", "Progressing", "working")]
            },
        )
        assert assess(reconciling) == Health("InProgress", "working")

    def test_malformed_status_is_unknown(self) -> None:
        bad = healthy_deployment()
        bad["status"]["readyReplicas"] = "three"
        h = assess(bad)
        assert h.status == "Unknown"
        assert "readyReplicas" in h.message
        assert assess(make("v1", "ConfigMap", status={"conditions": "nope"})).status == "Unknown"
        assert (
            assess({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "status": []}).status
            == "Unknown"
        )


class TestDeployment:
    def test_healthy(self) -> None:
        assert assess(healthy_deployment()).status == "Current"

    @pytest.mark.parametrize(
        ("field", "value", "fragment"),
        [
            ("replicas", 2, "replicas: 2/3"),
            ("updatedReplicas", 1, "updated: 1/3"),
            ("replicas", 4, "pending termination"),
            ("availableReplicas", 2, "available: 2/3"),
            ("readyReplicas", 2, "ready: 2/3"),
        ],
    )
    def test_rollout_in_progress(self, field: str, value: int, fragment: str) -> None:
        d = healthy_deployment()
        d["status"][field] = value
        h = assess(d)
        assert h.status == "InProgress"
        assert fragment in h.message

    def test_progress_deadline_exceeded_fails(self) -> None:
        d = healthy_deployment()
        d["status"]["readyReplicas"] = 1
        d["status"]["conditions"][1] = cond("Progressing", "False", "ProgressDeadlineExceeded", "timed out")
        assert assess(d) == Health("Failed", "timed out")

    def test_not_available_condition(self) -> None:
        d = healthy_deployment()
        d["status"]["conditions"][0] = cond("Available", "False", "MinimumReplicasUnavailable")
        assert assess(d).status == "InProgress"

    def test_progressing_reason_only_checked_with_deadline(self) -> None:
        d = healthy_deployment()
        d["status"]["conditions"][1] = cond("Progressing", "True", "ReplicaSetUpdated")
        assert assess(d).status == "InProgress"
        del d["spec"]["progressDeadlineSeconds"]
        assert assess(d).status == "Current"

    def test_default_one_replica_and_fresh_object(self) -> None:
        fresh = make("apps/v1", "Deployment", {"template": {}})
        assert assess(fresh) == Health("InProgress", "replicas: 0/1")

    def test_scaled_to_zero(self) -> None:
        d = healthy_deployment(0)
        assert assess(d).status == "Current"


class TestStatefulSet:
    def healthy(self) -> dict[str, Any]:
        return make(
            "apps/v1",
            "StatefulSet",
            {"replicas": 3},
            {
                "replicas": 3,
                "readyReplicas": 3,
                "currentReplicas": 3,
                "updatedReplicas": 3,
                "currentRevision": "db-1",
                "updateRevision": "db-1",
            },
        )

    def test_healthy(self) -> None:
        assert assess(self.healthy()).status == "Current"

    def test_revision_rolling(self) -> None:
        s = self.healthy()
        s["status"]["updateRevision"] = "db-2"
        assert assess(s) == Health("InProgress", "revision db-2 rolling out")

    def test_not_ready(self) -> None:
        s = self.healthy()
        s["status"]["readyReplicas"] = 1
        assert assess(s).message == "ready: 1/3"

    def test_partition(self) -> None:
        s = self.healthy()
        s["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
        s["status"].update(updateRevision="db-2", updatedReplicas=0)
        assert assess(s).status == "InProgress"
        s["status"]["updatedReplicas"] = 1  # 3 - partition 2 = 1 pod must be updated
        assert assess(s).status == "Current"

    def test_on_delete(self) -> None:
        s = self.healthy()
        s["spec"]["updateStrategy"] = {"type": "OnDelete"}
        s["status"]["updateRevision"] = "db-9"
        assert assess(s).status == "Current"


class TestDaemonSet:
    def test_rules(self) -> None:
        numbers = {
            "desiredNumberScheduled": 2,
            "currentNumberScheduled": 2,
            "updatedNumberScheduled": 2,
            "numberAvailable": 2,
            "numberReady": 2,
        }
        ds = make("apps/v1", "DaemonSet", {}, dict(numbers))
        assert assess(ds).status == "Current"
        for key in list(numbers)[1:]:
            lagging = copy.deepcopy(ds)
            lagging["status"][key] = 1
            assert assess(lagging).status == "InProgress", key
        assert assess(make("apps/v1", "DaemonSet", {}, {})).status == "InProgress"


class TestReplicaSet:
    def test_rules(self) -> None:
        rs = make(
            "apps/v1",
            "ReplicaSet",
            {"replicas": 2},
            {"replicas": 2, "fullyLabeledReplicas": 2, "availableReplicas": 2, "readyReplicas": 2},
        )
        assert assess(rs).status == "Current"
        rs["status"]["readyReplicas"] = 1
        assert assess(rs) == Health("InProgress", "ready: 1/2")
        rs["status"]["conditions"] = [cond("ReplicaFailure", "True", "FailedCreate", "quota exceeded")]
        assert assess(rs) == Health("InProgress", "quota exceeded")


class TestJob:
    def test_complete(self) -> None:
        job = make("batch/v1", "Job", {}, {"succeeded": 1, "conditions": [cond("Complete", "True")]})
        assert assess(job).status == "Current"

    def test_failed(self) -> None:
        job = make(
            "batch/v1",
            "Job",
            {},
            {"conditions": [cond("Failed", "True", "BackoffLimitExceeded", "too many")]},
        )
        assert assess(job) == Health("Failed", "too many")

    def test_not_started_and_running(self) -> None:
        assert assess(make("batch/v1", "Job", {}, {})).message == "not started"
        running = make("batch/v1", "Job", {}, {"startTime": "2026-01-01T00:00:00Z", "active": 1})
        assert assess(running) == Health("InProgress", "running: 1 active, 0 succeeded")

    def test_suspended_once_the_controller_says_so(self) -> None:
        suspended = {"conditions": [{"type": "Suspended", "status": "True"}]}
        assert assess(make("batch/v1", "Job", {"suspend": True}, suspended)).status == "Current"

    def test_suspend_not_yet_acknowledged_is_in_progress(self) -> None:
        assert assess(make("batch/v1", "Job", {"suspend": True}, {})).status == "InProgress"


class TestPersistentVolumeClaim:
    @pytest.mark.parametrize(("phase", "status"), [("Bound", "Current"), ("Pending", "InProgress"),
                                                   (None, "InProgress"), ("Lost", "Failed")])  # fmt: skip
    def test_phase(self, phase: str | None, status: str) -> None:
        pvc = make("v1", "PersistentVolumeClaim", {}, {"phase": phase} if phase else {})
        assert assess(pvc).status == status


class TestService:
    def test_cluster_ip_is_current(self) -> None:
        assert assess(make("v1", "Service", {"type": "ClusterIP"}, {})).status == "Current"
        assert assess(make("v1", "Service", {})).status == "Current"

    def test_load_balancer_needs_ingress(self) -> None:
        svc = make("v1", "Service", {"type": "LoadBalancer"}, {"loadBalancer": {}})
        assert assess(svc).status == "InProgress"
        svc["status"]["loadBalancer"]["ingress"] = [{"ip": "192.0.2.1"}]
        assert assess(svc).status == "Current"


class TestCustomResourceDefinition:
    def crd(self, *conditions: dict[str, str]) -> dict[str, Any]:
        return make(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", {}, {"conditions": list(conditions)}
        )

    def test_established(self) -> None:
        assert (
            assess(self.crd(cond("NamesAccepted", "True"), cond("Established", "True"))).status == "Current"
        )

    def test_names_not_accepted_fails(self) -> None:
        h = assess(self.crd(cond("NamesAccepted", "False", "MultipleNamesNotAllowed", "conflict")))
        assert h == Health("Failed", "conflict")

    def test_installing(self) -> None:
        assert assess(self.crd(cond("Established", "False", "Installing"))).status == "InProgress"
        assert assess(self.crd()).status == "InProgress"

    def test_not_established_for_another_reason_fails(self) -> None:
        assert assess(self.crd(cond("Established", "False", "Broken", "nope"))) == Health("Failed", "nope")


class TestPod:
    def pod(self, phase: str, *conditions: dict[str, str], **extra: Any) -> dict[str, Any]:
        return make("v1", "Pod", {}, {"phase": phase, "conditions": list(conditions), **extra})

    def test_phases(self) -> None:
        assert assess(self.pod("Succeeded")).status == "Current"
        assert assess(self.pod("Failed", message="OOMKilled")) == Health("Failed", "OOMKilled")
        assert assess(self.pod("Running", cond("Ready", "True"))).status == "Current"
        assert assess(self.pod("Running", cond("Ready", "False"))).status == "InProgress"
        assert assess(self.pod("Pending")).status == "InProgress"
        assert assess(self.pod("Unknown")).status == "Unknown"

    def test_crash_loop_fails(self) -> None:
        statuses = [{"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]
        h = assess(self.pod("Running", cond("Ready", "False"), containerStatuses=statuses))
        assert h == Health("Failed", "container app is crash-looping")

    def test_unschedulable(self) -> None:
        h = assess(self.pod("Pending", cond("PodScheduled", "False", "Unschedulable", "0/1 nodes available")))
        assert h == Health("InProgress", "0/1 nodes available")


class TestAggregate:
    def test_worst_order(self) -> None:
        order = ["Current", "InProgress", "Terminating", "Unknown", "Failed"]
        for i, better in enumerate(order):
            for worse in order[i:]:
                assert worst([Health(better), Health(worse)]).status == worse  # type: ignore[arg-type]
                assert worst([Health(worse), Health(better)]).status == worse  # type: ignore[arg-type]

    def test_empty_set(self) -> None:
        assert aggregate([]) == Health("Current", "no objects")

    def test_all_current(self) -> None:
        assert aggregate([healthy_deployment(), make("v1", "ConfigMap")]) == Health(
            "Current", "all 2 objects current"
        )

    def test_names_the_culprits(self) -> None:
        failing = make("batch/v1", "Job", {}, {"conditions": [cond("Failed", "True", "", "backoff")]})
        failing["metadata"]["name"] = "migrate"
        waiting = make("v1", "PersistentVolumeClaim", {}, {"phase": "Pending"})
        h = aggregate([healthy_deployment(), waiting, failing])
        assert h == Health("Failed", "1/3 Failed: Job/ns/migrate: backoff")

    def test_many_culprits_are_summarised(self) -> None:
        pvcs = [make("v1", "PersistentVolumeClaim", {}, {}, name=f"p{i}") for i in range(5)]
        h = aggregate(pvcs)
        assert h.status == "InProgress"
        assert h.message.startswith("5/5 InProgress: PersistentVolumeClaim/ns/p0")
        assert h.message.endswith("and 2 more")


@pytest.mark.integration
class TestAgainstTheApiServer:
    """The rules on real objects: server defaults (progressDeadlineSeconds, generation), status patches."""

    def test_deployment_lifecycle(self, control_plane: ControlPlane, namespace: str) -> None:
        client = control_plane.client
        base = f"/apis/apps/v1/namespaces/{namespace}/deployments"
        labels = {"app": "web"}
        body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                },
            },
        }
        created = client.create(base, body)
        assert created["spec"]["progressDeadlineSeconds"] == 600  # defaulted: the Progressing rule applies
        assert assess(created) == Health("InProgress", "replicas: 0/2")

        status = {
            "observedGeneration": 1,
            "replicas": 2,
            "updatedReplicas": 2,
            "readyReplicas": 2,
            "availableReplicas": 2,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True",
                    "reason": "MinimumReplicasAvailable",
                    "message": "ok",
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable",
                    "message": "done",
                },
            ],
        }
        live = client.merge_patch(f"{base}/web/status", {"status": status})
        assert assess(live).status == "Current"

        scaled = client.merge_patch(f"{base}/web", {"spec": {"replicas": 3}})
        assert scaled["metadata"]["generation"] == 2
        assert assess(scaled) == Health("InProgress", "generation 2 not observed yet (observed 1)")

        stuck = dict(status, observedGeneration=2)
        stuck["conditions"] = [
            status["conditions"][0],
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": "slow",
            },
        ]
        live = client.merge_patch(f"{base}/web/status", {"status": stuck})
        assert assess(live) == Health("Failed", "slow")

    def test_crd_becomes_established(self, control_plane: ControlPlane, namespace: str) -> None:
        client = control_plane.client
        group = f"{namespace}.health.example.com"
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"widgets.{group}"},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                        "subresources": {"status": {}},
                    }
                ],
            },
        }
        path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        client.create(path, crd)
        try:
            deadline = time.monotonic() + 30
            health = assess(client.get(f"{path}/widgets.{group}"))
            while health.status != "Current" and time.monotonic() < deadline:
                time.sleep(0.2)
                health = assess(client.get(f"{path}/widgets.{group}"))
            assert health == Health("Current", "established")

            widgets = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
            widget = client.create(
                widgets, {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w"}}
            )
            assert assess(widget).status == "Current"  # no status at all
            ready = {
                "type": "Ready",
                "status": "False",
                "reason": "Waiting",
                "message": "waiting for backend",
            }
            live = client.merge_patch(f"{widgets}/w/status", {"status": {"conditions": [ready]}})
            assert assess(live) == Health("InProgress", "waiting for backend")
            stalled = {"type": "Stalled", "status": "True", "reason": "BadSpec", "message": "bad spec"}
            live = client.merge_patch(f"{widgets}/w/status", {"status": {"conditions": [ready, stalled]}})
            assert assess(live) == Health("Failed", "bad spec")
        finally:
            client.delete(f"{path}/widgets.{group}")

    def test_service_pvc_and_terminating(self, control_plane: ControlPlane, namespace: str) -> None:
        client = control_plane.client
        services = f"/api/v1/namespaces/{namespace}/services"
        svc = client.create(
            services,
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "lb"},
                "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            },
        )
        assert svc["spec"]["clusterIP"]
        assert assess(svc) == Health("InProgress", "waiting for a load balancer address")
        live = client.merge_patch(
            f"{services}/lb/status", {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.7"}]}}}
        )
        assert assess(live) == Health("Current", "load balancer ready")

        claims = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
        pvc = client.create(
            claims,
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            },
        )
        assert assess(pvc).status == "InProgress"
        live = client.merge_patch(f"{claims}/data/status", {"status": {"phase": "Bound"}})
        assert assess(live) == Health("Current", "bound")

        maps = f"/api/v1/namespaces/{namespace}/configmaps"
        client.create(
            maps,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "held", "finalizers": ["example.com/hold"]},
            },
        )
        client.delete(f"{maps}/held")
        assert assess(client.get(f"{maps}/held")) == Health("Terminating", "being deleted")
        client.merge_patch(f"{maps}/held", {"metadata": {"finalizers": None}})
