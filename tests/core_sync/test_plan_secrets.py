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
