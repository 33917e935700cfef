"""The fast block-YAML reader gives exactly the tree the full (PyYAML-based) reader gives, and declines
(falls back) on anything outside its subset."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gocompat.yaml.v3 import reader as yaml_fast
from gocompat.yaml.v3.tree import from_plain
from gocompat.yaml.v3.writer import emit_documents
from sops_plugin.format import yaml_load
from sops_plugin.format.document import load_yaml
from tests.sops.samples import YAML
from tests.sops.test_property import DOCS, EXAMPLES

HAND_WRITTEN = [
    "a: 1\nb:\n- x\n- y\nc: {}\nd: []\n",  # indentless sequence
    "k:\n  nested:\n    deep: 'it''s'\n  other: \"q\\tx\\u00e9\"\n",
    "lit: |+\n  keep\n\n\nnext: 2\n",
    "lit: |-\n   strip\n   two\nn: null\nt: true\nf: 1.50\ni: 0o17\nts: 2024-01-02\n",
    "list:\n  - - a\n    - b\n  - k: v\n    j:\n      - 1\n  -\n    z: 1\n",
    "---\na: 1\n---\nb: 2\n",
    "a: 1\n---\n",
    "\"quoted key\": v\n'single': w\nplain key with spaces: x\n",
    "url: http://example.com:8080/x\nempty:\nspaces:    padded   \n",
    "l:\n  -\n  - a\n  - b:\n  - c:\n    - x\n",
    "a: |+\n  x\n\n",
    "a: |+\n  x\n",
    "a: |+\n\n",
    "l:\n  - |+\n    x\n\n",
    "a: |+\n  x\n\nb: 1\n---\nc: |+\n  y\n\n\n",
    "a: |-\n  x\n\n\n",
    "a: |\n\n  x\n",
]
DECLINED = [
    "a: &x 1\nb: *x\n",
    "a: [1, 2]\n",
    "a: !!str 1\n",
    "a: >\n  folded\n",
    "a: this is\n  continued\n",
    "a: 1 # comment\n",
    "a:\n\t- tab\n",
    "? complex\n: key\n",
    'a: "multi\n  line"\n',
    "a: 1\na: 2\n",
]


@pytest.mark.parametrize("text", HAND_WRITTEN)
def test_same_tree_as_full_reader(text: str) -> None:
    assert yaml_fast.load_documents(text) == yaml_load.load_documents(text)


@pytest.mark.parametrize("text", DECLINED)
def test_declines_outside_its_subset(text: str) -> None:
    with pytest.raises(yaml_fast.Unsupported):
        yaml_fast.load_documents(text)
    # The fallback reads it exactly as the full reader does (or fails the same way).
    try:
        expected = yaml_load.load_documents(text)
    except yaml_load.YamlError:
        with pytest.raises(yaml_load.YamlError):
            load_yaml(text)
    else:
        assert load_yaml(text) == expected


def test_fallback_for_the_sample() -> None:
    assert load_yaml(YAML.decode()) == yaml_load.load_documents(YAML.decode())


@settings(max_examples=EXAMPLES * 5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=DOCS, indent=st.sampled_from([2, 4]))
def test_go_yaml_output_is_read_identically(docs: dict[str, Any], indent: int) -> None:
    text = emit_documents([from_plain(docs)], indent)
    try:
        full = yaml_load.load_documents(text)
    except yaml_load.YamlError:
        # A tab opening a literal block line: go-yaml writes it but neither go-yaml nor PyYAML reads it
        # back (sops turns such a value into null); the fast reader declines it too.
        assert "\t" in text
        with pytest.raises(yaml_fast.Unsupported):
            yaml_fast.load_documents(text)
        return
    try:
        fast = yaml_fast.load_documents(text)
    except yaml_fast.Unsupported:
        # It steps aside for '#', special characters, complex keys...; the fallback then reads it.
        assert "#" in text or not text.replace("\n", "").isprintable() or "? " in text or "|4" in text
        fast = load_yaml(text)
    assert fast == full


@settings(max_examples=3000, deadline=None)
@given(st.integers(-2, 10001), st.integers(-1, 14), st.integers(-1, 33))
def test_timestamp_dates_are_what_datetime_accepts(year: int, month: int, day: int) -> None:
    """go-yaml v3 resolves ``YYYY-MM-DD`` to a time only for a real date; checked without datetime."""
    from datetime import date

    from gocompat.yaml.v3.rules import _is_date

    try:
        date(year, month, day)
        valid = True
    except ValueError:
        valid = False
    assert _is_date(year, month, day) is valid
