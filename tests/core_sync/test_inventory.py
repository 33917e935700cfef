"""Flux-format inventory ids, tracking ids, stamping, and the prune decision with its guards."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core_sync.inventory import (
    MANAGED_BY_LABEL,
    TRACKING_ANNOTATION,
    AppRef,
    InventoryEntry,
    InventoryError,
    ObjectKey,
    PruneGuardError,
    TrackingId,
    check_not_wiping,
    format_id,
    inventory_of,
    parse_id,
    prune_set,
    stale_entries,
    stamp,
    tracking_id,
)

APP = AppRef("team-a", "web")


def obj(
    kind: str, name: str, namespace: str | None = "default", api: str = "v1", **meta: Any
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **meta}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": api, "kind": kind, "metadata": metadata}


class TestInventoryIds:
    def test_flux_examples(self) -> None:
        svc = obj("Service", "podinfo")
        deploy = obj("Deployment", "podinfo", api="apps/v1")
        assert InventoryEntry.of(svc) == InventoryEntry("default_podinfo__Service", "v1")
        assert InventoryEntry.of(deploy) == InventoryEntry("default_podinfo_apps_Deployment", "v1")

    def test_cluster_scoped_has_empty_namespace(self) -> None:
        crd = obj("CustomResourceDefinition", "foos.example.com", None, "apiextensions.k8s.io/v1")
        entry = InventoryEntry.of(crd)
        assert entry.id == "_foos.example.com_apiextensions.k8s.io_CustomResourceDefinition"
        assert entry.key == ObjectKey(
            "apiextensions.k8s.io", "CustomResourceDefinition", "", "foos.example.com"
        )
        assert entry.api_version == "apiextensions.k8s.io/v1"

    def test_rbac_colon_names_round_trip_like_flux(self) -> None:
        role = obj("ClusterRole", "system:aggregate-to-edit", None, "rbac.authorization.k8s.io/v1")
        entry = InventoryEntry.of(role)
        assert entry.id == "_system__aggregate-to-edit_rbac.authorization.k8s.io_ClusterRole"
        assert entry.key.name == "system:aggregate-to-edit"

    def test_core_group_api_version(self) -> None:
        assert InventoryEntry("ns_cm__ConfigMap", "v1").api_version == "v1"

    @pytest.mark.parametrize("bad", ["", "nounderscores", "ns_name_Kind", "ns__apps_Deployment", "a_b_c_d_e"])
    def test_parse_rejects_malformed(self, bad: str) -> None:
        with pytest.raises(InventoryError, match="inventory id"):
            parse_id(bad)

    def test_from_dict_validates(self) -> None:
        assert InventoryEntry.from_dict({"id": "ns_a__ConfigMap", "v": "v1"}).to_dict() == {
            "id": "ns_a__ConfigMap",
            "v": "v1",
        }
        with pytest.raises(InventoryError):
            InventoryEntry.from_dict({"id": "ns_a__ConfigMap"})

    def test_stub_identifies_the_object(self) -> None:
        for o in (obj("Deployment", "web", "prod", "apps/v1"), obj("Namespace", "prod", None)):
            assert InventoryEntry.of(o).stub() == o

    def test_inventory_of_sorted_and_deduplicated(self) -> None:
        objs = [obj("Service", "b"), obj("ConfigMap", "a"), obj("Service", "b")]
        assert [e.id for e in inventory_of(objs)] == ["default_a__ConfigMap", "default_b__Service"]

    def test_object_without_name_is_an_error(self) -> None:
        with pytest.raises(InventoryError, match=r"metadata\.name"):
            InventoryEntry.of({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})

    @given(
        namespace=st.from_regex(r"\A([a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?)?\Z"),
        name=st.from_regex(r"\A[a-z0-9]([-.:a-z0-9]{0,20}[a-z0-9])?\Z"),
        group=st.from_regex(r"\A([a-z0-9]([-.a-z0-9]{0,15}[a-z0-9])?)?\Z"),
        kind=st.from_regex(r"\A[A-Z][A-Za-z0-9]{0,15}\Z"),
    )
    def test_round_trip(self, namespace: str, name: str, group: str, kind: str) -> None:
        key = ObjectKey(group, kind, namespace, name)
        assert parse_id(format_id(key)) == key


class TestTrackingId:
    def test_format(self) -> None:
        deploy = obj("Deployment", "web", "prod", "apps/v1")
        assert tracking_id(APP, deploy) == "team-a/web:apps/Deployment:prod/web"
        ns = obj("Namespace", "prod", None)
        assert tracking_id(APP, ns) == "team-a/web:/Namespace:/prod"

    def test_parse_round_trip_with_colons_in_name(self) -> None:
        role = obj("ClusterRole", "system:controller:x", None, "rbac.authorization.k8s.io/v1")
        text = tracking_id(APP, role)
        parsed = TrackingId.parse(text)
        assert parsed.app == APP
        assert parsed.key == ObjectKey.of(role)
        assert str(parsed) == text

    @pytest.mark.parametrize(
        "bad", ["", "app:apps/Deployment", "ns/app:Deployment:ns/x", "ns/app:apps/D:nsx"]
    )
    def test_parse_rejects_malformed(self, bad: str) -> None:
        with pytest.raises(InventoryError, match="tracking id"):
            TrackingId.parse(bad)

    def test_stamp_returns_a_new_object(self) -> None:
        original = obj("ConfigMap", "c", labels={"app": "x"}, annotations={"note": "keep"})
        stamped = stamp(original, APP)
        assert stamped["metadata"]["annotations"] == {
            "note": "keep",
            TRACKING_ANNOTATION: "team-a/web:/ConfigMap:default/c",
        }
        assert stamped["metadata"]["labels"] == {"app": "x", MANAGED_BY_LABEL: "lockstep"}
        assert original["metadata"]["annotations"] == {"note": "keep"}
        assert original["metadata"]["labels"] == {"app": "x"}

    def test_stamp_without_metadata_maps(self) -> None:
        stamped = stamp({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, APP)
        assert stamped["metadata"]["annotations"][TRACKING_ANNOTATION] == "team-a/web:/ConfigMap:/c"


def live_world(*objects: dict[str, Any]) -> Any:
    by_id = {InventoryEntry.of(o).id: o for o in objects}
    return lambda entry: by_id.get(entry.id)


class TestPruneSet:
    def test_only_previous_minus_desired_owned_objects_are_deleted(self) -> None:
        keep = stamp(obj("ConfigMap", "keep"), APP)
        old = stamp(obj("ConfigMap", "old"), APP)
        previous = inventory_of([keep, old])
        decision = prune_set(previous, [keep], live_world(keep, old), app=APP)
        assert decision.delete == (InventoryEntry.of(old),)
        assert decision.skipped == ()
        assert decision.gone == ()

    def test_api_version_change_is_the_same_object(self) -> None:
        old = stamp(obj("HorizontalPodAutoscaler", "h", api="autoscaling/v1"), APP)
        new = obj("HorizontalPodAutoscaler", "h", api="autoscaling/v2")
        assert stale_entries(inventory_of([old]), [new]) == []

    def test_missing_live_object_is_gone_not_deleted(self) -> None:
        old = stamp(obj("ConfigMap", "old"), APP)
        decision = prune_set(inventory_of([old]), [], live_world(), app=APP)
        assert decision.gone == (InventoryEntry.of(old),)
        assert decision.delete == ()

    def test_another_applications_object_is_never_pruned(self) -> None:
        other = stamp(obj("ConfigMap", "shared"), AppRef("team-b", "api"))
        decision = prune_set(inventory_of([other]), [], live_world(other), app=APP)
        assert decision.delete == ()
        ((entry, reason),) = decision.skipped
        assert entry == InventoryEntry.of(other)
        assert "team-b/api" in reason

    def test_untracked_object_is_skipped(self) -> None:
        bare = obj("ConfigMap", "bare")
        decision = prune_set(inventory_of([bare]), [], live_world(bare), app=APP)
        assert decision.skipped[0][1] == "not tracked by this Application"

    def test_copied_object_with_non_self_referencing_tracking_id_is_skipped(self) -> None:
        original = stamp(obj("ConfigMap", "a"), APP)
        copy = obj("ConfigMap", "b", annotations=original["metadata"]["annotations"])
        decision = prune_set(inventory_of([copy]), [], live_world(copy), app=APP)
        assert decision.delete == ()
        assert "tracked by" in decision.skipped[0][1]

    @pytest.mark.parametrize(
        "meta",
        [
            {"annotations": {"lockstep.dev/prune": "disabled"}},
            {"annotations": {"lockstep.dev/prune": "Disabled"}},
            {"annotations": {"kustomize.toolkit.fluxcd.io/prune": "disabled"}},
            {"labels": {"kustomize.toolkit.fluxcd.io/prune": "disabled"}},
            {"annotations": {"argocd.argoproj.io/sync-options": "ServerSideApply=true, Prune=false"}},
            {"annotations": {"argocd.argoproj.io/sync-options": "Prune=confirm"}},
        ],
    )
    def test_prune_opt_outs(self, meta: dict[str, Any]) -> None:
        live = stamp(obj("PersistentVolumeClaim", "data"), APP)
        for field, values in meta.items():
            live["metadata"].setdefault(field, {}).update(values)
        decision = prune_set(inventory_of([live]), [], live_world(live), app=APP)
        assert decision.delete == ()
        assert decision.skipped[0][1].startswith("pruning disabled")

    def test_prune_enabled_values_do_not_protect(self) -> None:
        live = stamp(obj("ConfigMap", "c", annotations={"lockstep.dev/prune": "enabled"}), APP)
        live["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] = "Prune=true"
        assert prune_set(inventory_of([live]), [], live_world(live), app=APP).delete == (
            InventoryEntry.of(live),
        )

    @pytest.mark.parametrize(
        ("meta", "owner"),
        [
            ({"labels": {"argocd.argoproj.io/instance": "guestbook"}}, "Argo CD"),
            (
                {"annotations": {"argocd.argoproj.io/tracking-id": "guestbook:/ConfigMap:default/c"}},
                "Argo CD",
            ),
            ({"labels": {"kustomize.toolkit.fluxcd.io/name": "apps"}}, "Flux"),
            ({"labels": {"helm.toolkit.fluxcd.io/name": "podinfo"}}, "Flux"),
        ],
    )
    def test_objects_of_other_engines_are_never_pruned(self, meta: dict[str, Any], owner: str) -> None:
        live = stamp(obj("ConfigMap", "c"), APP)  # even if it also carries our tracking id
        for field, values in meta.items():
            live["metadata"].setdefault(field, {}).update(values)
        decision = prune_set(inventory_of([live]), [], live_world(live), app=APP)
        assert decision.delete == ()
        assert decision.skipped[0][1] == f"managed by {owner}"

    def test_mixed_decision(self) -> None:
        desired = [stamp(obj("ConfigMap", "stay"), APP)]
        doomed = stamp(obj("Deployment", "doomed", api="apps/v1"), APP)
        protected = stamp(obj("ConfigMap", "p", annotations={"lockstep.dev/prune": "disabled"}), APP)
        vanished = stamp(obj("Secret", "vanished"), APP)
        previous = inventory_of([*desired, doomed, protected, vanished])
        decision = prune_set(previous, desired, live_world(*desired, doomed, protected), app=APP)
        assert decision.delete == (InventoryEntry.of(doomed),)
        assert [e for e, _ in decision.skipped] == [InventoryEntry.of(protected)]
        assert decision.gone == (InventoryEntry.of(vanished),)


class TestEmptyGuard:
    def test_empty_desired_with_previous_inventory_raises(self) -> None:
        previous = inventory_of([obj("ConfigMap", "a"), obj("ConfigMap", "b")])
        with pytest.raises(PruneGuardError, match=r"team-a/web.*all 2 managed objects"):
            check_not_wiping(previous, [], allow_empty=False, app=APP)

    def test_allowed_explicitly(self) -> None:
        previous = inventory_of([obj("ConfigMap", "a")])
        check_not_wiping(previous, [], allow_empty=True, app=APP)

    def test_non_empty_desired_or_first_sync_passes(self) -> None:
        check_not_wiping([], [], allow_empty=False, app=APP)
        check_not_wiping(
            inventory_of([obj("ConfigMap", "a")]), [obj("ConfigMap", "z")], allow_empty=False, app=APP
        )
