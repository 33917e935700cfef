"""Pure format-layer checks that need no peer: Shamir arithmetic and the parser choice."""

from __future__ import annotations

import os

from sops_plugin.format import shamir, yaml_load


def test_shamir_any_threshold_subset_recovers_the_secret() -> None:
    secret = os.urandom(32)
    shares = shamir.split(secret, 5, 3)
    assert all(len(s) == 33 for s in shares)
    assert shamir.combine(shares[:3]) == secret
    assert shamir.combine([shares[4], shares[1], shares[2]]) == secret
    assert shamir.combine(shares[:2]) != secret


def test_comment_free_yaml_uses_libyaml() -> None:
    """The C parser is the fast path (4x per file); it must be importable from PyYAML's wheel."""
    assert yaml_load.HAVE_C
    docs = yaml_load.load_documents("a: 1\nb: [x, {c: 2024-01-02}]\n")
    assert docs[0].get("b")[1].get("c").text == "2024-01-02T00:00:00Z"
