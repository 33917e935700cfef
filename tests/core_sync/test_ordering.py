"""Sync waves, kind order within a wave, CRD barriers, and prune order."""

from __future__ import annotations

import random
from typing import Any

import pytest

from core_sync.inventory import ObjectKey
from core_sync.ordering import (
    OrderingError,
    apply_key,
    crd_dependencies,
    kind_rank,
    plan_waves,
    prune_order,
    sync_wave,
)


def obj(
    api: str, kind: str, name: str, namespace: str | None = "default", **annotations: str
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": api, "kind": kind, "metadata": meta}


def crd(group: str, kind: str, plural: str, **annotations: str) -> dict[str, Any]:
    out = obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"{plural}.{group}", None, **annotations)
    out["spec"] = {"group": group, "names": {"kind": kind, "plural": plural}, "scope": "Namespaced"}
    return out


def kinds(objects: Any) -> list[str]:
    return [o["kind"] for o in objects]


class TestSyncWave:
    def test_default_zero(self) -> None:
        assert sync_wave(obj("v1", "ConfigMap", "a")) == 0

    def test_lockstep_annotation_wins_over_argo(self) -> None:
        o = obj(
            "v1", "ConfigMap", "a", **{"lockstep.dev/sync-wave": "-2", "argocd.argoproj.io/sync-wave": "5"}
        )
        assert sync_wave(o) == -2

    def test_argo_annotation_honoured(self) -> None:
        assert sync_wave(obj("v1", "ConfigMap", "a", **{"argocd.argoproj.io/sync-wave": " 3 "})) == 3

    @pytest.mark.parametrize("value", ["one", "1.5", "", "0x10"])
    def test_bad_value_names_the_object(self, value: str) -> None:
        o = obj("apps/v1", "Deployment", "web", "prod", **{"lockstep.dev/sync-wave": value})
        with pytest.raises(OrderingError, match=r"Deployment/prod/web: annotation lockstep.dev/sync-wave="):
            sync_wave(o)

    def test_bad_value_fails_the_whole_plan(self) -> None:
        bad = obj("v1", "ConfigMap", "bad", **{"argocd.argoproj.io/sync-wave": "x"})
        with pytest.raises(OrderingError, match="ConfigMap/default/bad"):
            plan_waves([obj("v1", "ConfigMap", "good"), bad])


class TestKindOrder:
    def test_contract_order(self) -> None:
        """DESIGN.md §3: Namespaces, CRDs, ServiceAccounts/RBAC, ConfigMaps/Secrets, then the rest."""
        objects = [
            obj("apps/v1", "Deployment", "web"),
            obj("v1", "Secret", "s"),
            obj("rbac.authorization.k8s.io/v1", "RoleBinding", "rb"),
            obj("v1", "ConfigMap", "c"),
            obj("rbac.authorization.k8s.io/v1", "Role", "r"),
            obj("v1", "ServiceAccount", "sa"),
            crd("example.com", "Foo", "foos"),
            obj("v1", "Namespace", "default", None),
            obj("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "crb", None),
            obj("rbac.authorization.k8s.io/v1", "ClusterRole", "cr", None),
        ]
        (wave,) = plan_waves(objects)
        assert kinds(wave.objects) == [
            "Namespace",
            "CustomResourceDefinition",
            "ServiceAccount",
            "ClusterRole",
            "Role",
            "ClusterRoleBinding",
            "RoleBinding",
            "ConfigMap",
            "Secret",
            "Deployment",
        ]

    def test_storage_and_services_before_workloads_webhooks_last(self) -> None:
        objects = [
            obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "vw", None),
            obj("example.com/v1", "Foo", "custom"),
            obj("batch/v1", "Job", "migrate"),
            obj("apps/v1", "StatefulSet", "db"),
            obj("apps/v1", "Deployment", "web"),
            obj("v1", "Service", "web"),
            obj("v1", "PersistentVolumeClaim", "data"),
            obj("v1", "PersistentVolume", "pv", None),
            obj("storage.k8s.io/v1", "StorageClass", "fast", None),
            obj("scheduling.k8s.io/v1", "PriorityClass", "high", None),
            obj("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "mw", None),
            obj("networking.k8s.io/v1", "Ingress", "web"),
        ]
        ordered = kinds(plan_waves(objects)[0].objects)
        assert ordered == [
            "PriorityClass",
            "StorageClass",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "Service",
            "Deployment",
            "StatefulSet",
            "Job",
            "Ingress",
            "Foo",
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ]

    def test_kind_order_is_group_aware(self) -> None:
        """A custom resource that happens to be called ``Service`` is not ordered as the core Service."""
        assert kind_rank(obj("v1", "Service", "a")) < kind_rank(obj("apps/v1", "Deployment", "a"))
        assert kind_rank(obj("serving.knative.dev/v1", "Service", "a")) > kind_rank(
            obj("batch/v1", "Job", "a")
        )

    def test_ties_broken_by_namespace_and_name(self) -> None:
        objects = [obj("v1", "ConfigMap", n, ns) for ns, n in [("b", "x"), ("a", "z"), ("a", "y")]]
        ordered = plan_waves(objects)[0].objects
        assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in ordered] == [
            ("a", "y"),
            ("a", "z"),
            ("b", "x"),
        ]


class TestWaves:
    def test_waves_ascending_including_negative(self) -> None:
        objects = [
            obj("v1", "ConfigMap", "late", **{"lockstep.dev/sync-wave": "10"}),
            obj("v1", "ConfigMap", "early", **{"argocd.argoproj.io/sync-wave": "-1"}),
            obj("v1", "ConfigMap", "normal"),
            obj("v1", "Namespace", "late-ns", None, **{"lockstep.dev/sync-wave": "10"}),
        ]
        waves = plan_waves(objects)
        assert [w.number for w in waves] == [-1, 0, 10]
        assert [[o["metadata"]["name"] for o in w.objects] for w in waves] == [
            ["early"],
            ["normal"],
            ["late-ns", "late"],
        ]

    def test_deterministic_regardless_of_input_order(self) -> None:
        objects = [
            obj(api, kind, f"n{i}", **({"lockstep.dev/sync-wave": str(i % 3)} if i % 2 else {}))
            for i, (api, kind) in enumerate(
                [("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("v1", "Service"), ("example.com/v1", "Foo")]
                * 5
            )
        ]
        expected = plan_waves(objects)
        rng = random.Random(7)
        for _ in range(5):
            shuffled = objects[:]
            rng.shuffle(shuffled)
            assert plan_waves(shuffled) == expected

    def test_empty(self) -> None:
        assert plan_waves([]) == []

    def test_prune_order_is_reverse_of_apply_order(self) -> None:
        objects = [
            obj("v1", "Namespace", "ns", None),
            obj("apps/v1", "Deployment", "web"),
            obj("v1", "ConfigMap", "first", **{"lockstep.dev/sync-wave": "-1"}),
            obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "vw", None),
            obj("v1", "ConfigMap", "last", **{"lockstep.dev/sync-wave": "2"}),
        ]
        applied = [o for w in plan_waves(objects) for o in w.objects]
        assert prune_order(objects) == list(reversed(applied))
        assert [o["metadata"]["name"] for o in prune_order(objects)] == ["last", "vw", "web", "ns", "first"]

    def test_apply_key_orders_wave_before_kind(self) -> None:
        ns_late = obj("v1", "Namespace", "n", None, **{"lockstep.dev/sync-wave": "1"})
        deploy = obj("apps/v1", "Deployment", "d")
        assert apply_key(deploy) < apply_key(ns_late)


class TestCrdBarrier:
    def test_custom_resources_wait_for_their_crd_in_the_same_wave(self) -> None:
        foo_crd = crd("example.com", "Foo", "foos")
        foo = obj("example.com/v1", "Foo", "a")
        bar = obj("other.io/v1", "Bar", "b")  # CRD not in the set: already installed, nothing to wait for
        webhook = obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "vw", None)
        (wave,) = plan_waves([webhook, foo, bar, foo_crd, obj("v1", "ConfigMap", "c")])
        assert wave.awaits_crds == ("foos.example.com",)
        before, after = wave.split()
        assert kinds(before) == ["CustomResourceDefinition", "ConfigMap", "Bar"]
        assert kinds(after) == ["Foo", "ValidatingWebhookConfiguration"]

    def test_crd_in_earlier_wave_is_awaited_too(self) -> None:
        foo_crd = crd("example.com", "Foo", "foos", **{"lockstep.dev/sync-wave": "-1"})
        foo = obj("example.com/v1", "Foo", "a")
        first, second = plan_waves([foo, foo_crd])
        assert first.awaits_crds == ()
        assert first.split() == (first.objects, ())
        assert second.awaits_crds == ("foos.example.com",)
        assert second.split() == ((), (foo,))

    def test_no_crds_no_barrier(self) -> None:
        (wave,) = plan_waves([obj("v1", "ConfigMap", "c"), obj("example.com/v1", "Foo", "a")])
        assert wave.awaits_crds == ()
        assert wave.crd_barrier == 2
        assert wave.split()[1] == ()

    def test_crd_dependencies(self) -> None:
        foo_crd = crd("example.com", "Foo", "foos")
        foo = obj("example.com/v1", "Foo", "a", "prod")
        other = obj("example.com/v1", "Other", "o")
        deps = crd_dependencies([foo_crd, foo, other, obj("v1", "ConfigMap", "c")])
        assert deps == {ObjectKey("example.com", "Foo", "prod", "a"): "foos.example.com"}
