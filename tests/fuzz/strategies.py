"""Hostile inputs for the fuzz tests: token soups that reach deep into each grammar, not just random text.

Random Unicode almost never gets past a parser's first character check; soups of a grammar's own tokens
(anchors, flow brackets, block indicators, tags, document markers, template actions) do, and are still
arbitrary enough to find what hand-written cases miss.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

YAML_TOKENS = [
    "a", "b", "key", "data", "kind", "Secret", "metadata", "name", "sops", "mac", "version",
    ":", ": ", " ", "  ", "    ", "\n", "\n  ", "\n- ", "- ", "-", "---", "\n---\n", "--- ", "...", "\n...\n",
    "&x ", "*x", "&y ", "*y", "<<: *x", "[", "]", "{", "}", ", ", "'", "''", '"', '\\"', "\\", "\\u00e9",
    "|", "|-", "|+", ">", ">-", "#", " # c", "\t", "\r", "\r\n", "?", "? ", "!!str ", "!!binary ", "!x ",
    "%YAML 1.1\n", "%TAG ! x\n", "\x00", "\ufeff", "é", "\u2028", "\x85", "~", "null", "true", "0x1F",
    "1e9", "0o17", ".inf", "2024-01-02", "12:30:45", "=", "'it''s'", '"x\\ty"', "{a: 1}", "[1, 2]",
]  # fmt: skip

JSON_TOKENS = [
    "{", "}", "[", "]", ",", ":", '"a"', '"kind"', '"Secret"', '"data"', '"sops"', '"\\u0000"', '"\\ud800"',
    "1", "-0", "1e999", "NaN", "Infinity", "true", "null", " ", "\n", '"', "\\", "\x00", "é",
]  # fmt: skip

INI_DOTENV_TOKENS = [
    "[", "]", "[sec]", "[sops]", "=", "a", "key", "sops_mac", "sops_version",
    "sops_age__list_0__map_recipient", "\n", " ", "#", ";", '"', "'", "\\n", "\x00", "é", "\r",
    "ENC[AES256_GCM,data:", ",iv:", ",tag:",
    ",type:str]", "sops_lastmodified", "2024-01-01T00:00:00Z",
]  # fmt: skip

TEMPLATE_TOKENS = [
    "{{", "}}", "{{-", "-}}", " ", ".", ".a", ".b.c", "$", "$x", "$x :=", " := ", " = ", "|", "(", ")",
    "if", "else", "else if", "end", "range", "with", "define", "template", "block", "break", "continue",
    '"a"', '"b"', "`raw`", "'c'", "1", "2", "-1", "0x10", "1.5", "true", "nil", "printf", '"%s"', '"%v"',
    '"%d"', "index", "len", "slice", "and", "or", "not", "eq", "lt", "upper", "b64enc", "b64dec", "toJson",
    "fromJson", "toYaml", "default", "dict", "list", "get", "keys", "split", "join", "repeat", "trim",
    "replace", "sha256sum", "quote", "pemToPkcs12", "fullPemToPkcs12", "jwkPublicKeyPem", "/*", "*/", "\n",
    "x", "é", "\x00",
]  # fmt: skip


def soup(tokens: list[str], max_size: int = 60) -> st.SearchStrategy[str]:
    """A string made of grammar tokens, sometimes with arbitrary text mixed in."""
    piece = st.one_of(st.sampled_from(tokens), st.sampled_from(tokens), st.text(max_size=4))
    return st.lists(piece, max_size=max_size).map("".join)


def yaml_text() -> st.SearchStrategy[str]:
    return st.one_of(soup(YAML_TOKENS), st.text(max_size=200))


def json_bytes() -> st.SearchStrategy[bytes]:
    return st.one_of(
        soup(JSON_TOKENS).map(lambda s: s.encode("utf-8", "surrogatepass")), st.binary(max_size=200)
    )


def ini_dotenv_bytes() -> st.SearchStrategy[bytes]:
    return st.one_of(
        soup(INI_DOTENV_TOKENS).map(lambda s: s.encode("utf-8", "surrogatepass")), st.binary(max_size=200)
    )


def template_text() -> st.SearchStrategy[str]:
    return st.one_of(soup(TEMPLATE_TOKENS, max_size=40), st.text(max_size=80))


_KEYS = st.sampled_from(
    [
        "apiVersion", "kind", "metadata", "name", "namespace", "annotations", "labels", "spec", "data",
        "stringData", "encryptedData", "template", "type", "immutable", "sops", "age", "recipient", "enc",
        "mac", "version", "lastmodified", "key_groups", "shamir_threshold", "encrypted_regex",
        "unencrypted_suffix", "mac_only_encrypted", "sealedsecrets.bitnami.com/namespace-wide",
        "sealedsecrets.bitnami.com/cluster-wide", "clusters", "contexts", "users", "current-context",
        "cluster", "user", "context", "server", "token", "exec", "certificate-authority-data", "x",
    ]
)  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.sampled_from(
        ["Secret", "SealedSecret", "bitnami.com/v1alpha1", "v1", "true", "", "AgAA", "ENC[AES256_GCM,data:x]"]
    ),
    st.text(max_size=12),
)


def json_values() -> st.SearchStrategy[Any]:
    """Arbitrary JSON-like values whose keys are the field names the converters look for."""
    return st.recursive(
        _SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.one_of(_KEYS, st.text(max_size=6)), inner, max_size=5),
        ),
        max_leaves=25,
    )


def sealed_objects() -> st.SearchStrategy[Any]:
    """Mostly SealedSecret-shaped objects with arbitrary parts, plus arbitrary values."""
    shaped = st.fixed_dictionaries(
        {"apiVersion": st.just("bitnami.com/v1alpha1"), "kind": st.just("SealedSecret")},
        optional={"metadata": json_values(), "spec": json_values()},
    )
    spec = st.fixed_dictionaries(
        {},
        optional={
            "encryptedData": st.dictionaries(st.text(max_size=6), _SCALARS, max_size=3),
            "template": json_values(),
            "data": _SCALARS,
        },
    )
    with_spec = st.builds(
        lambda base, meta, s: {**base, "metadata": meta, "spec": s},
        shaped,
        st.fixed_dictionaries(
            {"name": _SCALARS}, optional={"namespace": _SCALARS, "annotations": json_values()}
        ),
        spec,
    )
    return st.one_of(with_spec, shaped, json_values())
