"""The pure parts of the git drivers: the key-by-key three-way merge of plaintext trees, and creation-rule
``path_regex`` → gitattributes patterns (with git itself as the judge of what a pattern matches)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gocompat.yaml.v3.tree import Branch, Comment
from sops_plugin.format.document import load_yaml as load
from sops_plugin.format.gitattributes import block, regex_to_glob, under, with_block, without_block
from sops_plugin.format.merge3 import merge_documents


def _docs(text: str) -> list[Branch]:
    return load(text)


def _merge(base: str | None, ours: str, theirs: str) -> tuple[str, list[str]]:
    from gocompat.yaml.v3.writer import emit_documents

    merged, conflicts = merge_documents(_docs(base) if base is not None else None, _docs(ours), _docs(theirs))
    return emit_documents(merged, 4), conflicts


BASE = "a: 1\nb:\n    x: 1\n    z: 2\nc: [1, 2]\n"


@pytest.mark.parametrize(
    ("ours", "theirs", "expected", "conflicts"),
    [
        # different keys changed
        (
            "a: 2\nb:\n    x: 1\n    z: 2\nc: [1, 2]\n",
            "a: 1\nb:\n    x: 1\n    z: 3\nc: [1, 2]\n",
            "a: 2\nb:\n    x: 1\n    z: 3\nc:\n    - 1\n    - 2\n",
            [],
        ),
        # nested keys of one mapping changed on both sides
        (
            "a: 1\nb:\n    x: 9\n    z: 2\nc: [1, 2]\n",
            "a: 1\nb:\n    x: 1\n    z: 8\nc: [1, 2]\n",
            "a: 1\nb:\n    x: 9\n    z: 8\nc:\n    - 1\n    - 2\n",
            [],
        ),
        # the same key changed differently: ours kept, reported
        (
            "a: 2\nb:\n    x: 1\n    z: 2\nc: [1, 2]\n",
            "a: 3\nb:\n    x: 1\n    z: 2\nc: [1, 2]\n",
            "a: 2\nb:\n    x: 1\n    z: 2\nc:\n    - 1\n    - 2\n",
            ["a"],
        ),
        # types are strict: 1 → true is a change, and differs from 1 → 1.0
        (
            "a: true\nb:\n    x: 1\n    z: 2\nc: [1, 2]\n",
            "a: 1.0\nb:\n    x: 1\n    z: 2\nc: [1, 2]\n",
            "a: true\nb:\n    x: 1\n    z: 2\nc:\n    - 1\n    - 2\n",
            ["a"],
        ),
        # sequences are whole values
        (
            "a: 1\nb:\n    x: 1\n    z: 2\nc: [1, 2, 3]\n",
            "a: 1\nb:\n    x: 1\n    z: 2\nc: [0, 2]\n",
            "a: 1\nb:\n    x: 1\n    z: 2\nc:\n    - 1\n    - 2\n    - 3\n",
            ["c"],
        ),
        # a deletion on one side, untouched on the other: deleted
        (
            "a: 1\nc: [1, 2]\n",
            "a: 5\nb:\n    x: 1\n    z: 2\nc: [1, 2]\n",
            "a: 5\nc:\n    - 1\n    - 2\n",
            [],
        ),
        # deleted on one side, changed on the other: conflict
        (
            "a: 1\nc: [1, 2]\n",
            "a: 1\nb:\n    x: 7\n    z: 2\nc: [1, 2]\n",
            "a: 1\nc:\n    - 1\n    - 2\n",
            ["b"],
        ),
        # additions on both sides land after the key they follow
        (
            "a: 1\nn1: o\nb:\n    x: 1\n    z: 2\nc: [1, 2]\n",
            "a: 1\nb:\n    x: 1\n    z: 2\nn2: t\nc: [1, 2]\n",
            "a: 1\nn1: o\nb:\n    x: 1\n    z: 2\nn2: t\nc:\n    - 1\n    - 2\n",
            [],
        ),
    ],
)
def test_merge_key_by_key(ours: str, theirs: str, expected: str, conflicts: list[str]) -> None:
    assert _merge(BASE, ours, theirs) == (expected, conflicts)


def test_delete_of_a_key_changed_on_the_other_side_names_the_key() -> None:
    _, conflicts = _merge("a: 1\nb: 2\n", "a: 1\n", "a: 1\nb: 3\n")
    assert conflicts == ["b"]


def test_comments_travel_with_their_key_and_merge_too() -> None:
    base = "# about a\na: 1\nb: 2\n"
    ours = "# about a, revised\na: 1\nb: 2\n"
    theirs = "# about a\na: 1\nb: 3\n"
    assert _merge(base, ours, theirs) == ("# about a, revised\na: 1\nb: 3\n", [])
    _, conflicts = _merge(base, "# one\na: 1\nb: 2\n", "# two\na: 1\nb: 2\n")
    assert conflicts == ["(comments above a)"]


def test_no_common_ancestor_merges_additions() -> None:
    assert _merge(None, "a: 1\nb: 2\n", "a: 1\nc: 3\n") == ("a: 1\nb: 2\nc: 3\n", [])
    assert _merge(None, "a: 1\n", "a: 2\n")[1] == ["a"]


def test_several_documents_merge_one_by_one() -> None:
    base, ours, theirs = "a: 1\n---\nb: 1\n", "a: 2\n---\nb: 1\n", "a: 1\n---\nb: 2\n"
    assert _merge(base, ours, theirs) == ("a: 2\n---\nb: 2\n", [])
    assert _merge(base, "a: 1\n---\nb: 5\n", theirs)[1] == ["doc 2: b"]


def test_trailing_comments_are_kept() -> None:
    merged, _ = merge_documents(
        [Branch([("a", 1)])], [Branch([("a", 2), (Comment(" end"), None)])], [Branch([("a", 1)])]
    )
    assert merged == [Branch([("a", 2), (Comment(" end"), None)])]


GLOBS = [
    (r"\.enc\.yaml$", "*.enc.yaml"),
    (r"^secrets/", "/secrets/**"),
    (r"^secrets/.*\.yaml$", "/secrets/**/*.yaml"),
    (r".*\.sops\.json$", "*.sops.json"),
    (r"^k8s/[^/]*\.enc\.yaml$", "/k8s/*.enc.yaml"),
    (r"\.enc", "*.enc*"),
    (r"(a|b)\.yaml", None),
    (r"_secret\.ya?ml$", None),
    (r"\d+\.yaml$", None),
    (r".*", None),
]


@pytest.mark.parametrize(("regex", "glob"), GLOBS)
def test_regex_to_glob(regex: str, glob: str | None) -> None:
    assert regex_to_glob(regex) == glob


@pytest.mark.parametrize(
    ("regex", "inside", "outside"),
    [
        (r"\.enc\.yaml$", ["a.enc.yaml", "x/y/b.enc.yaml"], ["a.enc.yaml.bak", "a.yaml"]),
        (
            r"^secrets/.*\.yaml$",
            ["secrets/a.yaml", "secrets/x/b.yaml"],
            ["other/secrets/a.yaml", "secrets/a.json"],
        ),
        (r"^k8s/[^/]*\.enc\.yaml$", ["k8s/a.enc.yaml"], ["k8s/x/a.enc.yaml", "a.enc.yaml"]),
    ],
)
def test_globs_match_what_the_regex_matches_as_git_sees_it(
    tmp_path: Path, regex: str, inside: list[str], outside: list[str]
) -> None:
    import re

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    glob = regex_to_glob(regex)
    assert glob is not None
    (tmp_path / ".gitattributes").write_text(block([glob]))
    out = subprocess.run(
        ["git", "check-attr", "merge", "--", *inside, *outside], cwd=tmp_path, capture_output=True, text=True
    ).stdout
    for path in inside:
        assert re.search(regex, path) and f"{path}: merge: sops" in out
    for path in outside:
        assert not re.search(regex, path) and f"{path}: merge: unspecified" in out


def test_patterns_under_a_subdirectory() -> None:
    assert under("", "*.enc.yaml") == "*.enc.yaml"
    assert under("deploy", "*.enc.yaml") == "/deploy/**/*.enc.yaml"
    assert under("deploy/", "/secrets/**") == "/deploy/secrets/**"


def test_block_is_replaced_not_duplicated() -> None:
    text = "*.png binary\n"
    once = with_block(text, ["*.enc.yaml"])
    assert with_block(once, ["*.enc.yaml"]) == once
    assert with_block(once, ["*.sops.json"]).count("diff=sops") == 1
    assert without_block(once) == text
    assert with_block("*.png binary", []) == "*.png binary\n"
