"""getsops/sops v3.13.2 ``stores/flatten_test.go`` as data, against ``sops_plugin.format.flat`` (the
flattened metadata of the dotenv and INI stores), and the same inputs end to end through a dotenv file.

sops' ``tokenize`` is internal; its four cases are checked through the keys they produce. Lockstep's
``flatten`` returns the pairs sorted, the order both stores write them in, so expectations are sorted.
"""

from __future__ import annotations

from typing import Any

import pytest

from gocompat.yaml.v3.tree import Branch, from_plain
from sops_plugin import api
from sops_plugin.errors import SopsError
from sops_plugin.format.flat import FlatError, flatten, unflatten

# TestUnflattenTreeBranch / TestFlattenTreeBranch: the same tree both ways.
FLAT = [
    ("key1__list_0", "foo"),
    ("key2__list_0", "foo"),
    ("key2__list_1__map_foo", "bar"),
    ("key2__list_1__map_baz", "bam"),
    ("key3__map_foo", "bar"),
    ("key3__map_baz", "bam"),
    ("key4__map_foo", "bar"),
    ("key4__map_baz", "bam"),
]
NESTED: dict[str, Any] = {
    "key1": ["foo"],
    "key2": ["foo", {"foo": "bar", "baz": "bam"}],
    "key3": {"foo": "bar", "baz": "bam"},
    "key4": {"foo": "bar", "baz": "bam"},
}

UNFLATTEN_ERRORS = {
    "inputDupe": (
        [("key1__list_0", "foo"), ("key1__list_0", "bar")],
        'Error while unflattening "key1__list_0": Duplicate value',
    ),
    "inputSkip1": (
        [("key1__list_0", "foo"), ("key1__list_999999999999", "bar")],
        "Error while unflattening: Incomplete list",
    ),
    "inputSkip2": ([("key1__list_1", "foo")], "Error while unflattening: Incomplete list"),
    "inputCollision1": (
        [("key1__list_0", "foo"), ("key1__map_foo", "bar")],
        "Error while unflattening: Type mismatch",
    ),
    "inputCollision2": (
        [("key1", "foo"), ("key1__list_0", "bar")],
        "Error while unflattening: Type mismatch",
    ),
}

# TestTokenize*: a flat key and the path it names.
TOKENIZE = {
    "bar": {"bar": "v"},
    "bar__map_foo": {"bar": {"foo": "v"}},
    "bar__list_0": {"bar": ["v"]},
    "bar__list_0__map_baz": {"bar": [{"baz": "v"}]},
}


def test_unflatten_tree_branch() -> None:
    assert unflatten(FLAT) == NESTED
    assert list(unflatten(FLAT)["key2"][1].items()) == [("foo", "bar"), ("baz", "bam")]
    assert unflatten([]) == {}


@pytest.mark.parametrize("name", sorted(UNFLATTEN_ERRORS))
def test_unflatten_errors(name: str) -> None:
    items, message = UNFLATTEN_ERRORS[name]
    with pytest.raises(FlatError) as caught:
        unflatten(items)
    assert str(caught.value) == message


@pytest.mark.parametrize("key", sorted(TOKENIZE))
def test_tokenize(key: str) -> None:
    assert unflatten([(key, "v")]) == TOKENIZE[key]
    assert flatten(from_plain(TOKENIZE[key])) == [(key, "v")]


def test_flatten_tree_branch() -> None:
    expected = sorted((f"prefix{k}", v) for k, v in FLAT)
    assert flatten(from_plain(NESTED), "prefix") == expected


def test_flatten_key_collision() -> None:
    with pytest.raises(FlatError) as caught:
        flatten(Branch([("key1", "foo"), ("key1", "bar")]), "prefix")
    assert str(caught.value) == 'Found key collision "prefixkey1" while flattening'


@pytest.mark.parametrize("name", sorted(UNFLATTEN_ERRORS))
def test_bad_flattened_metadata_in_a_file_is_a_clear_error(name: str) -> None:
    """The same inputs as a dotenv file's ``sops_*`` keys: sops' message, no traceback, at once (a list
    index of 999999999999 used to allocate that many slots)."""
    items, message = UNFLATTEN_ERRORS[name]
    text = "A=1\n" + "".join(f"sops_{k}={v}\n" for k, v in items)
    with pytest.raises(SopsError) as caught:
        api.decrypt_bytes(text.encode(), "dotenv", [])
    assert str(caught.value).endswith(message)
