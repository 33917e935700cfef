"""The fast YAML reader agrees with PyYAML wherever it answers, and never accepts what PyYAML rejects."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gocompat.yaml.v2.reader import read as load
from sealed.format.documents import _loader


def pyyaml(text: str) -> list[Any] | None:
    try:
        return [d for d in yaml.load_all(text, Loader=_loader()) if d is not None]
    except yaml.YAMLError:
        return None


def agrees(text: str) -> bool:
    """True when the fast reader answered (and matched); False when it deferred to PyYAML."""
    fast = load(text)
    if fast is None:
        return False
    reference = pyyaml(text)
    assert reference is not None, f"fast reader accepted text PyYAML rejects: {text!r}"
    assert fast == reference, text
    return True


scalars = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30),
    st.sampled_from(
        [
            "true",
            "yes",
            "no",
            "null",
            "~",
            "0",
            "012",
            "1e3",
            "0x1F",
            "1:30",
            ".inf",
            "2024-01-02",
            "a: b",
            "- x",
            "#c",
            "x #y",
            "'q'",
            '"q"',
            "line\nbreak\n",
            " lead",
            "trail ",
            "",
            "<<",
            "=",
        ]
    ),
    st.booleans(),
    st.none(),
)
keys = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12),
    st.sampled_from(["name", "tls.crt", ".dockerconfigjson", "a b", "yes", "1", "k:v"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)
documents = st.dictionaries(keys, values, min_size=1, max_size=5)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    docs=st.lists(documents, min_size=1, max_size=3),
    style=st.sampled_from([None, None, '"', "'", "|"]),
    indent=st.sampled_from([2, 4]),
    width=st.sampled_from([80, 1000]),
    explicit_start=st.booleans(),
)
def test_agrees_with_pyyaml_on_dumped_documents(
    docs: list[dict[str, Any]], style: str | None, indent: int, width: int, explicit_start: bool
) -> None:
    text = yaml.safe_dump_all(
        docs,
        default_style=style,
        indent=indent,
        width=width,
        explicit_start=explicit_start,
        allow_unicode=True,
    )
    agrees(text)


FRAGMENTS = [
    "a: b",
    "  c: d",
    "- e",
    "  - f",
    "key:",
    "  nested: |",
    "    literal",
    "      deeper",
    "",
    "# comment",
    "---",
    "x: 'it''s'",
    'y: "esc\\n"',
    "z: |-",
    "  kept",
    "- k: v",
    "  k2: v2",
    "q: [1, 2]",
    "r: {}",
    "s: yes",
    "t: 1",
    "u: a # c",
    "bad: : x",
    "  - - n",
    "v: |+",
    "w: >",
    "    x: y",
    "- ",
    "'k': v",
]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=10), st.booleans())
def test_never_accepts_what_pyyaml_rejects(lines: list[str], final_newline: bool) -> None:
    agrees("\n".join(lines) + ("\n" if final_newline else ""))


def test_ordinary_manifests_take_the_fast_path() -> None:
    kubectl_style = (
        "apiVersion: v1\ndata:\n  password: czNjcjN0\n  username: YWRtaW4=\n  zero: MDEy\nkind: Secret\n"
        "metadata:\n  creationTimestamp: null\n  name: db\n  namespace: apps\n  labels:\n    app: web\n"
        "  annotations:\n    note: 'quoted: value'\n    multi: |\n      line one\n      line two\n"
        "type: Opaque\n"
    )
    assert agrees(kubectl_style)
    assert agrees("---\n" + kubectl_style + "---\n# only a comment\n---\n" + kubectl_style)
    assert load("a: 1\n") is None  # numbers are PyYAML's to type
