"""Secrets carry no digest; an unchanged Secret is recognised from the live Secret itself."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from core_sync.masking import DIGEST_ANNOTATION
from core_sync.plan import fingerprinted, provably_unchanged, secret_unchanged

MANAGER = "lockstep"


def _desired(**fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "n", "labels": {"a": "b"}, "annotations": {"t": "x"}},
        "stringData": {"password": "pw"},
        **fields,
    }


def _live(desired: dict[str, Any], managers: tuple[str, ...] = (MANAGER,)) -> dict[str, Any]:
    live = copy.deepcopy(desired)
    live["data"] = {"password": base64.b64encode(b"pw").decode()}
    live.pop("stringData")
    live["type"] = "Opaque"
    live["metadata"].update(
        resourceVersion="7",
        uid="u",
        managedFields=[{"manager": m, "operation": "Apply"} for m in managers],
    )
    return live


def test_a_secret_gets_no_digest_and_a_plain_object_does() -> None:
    secret = fingerprinted(_desired(), None, secret_bearing=True)
    assert DIGEST_ANNOTATION not in secret["metadata"]["annotations"]
    config = fingerprinted({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, None, False)
    assert config["metadata"]["annotations"][DIGEST_ANNOTATION].startswith("v1:")
    written = _desired()
    written["metadata"]["annotations"][DIGEST_ANNOTATION] = "v1:" + "0" * 32 + ":" + "0" * 64
    assert (
        DIGEST_ANNOTATION not in fingerprinted(written, None, secret_bearing=True)["metadata"]["annotations"]
    )


def test_an_unchanged_secret_needs_no_dry_run() -> None:
    desired = _desired()
    assert secret_unchanged(desired, _live(desired), MANAGER)
    assert provably_unchanged(desired, _live(desired), MANAGER)


@pytest.mark.parametrize(
    "change",
    [
        lambda d, live: d.update(stringData={"password": "other"}),
        lambda d, live: live["metadata"]["annotations"].update({DIGEST_ANNOTATION: "v1:old"}),
        lambda d, live: d["metadata"]["labels"].update(c="d"),
        lambda d, live: d.update(type="kubernetes.io/basic-auth"),
        lambda d, live: d.update(immutable=True),
        lambda d, live: d["metadata"].update(finalizers=["x"]),
        lambda d, live: d.update(data={"k": "not base64!"}),
        lambda d, live: live["metadata"]["managedFields"].append(
            {"manager": "kubectl-edit", "operation": "Update"}
        ),
    ],
)
def test_any_difference_falls_back_to_the_dry_run(change: Any) -> None:
    desired = _desired()
    live = _live(desired)
    change(desired, live)
    assert not secret_unchanged(desired, live, MANAGER)


def test_nothing_live_is_never_unchanged() -> None:
    assert not secret_unchanged(_desired(), None, MANAGER)


def test_an_unreachable_or_refused_apply_names_the_object_never_its_data() -> None:
    """A plan holds the rendered Secret; an error about it (an outage mid-apply, an API refusal) and the
    plan's own repr name ``Kind/namespace/name`` only (the operator log once printed the whole plan)."""
    from core_sync.apply import UNREACHABLE_REASON, Cluster
    from core_sync.kube import ApiError, ApiUnreachable, KubeClient, KubeConfig
    from core_sync.plan import ObjectPlan

    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod"},
        "data": {"password": base64.b64encode(b"hunter2-plaintext").decode()},
        "stringData": {"token": "hunter2-plaintext"},
    }
    plans = [ObjectPlan(secret, "create", secret_bearing=True), ObjectPlan(secret, "update", live=secret)]
    assert "hunter2" not in repr(plans[0]) and "aHVudGVy" not in repr(plans[0])
    assert repr(plans[0]) == "ObjectPlan(Secret/prod/db, create)"
    cluster = Cluster(KubeClient(KubeConfig(server="https://127.0.0.1:9")))
    failures: list[BaseException] = [
        ApiUnreachable("https://127.0.0.1:9", "connection refused"),
        ApiError(422, "PATCH", "/api/v1/namespaces/prod/secrets/db", b'{"reason":"Invalid","message":"bad"}'),
    ]

    def fail(plan: ObjectPlan) -> None:
        raise failures[plans.index(plan)]

    try:
        outcomes = cluster.each(plans, fail)
    finally:
        cluster.close()
    errors = [o.error for o in outcomes]
    assert all(e is not None and e.ref == "Secret/prod/db" for e in errors)
    assert errors[0] is not None and errors[0].reason == UNREACHABLE_REASON
    for error in errors:
        assert "hunter2" not in str(error) and "aHVudGVy" not in str(error) and "ObjectPlan" not in str(error)
