"""The controller's pure rules, case by case: the Synced condition, replace vs patch, key renewal timing."""

from __future__ import annotations

import json

import pytest

from sealed.backup import parse_s3_url
from sealed.key_manager import parse_cutoff, seconds_until_new_key
from sealed.keybackup import backup_bytes, parse_recipients
from sealed.keys import KeySecret
from sealed.reconcile import is_controlled_by, merge_secret, synced_condition

SS = {"metadata": {"name": "s", "namespace": "n", "uid": "u-1"}}


def key(not_before: int | None, created: str = "2026-01-01T00:00:00Z") -> KeySecret:
    return KeySecret("k", "ns", "active", "SHA256:x", created, not_before, b"")


def test_synced_condition_transitions_like_bitnami() -> None:
    status, changed = synced_condition(None, None, "T1")
    assert changed and status == {
        "conditions": [
            {"type": "Synced", "status": "True", "lastUpdateTime": "T1", "lastTransitionTime": "T1"}
        ]
    }
    again, changed = synced_condition(status, None, "T2")
    assert not changed and again["conditions"][0]["lastTransitionTime"] == "T1"
    assert again["conditions"][0]["lastUpdateTime"] == "T2"
    failed, changed = synced_condition(again, "no key could decrypt secret (a)", "T3")
    assert changed and failed["conditions"][0] == {
        "type": "Synced",
        "status": "False",
        "message": "no key could decrypt secret (a)",
        "lastUpdateTime": "T3",
        "lastTransitionTime": "T3",
    }
    assert "reason" not in failed["conditions"][0]


def test_replace_mode_overwrites_data_labels_annotations_and_owner() -> None:
    existing = {
        "metadata": {"name": "s", "labels": {"old": "1"}, "annotations": {"a": "1"}, "resourceVersion": "7"},
        "data": {"gone": "eA=="},
        "type": "Opaque",
    }
    desired = {"metadata": {"name": "s", "labels": {"new": "1"}, "ownerReferences": [{"uid": "u-1"}]},
               "data": {"k": "dg=="}}  # fmt: skip
    merged = merge_secret(existing, desired)
    assert merged["data"] == {"k": "dg=="}
    assert merged["metadata"]["labels"] == {"new": "1"} and "annotations" not in merged["metadata"]
    assert merged["metadata"]["ownerReferences"] == [{"uid": "u-1"}]
    assert merged["metadata"]["resourceVersion"] == "7" and merged["type"] == "Opaque"


def test_patch_mode_merges_and_takes_ownership_only_when_managed() -> None:
    patch = {"sealedsecrets.bitnami.com/patch": "true"}
    existing = {
        "metadata": {"name": "s", "labels": {"keep": "1"}, "annotations": patch},
        "data": {"mine": "eA=="},
    }
    desired = {
        "metadata": {"labels": {"new": "1"}, "ownerReferences": [{"uid": "u-1"}]},
        "data": {"k": "dg=="},
    }
    merged = merge_secret(existing, desired)
    assert merged["data"] == {"mine": "eA==", "k": "dg=="}
    assert merged["metadata"]["labels"] == {"keep": "1", "new": "1"}
    assert "ownerReferences" not in merged["metadata"]
    managed = {**patch, "sealedsecrets.bitnami.com/managed": "true"}
    owned = merge_secret({**existing, "metadata": {**existing["metadata"], "annotations": managed}}, desired)
    assert owned["metadata"]["ownerReferences"] == [{"uid": "u-1"}]


def test_controlled_by_needs_the_controller_flag_and_uid() -> None:
    assert is_controlled_by({"metadata": {"ownerReferences": [{"uid": "u-1", "controller": True}]}}, SS)
    assert not is_controlled_by({"metadata": {"ownerReferences": [{"uid": "u-1"}]}}, SS)
    assert not is_controlled_by({"metadata": {"ownerReferences": [{"uid": "u-2", "controller": True}]}}, SS)


def test_renewal_timing() -> None:
    assert seconds_until_new_key(None, 1000.0, 720.0, None) == 0.0  # no key: make one
    assert seconds_until_new_key(key(900), 1000.0, 720.0, None) == 620.0
    assert seconds_until_new_key(key(100), 1000.0, 720.0, None) == 0.0  # overdue
    assert seconds_until_new_key(key(900), 1000.0, 0.0, None) == float("inf")  # renewal off
    assert seconds_until_new_key(key(900), 1000.0, 0.0, 950.0) == 0.0  # older than the cutoff
    assert seconds_until_new_key(key(None, "1970-01-01T00:15:00Z"), 1000.0, 720.0, None) == 620.0


def test_cutoff_time_accepts_rfc1123_and_rfc1123z_only() -> None:
    assert parse_cutoff("Mon, 02 Jan 2006 15:04:05 -0700") == 1136239445.0
    assert parse_cutoff("Mon, 02 Jan 2006 22:04:05 GMT") == 1136239445.0
    assert parse_cutoff("") is None
    for bad in ("2006-01-02T15:04:05Z", "yesterday", "Mon, 02 Jan 2006 15:04:05"):
        with pytest.raises(ValueError, match="--key-cutoff-time"):
            parse_cutoff(bad)


def test_backup_list_is_bitnamis_shape_without_server_fields() -> None:
    secret = {
        "metadata": {"name": "sealed-secrets-keyabcde", "namespace": "ks", "uid": "x", "resourceVersion": "9",
                     "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "Yw==", "tls.key": "aw=="},
    }  # fmt: skip
    listed = json.loads(backup_bytes([secret]))
    assert listed["kind"] == "List" and listed["apiVersion"] == "v1"
    (item,) = listed["items"]
    assert item["metadata"] == {
        "name": "sealed-secrets-keyabcde",
        "namespace": "ks",
        "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"},
    }
    assert item["data"] == secret["data"] and item["kind"] == "Secret"


def test_backup_target_and_recipients_are_checked() -> None:
    assert parse_s3_url("s3://bucket/a/b/") == ("bucket", "a/b")
    assert parse_s3_url("s3://bucket") == ("bucket", "")
    for bad in ("bucket/p", "s3:///p", "https://x"):
        with pytest.raises(ValueError, match="--key-backup"):
            parse_s3_url(bad)
    with pytest.raises(ValueError, match="not an age X25519 recipient: 'age1nope'"):
        parse_recipients(["age1nope"])
    with pytest.raises(ValueError, match="no age recipient"):
        parse_recipients([])
