"""PushSecret's pure core: the spec checked with field paths, source data prepared, status bookkeeping."""

from __future__ import annotations

from typing import Any

import pytest

from external_secrets.push import (
    PushRef,
    PushSpecError,
    entry_value,
    parse_push,
    reverse_unicode,
    stale,
    synced_patch,
    whole_secret,
)
from external_secrets.resolve import convert_key


def push_secret(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "secretStoreRefs": [{"name": "vault", "kind": "SecretStore"}],
        "selector": {"secret": {"name": "src"}},
        "data": [{"match": {"secretKey": "password", "remoteRef": {"remoteKey": "db", "property": "pw"}}}],
    }
    base.update(spec)
    return {"metadata": {"name": "ps", "namespace": "ns"}, "spec": base}


def test_defaults_are_esos() -> None:
    spec = parse_push(push_secret())
    assert (spec.update_policy, spec.deletion_policy, spec.interval) == ("Replace", "None", 3600.0)
    assert spec.entries[0].ref == PushRef("db", "pw")
    assert spec.entries[0].ref.status_ref == "db/pw"
    assert PushRef("db").status_ref == "db"
    assert spec.entries[0].conversion == "None"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"updatePolicy": "Sometimes"}, "spec.updatePolicy"),
        ({"deletionPolicy": "Retain"}, "spec.deletionPolicy"),
        ({"refreshInterval": "soon"}, "spec.refreshInterval"),
        ({"secretStoreRefs": []}, "spec.secretStoreRefs"),
        ({"secretStoreRefs": [{"kind": "SecretStore"}]}, "spec.secretStoreRefs[0]"),
        ({"secretStoreRefs": [{"name": "x", "kind": "Vault"}]}, "spec.secretStoreRefs[0].kind"),
        ({"selector": {}}, "spec.selector"),
        (
            {"selector": {"secret": {"name": "a"}, "generatorRef": {"kind": "Password", "name": "p"}}},
            "spec.selector",
        ),
        (
            {"data": [{"match": {"secretKey": "a", "remoteRef": {}}}]},
            "spec.data[0].match.remoteRef.remoteKey",
        ),
        (
            {"data": [{"conversionStrategy": "Unicode", "match": {"remoteRef": {"remoteKey": "k"}}}]},
            "spec.data[0].conversionStrategy",
        ),
        (
            {"data": [{"metadata": "x", "match": {"remoteRef": {"remoteKey": "k"}}}]},
            "spec.data[0].metadata",
        ),
    ],
)
def test_bad_specs_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(PushSpecError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_push(push_secret(**change))


def test_reverse_unicode_undoes_externalsecret_unicode_conversion() -> None:
    for key in ("a!b", "tls.crt", "key with space/and:colon", "ünïcode"):
        assert reverse_unicode(convert_key(key, "Unicode")) == key
    assert reverse_unicode("_U0021_x_U002F_") == "!x/"  # either hex case
    assert reverse_unicode("_U12_") == "_U12_"  # not an escape


def test_entry_value_picks_a_key_converts_or_takes_the_whole_secret() -> None:
    data = {"db_U002e_password": b"s3cret", "user": b"me"}
    spec = parse_push(
        push_secret(
            data=[
                {
                    "conversionStrategy": "ReverseUnicode",
                    "match": {"secretKey": "db.password", "remoteRef": {"remoteKey": "a"}},
                },
                {"match": {"remoteRef": {"remoteKey": "b"}}},
                {"match": {"secretKey": "db.password", "remoteRef": {"remoteKey": "c"}}},
            ]
        )
    )
    assert entry_value(spec.entries[0], data) == b"s3cret"
    assert entry_value(spec.entries[1], data) == whole_secret(data)
    assert whole_secret(data) == b'{"db_U002e_password":"s3cret","user":"me"}'
    with pytest.raises(PushSpecError) as error:
        entry_value(spec.entries[2], data)
    assert "db.password" in str(error.value) and "s3cret" not in str(error.value)


def test_stale_lists_what_is_no_longer_pushed() -> None:
    entry = {"match": {"secretKey": "a", "remoteRef": {"remoteKey": "k", "property": "p"}}}
    other = {"match": {"secretKey": "b", "remoteRef": {"remoteKey": "j"}}}
    old = {"SecretStore/v": {"k/p": entry, "j": other}, "ClusterSecretStore/c": {"j": other}}
    new = {"SecretStore/v": {"j": other}}
    assert sorted(stale(old, new), key=str) == sorted(
        [("SecretStore/v", PushRef("k", "p")), ("ClusterSecretStore/c", PushRef("j"))], key=str
    )
    assert stale(old, old) == []


def test_synced_patch_nulls_what_is_gone() -> None:
    old = {"S/a": {"k": {"match": 1, "metadata": 2}, "gone": {}}, "S/b": {"x": {}}}
    new = {"S/a": {"k": {"match": 1}}, "S/c": {"y": {}}}
    assert synced_patch(old, new) == {
        "S/a": {"k": {"match": 1, "metadata": None}, "gone": None},
        "S/b": None,
        "S/c": {"y": {}},
    }
