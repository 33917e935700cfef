"""Pure resolution: merge order, property paths, decoding, key conversion, rewrite, templates, hashing."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pytest

from external_secrets import gjson
from external_secrets.providers.base import FetchKey, FindQuery, NoSecretError, RemoteSecret
from external_secrets.resolve import ResolveError, StoreRef, convert_key, decode, resolve, select
from external_secrets.target import (
    DATA_HASH,
    MANAGED_LABEL,
    build_target,
    data_hash,
    secret_body,
    secret_is_valid,
)
from external_secrets.templating import render
from gocompat.duration import parse_lenient


class Source:
    """A fixed set of remote secrets (the pure layer's input; providers are tested against real peers)."""

    def __init__(
        self, secrets: dict[str, RemoteSecret], found: dict[str, RemoteSecret] | None = None
    ) -> None:
        self.secrets = secrets
        self.found = found or {}
        self.calls: list[tuple[StoreRef, Any]] = []

    def get(self, store: StoreRef, ref: FetchKey) -> RemoteSecret:
        self.calls.append((store, ref))
        if ref.key not in self.secrets:
            raise NoSecretError(f"secret {ref.key!r} not found")
        return self.secrets[ref.key]

    def find(self, store: StoreRef, query: FindQuery) -> dict[str, RemoteSecret]:
        self.calls.append((store, query))
        return self.found

    def generate(self, generator_ref: Mapping[str, Any]) -> dict[str, bytes]:
        from external_secrets.generators import generate

        self.calls.append((StoreRef("", ""), dict(generator_ref)))
        return generate(str(generator_ref["kind"]), {"length": 12, "secretKeys": ["pw"]})


def vault(data: dict[str, Any]) -> RemoteSecret:
    return RemoteSecret(gjson.go_json(data), data, kind="vault")


def text(value: str) -> RemoteSecret:
    return RemoteSecret(value.encode())


def spec(**fields: Any) -> dict[str, Any]:
    return {"secretStoreRef": {"name": "s"}, **fields}


def test_merge_order_data_from_in_order_then_data_wins() -> None:
    source = Source(
        {"a": vault({"k": "from-a", "only_a": "1"}), "b": vault({"k": "from-b"}), "c": vault({"v": "c"})}
    )
    result = resolve(
        spec(
            dataFrom=[{"extract": {"key": "a"}}, {"extract": {"key": "b"}}],
            data=[{"secretKey": "k", "remoteRef": {"key": "c", "property": "v"}}],
        ),
        source,
    )
    assert result.data == {"k": b"c", "only_a": b"1"}


def test_vault_property_rules_literal_key_beats_path() -> None:
    secret = vault(
        {"a.b": "literal", "a": {"b": "nested", "list": [{"n": 1}, {"n": 2}]}, "num": 3.0, "t": True}
    )
    assert select(secret, "a.b", "k") == b"literal"
    assert select(secret, "a.list.1.n", "k") == b"2"
    assert select(secret, "a.list.#", "k") == b"2"
    assert select(secret, "a.list.#.n", "k") == b"[1,2]"
    assert select(secret, "num", "k") == b"3"
    assert select(secret, "t", "k") == b"true"
    assert select(secret, "a", "k") == b'{"b":"nested","list":[{"n":1},{"n":2}]}'
    assert select(secret, "", "k") == secret.value
    with pytest.raises(ResolveError, match=r'cannot find secret data for key: "a\.c"'):
        select(secret, "a.c", "k")


def test_aws_property_rules() -> None:
    secret = text(json.dumps({"db": {"host": "h", "port": 5432}, "a.b": "dotted", "s": "x<y"}))
    assert select(secret, "db.host", "app") == b"h"
    assert select(secret, "a.b", "app") == b"dotted"
    assert select(secret, "db", "app") == b'{"host":"h","port":5432}'
    with pytest.raises(ResolveError, match=r"key db\.user does not exist in secret app"):
        select(secret, "db.user", "app")
    with pytest.raises(ResolveError, match="does not exist"):
        select(text("not json"), "x", "app")


def test_go_json_escapes_html_like_go() -> None:
    assert gjson.go_json({"b": "<&>", "a": 1}) == b'{"a":1,"b":"\\u003c\\u0026\\u003e"}'
    # Go writes floats with strconv (1e-7, not Python's 1e-07) and non-ASCII as UTF-8
    assert (
        gjson.go_json({"f": 1e-7, "g": 1e21, "s": "caf\u00e9"}) == '{"f":1e-7,"g":1e+21,"s":"café"}'.encode()
    )


def test_aws_tags_fetched_as_go_json() -> None:
    """``metadataPolicy: Fetch`` on AWS: the tag map as ESO's json.Marshal writes it."""
    from external_secrets.providers.aws_common import tags_secret

    tags = [{"Key": "team", "Value": "r&d <café>"}, {"Key": "env", "Value": "prod"}]
    assert tags_secret(tags).value == '{"env":"prod","team":"r\\u0026d \\u003ccafé\\u003e"}'.encode()


def test_decoding_strategies() -> None:
    assert decode(b"aGVsbG8=", "Base64") == b"hello"
    assert decode(b"aGVsbG8=", None) == b"aGVsbG8="
    assert decode(base64.urlsafe_b64encode(b"\xfb\xff"), "Base64URL") == b"\xfb\xff"
    assert decode(b"not base64!", "Auto") == b"not base64!"
    assert decode(b"aGVsbG8=", "Auto") == b"hello"
    with pytest.raises(ResolveError, match="Base64"):
        decode(b"aGVsbG8", "Base64")  # padding required
    with pytest.raises(ResolveError):
        decode(b"+/8=", "Base64URL")


def test_key_conversion_default_and_unicode() -> None:
    assert convert_key("path/to/key", "Default") == "path_to_key"
    assert convert_key("a b", "Unicode") == "a_U0020_b"
    assert convert_key("ok-key.1_x", None) == "ok-key.1_x"


def test_find_with_rewrite_regexp_and_transform() -> None:
    found = {"app/db/user": text("u"), "app/db/pass": text("p")}
    source = Source({}, found)
    result = resolve(
        spec(
            dataFrom=[
                {
                    "find": {"path": "app", "name": {"regexp": "db"}},
                    "rewrite": [
                        {"regexp": {"source": "app/db/(.*)", "target": "DB_$1"}},
                        {"transform": {"template": "{{ .value | lower }}"}},
                    ],
                }
            ]
        ),
        source,
        render,
    )
    assert result.data == {"db_user": b"u", "db_pass": b"p"}
    plain = resolve(spec(dataFrom=[{"find": {"name": {"regexp": "db"}}}]), Source({}, found))
    assert plain.data == {"app_db_user": b"u", "app_db_pass": b"p"}


def test_missing_secret_follows_deletion_policy() -> None:
    entry = [{"secretKey": "x", "remoteRef": {"key": "gone"}}]
    with pytest.raises(ResolveError, match=r"spec.data\[0\] \(key: x\).*not found"):
        resolve(spec(data=entry), Source({}))
    merged = resolve(spec(data=entry, target={"deletionPolicy": "Merge"}), Source({}))
    assert merged.data == {} and merged.missing == ["spec.data[0] (key: x)"]


def test_spec_validation() -> None:
    with pytest.raises(ResolveError, match="at least one of data or dataFrom"):
        resolve(spec(), Source({}))
    with pytest.raises(ResolveError, match="requires creationPolicy=Owner"):
        resolve(
            spec(
                data=[{"secretKey": "a", "remoteRef": {"key": "k"}}],
                target={"deletionPolicy": "Delete", "creationPolicy": "Merge"},
            ),
            Source({}),
        )
    with pytest.raises(ResolveError, match="repeated"):
        resolve(spec(data=[{"secretKey": "a", "remoteRef": {"key": "k"}}] * 2), Source({}))


def test_decoding_on_extract_values() -> None:
    source = Source({"k": vault({"cert": base64.b64encode(b"\x00\x01").decode(), "plain": "hi"})})
    result = resolve(spec(dataFrom=[{"extract": {"key": "k", "decodingStrategy": "Auto"}}]), source)
    assert result.data == {"cert": b"\x00\x01", "plain": b"hi"}


def es(template: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    target: dict[str, Any] = {"name": "out"}
    if template is not None:
        target["template"] = template
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "es", "namespace": "ns", "uid": "u-1", "generation": 1, **meta},
        "spec": {"target": target},
    }


def test_template_only_templated_keys_unless_merge() -> None:
    data = {"user": b"admin", "pass": b"pw"}
    target = build_target(
        es(
            {
                "type": "kubernetes.io/basic-auth",
                "data": {"auth": '{{ printf "%s:%s" .user .pass | b64enc }}'},
                "metadata": {"labels": {"who": "{{ .user }}"}},
            }
        ),
        data,
        render,
    )
    assert target.data == {"auth": base64.b64encode(b"admin:pw")}
    assert target.labels == {"who": "admin"} and target.type == "kubernetes.io/basic-auth"
    merged = build_target(es({"mergePolicy": "Merge", "data": {"x": "{{ .user | upper }}"}}), data, render)
    assert merged.data == {"user": b"admin", "pass": b"pw", "x": b"ADMIN"}
    literal = build_target(es({"templateFrom": [{"literal": "a: '{{ .user }}'\nb: fixed"}]}), data, render)
    assert literal.data == {"a": b"admin", "b": b"fixed"}


def test_template_error_names_template_not_values() -> None:
    with pytest.raises(ResolveError) as raised:
        build_target(es({"data": {"x": "{{ .nope }}"}}), {"secret": b"hunter2"}, render)
    assert "spec.target.template.data[x]" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_secret_body_labels_hash_and_ownership() -> None:
    obj = es(labels={"team": "a"}, annotations={"lockstep.dev/tracking-id": "x", "note": "y"})
    target = build_target(obj, {"k": b"v"}, None)
    body = secret_body(obj, target, None, owner=True)
    assert body["metadata"]["labels"][MANAGED_LABEL] == "true"
    assert body["metadata"]["labels"]["team"] == "a"
    assert "lockstep.dev/tracking-id" not in body["metadata"]["annotations"]
    assert body["metadata"]["annotations"][DATA_HASH] == data_hash({"k": b"v"})
    assert body["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    assert secret_is_valid(body)
    body["data"]["k"] = base64.b64encode(b"drifted").decode()
    assert not secret_is_valid(body)


def test_durations() -> None:
    assert parse_lenient("1h0m0s") == 3600
    assert parse_lenient("1.5m") == 90
    assert parse_lenient("0") == 0
    assert parse_lenient(None) == 3600
    with pytest.raises(ValueError):
        parse_lenient("5 minutes")


def test_template_from_target_any_case_and_values_decoding() -> None:
    """ESO ≥ 2.4.1 matches templateFrom targets case-insensitively; ESO 2.7 decodes rendered values."""
    data = {"user": b"admin", "b64": b"aHVudGVyMg=="}
    sources = {"cm": {"cfg": "role: '{{ .user }}'", "pw": "{{ .b64 }}"}}
    template = {
        "templateFrom": [
            {"literal": "team: '{{ .user }}'", "target": "LABELS"},
            {"literal": "note: '{{ .user }}'", "target": "annotations"},
            {
                "configMap": {"name": "cm", "items": [{"key": "cfg", "templateAs": "KeysAndValues"}]},
                "target": "data",
            },
            {"configMap": {"name": "cm", "items": [{"key": "pw"}]}, "valuesDecodingStrategy": "Base64"},
        ]
    }
    target = build_target(es(template), data, render, lambda kind, name: sources[name])
    assert target.labels == {"team": "admin"}
    assert target.annotations == {"note": "admin"}
    assert target.data == {"role": b"admin", "pw": b"hunter2"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"configMap": {"name": "cm", "items": [{"key": "cfg", "templateAs": "values"}]}},
            "templateAs: 'values'",
        ),
        ({"literal": "a: b", "target": "spec.slack"}, "'spec.slack' is not Data, Annotations or Labels"),
        ({"literal": "a: b", "valuesDecodingStrategy": "Hex"}, "valuesDecodingStrategy: 'Hex'"),
        ({"literal": "a: '{{ .b64 }}'", "valuesDecodingStrategy": "Base64URL"}, "failed to decode rendered"),
    ],
)
def test_template_from_rejects_unknown_scope_target_and_decoding(entry: dict[str, Any], message: str) -> None:
    data = {"b64": b"not base64!"}
    with pytest.raises(ResolveError) as raised:
        build_target(es({"templateFrom": [entry]}), data, render, lambda kind, name: {"cfg": "x: y"})
    assert message in str(raised.value)
    assert "spec.target.template.templateFrom[0]" in str(raised.value)
    assert "not base64!" not in str(raised.value)
