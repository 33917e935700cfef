"""Masked Secret diffs: keys that changed are visible, values never are."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import yaml

from core_sync.masking import Masker, mask_secret, masked_diff, normalize_for_diff, to_yaml

PLAIN = "hunter2-very-secret"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(
    data: dict[str, str] | None = None, string_data: dict[str, str] | None = None, **meta: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod", **meta},
        "type": "Opaque",
    }
    if data is not None:
        out["data"] = data
    if string_data is not None:
        out["stringData"] = string_data
    return out


def live(obj: dict[str, Any]) -> dict[str, Any]:
    """What the API server hands back: server fields added."""
    out = normalize_for_diff(obj)  # folds stringData like the server does
    out["metadata"].update(
        uid="0f1c-uuid",
        resourceVersion="12345",
        creationTimestamp="2026-01-01T00:00:00Z",
        generation=1,
        managedFields=[{"manager": "lockstep", "operation": "Apply"}],
        annotations={"kubectl.kubernetes.io/last-applied-configuration": yaml.safe_dump(obj)},
    )
    out["status"] = {"anything": True}
    return out


def forbidden_fragments(value: str) -> list[str]:
    raw = value.encode()
    return [
        value,
        b64(value),
        hashlib.sha256(raw).hexdigest(),
        hashlib.sha1(raw).hexdigest(),  # noqa: S324 - looking for it, not using it
        hashlib.md5(raw).hexdigest(),  # noqa: S324
    ]


def assert_leaks_nothing(text: str, *values: str) -> None:
    for value in values:
        for fragment in forbidden_fragments(value):
            assert fragment not in text


class TestNormalize:
    def test_strips_server_fields(self) -> None:
        cm = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "c",
                "uid": "u",
                "resourceVersion": "1",
                "creationTimestamp": "t",
                "generation": 3,
                "managedFields": [],
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                "labels": {},
            },
            "data": {"k": "v"},
            "status": {"x": 1},
        }
        assert normalize_for_diff(cm) == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                                          "data": {"k": "v"}}  # fmt: skip
        assert "uid" in cm["metadata"]  # the input is untouched

    def test_keeps_user_annotations(self) -> None:
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {"a": "b"}}}
        assert normalize_for_diff(cm)["metadata"]["annotations"] == {"a": "b"}

    def test_folds_string_data_into_data(self) -> None:
        s = normalize_for_diff(secret({"a": b64("1")}, {"b": "2", "a": "override"}))
        assert "stringData" not in s
        assert s["data"] == {"a": b64("override"), "b": b64("2")}


class TestMaskSecret:
    def test_values_masked_keys_kept(self) -> None:
        s = secret({"password": b64(PLAIN), "user": b64("admin")}, {"token": "tok-123456"})
        masked = mask_secret(s)
        assert set(masked["data"]) == {"password", "user"}
        assert set(masked["stringData"]) == {"token"}
        assert all(set(v) == {"+"} for v in [*masked["data"].values(), *masked["stringData"].values()])
        assert_leaks_nothing(to_yaml(masked), PLAIN, "admin", "tok-123456")
        assert s["data"]["password"] == b64(PLAIN)  # input untouched

    def test_equal_values_mask_equally_different_values_differently(self) -> None:
        masked = mask_secret(secret({"a": b64("same"), "b": b64("same"), "c": b64("other")}))
        assert masked["data"]["a"] == masked["data"]["b"]
        assert masked["data"]["a"] != masked["data"]["c"]

    def test_last_applied_annotation_is_masked(self) -> None:
        s = secret({"password": b64(PLAIN)})
        s["metadata"]["annotations"] = {
            "kubectl.kubernetes.io/last-applied-configuration": yaml.safe_dump(s),
            "note": "visible",
        }
        masked = mask_secret(s)
        assert masked["metadata"]["annotations"]["note"] == "visible"
        assert_leaks_nothing(to_yaml(masked), PLAIN)

    def test_non_secrets_pass_through(self) -> None:
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": PLAIN}}
        assert mask_secret(cm) == cm
        assert mask_secret(cm) is not cm

    def test_masks_carry_nothing_of_the_value(self) -> None:
        """A mask depends only on the order values were seen in, not on the value or its length."""
        a, b = Masker(), Masker()
        assert a.mask(b"x") == b.mask(b"a much longer value entirely")
        assert a.mask(b"y") == b.mask(b"z")


class TestMaskedDiff:
    def test_unchanged_secret_has_no_diff_even_against_live_server_form(self) -> None:
        desired = secret(string_data={"password": PLAIN}, labels={"app": "db"})
        assert masked_diff(live(desired), desired) == ""

    def test_changed_key_is_visible_value_is_not(self) -> None:
        old = secret({"password": b64(PLAIN), "user": b64("admin")})
        new = secret({"password": b64("new-secret-value-42"), "user": b64("admin")})
        diff = masked_diff(live(old), new)
        assert_leaks_nothing(diff, PLAIN, "new-secret-value-42", "admin")
        changed = [
            line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("---", "+++"))
        ]
        assert len(changed) == 2
        assert changed[0].startswith("-  password: ")
        assert changed[1].startswith("+  password: ")
        assert changed[0][1:] != changed[1][1:]
        assert "user" not in "".join(changed)

    def test_added_and_removed_keys(self) -> None:
        old = secret({"a": b64("kept-value"), "gone": b64("removed-value")})
        new = secret({"a": b64("kept-value"), "added": b64("added-value")})
        diff = masked_diff(old, new)
        assert "\n-  gone: " in diff
        assert "\n+  added: " in diff
        assert "\n-  a: " not in diff
        assert_leaks_nothing(diff, "kept-value", "removed-value", "added-value")

    def test_creation_and_deletion(self) -> None:
        s = secret({"password": b64(PLAIN)})
        created = masked_diff(None, s, before_label="live", after_label="desired")
        assert created.startswith("--- live\n+++ desired\n")
        assert "+kind: Secret" in created
        assert_leaks_nothing(created, PLAIN)
        deleted = masked_diff(s, None)
        assert "-kind: Secret" in deleted
        assert_leaks_nothing(deleted, PLAIN)

    def test_non_secret_diff_is_plain(self) -> None:
        old = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "old"}}
        new = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "new"}}
        diff = masked_diff(old, new)
        assert "-  k: old" in diff
        assert "+  k: new" in diff

    def test_diff_ignores_server_noise(self) -> None:
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
        assert masked_diff(live(cm), cm) == ""

    def test_masks_are_not_stable_hashes_across_diffs(self) -> None:
        """The same value can get different masks in different diffs: nothing to correlate or brute-force."""
        first = mask_secret(secret({"a": b64(PLAIN)}))
        second = mask_secret(secret({"0": b64("other"), "a": b64(PLAIN)}))
        assert first["data"]["a"] != second["data"]["a"]
