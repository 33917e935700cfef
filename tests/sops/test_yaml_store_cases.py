"""sops' YAML store test cases (getsops/sops v3.13.2 ``stores/yaml/store_test.go``) as data: plain YAML in,
what sops' store writes back out. Plus the trailing-comment case against both sops binaries.

Deliberate difference: the four ``TestCommentInline*`` cases keep inline comments inline in sops 3.13's
store, but neither sops 3.11.0 nor 3.13.2 keeps them through ``sops encrypt`` + ``sops decrypt`` (checked
below); Lockstep writes them as a line comment before the entry, as both binaries print them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gocompat.yaml.v3.writer import emit_documents
from sops_plugin import api
from sops_plugin.errors import SopsError
from sops_plugin.format.document import parse_plain
from sops_plugin.format.yaml_load import load_documents

from .conftest import AgeKey, Sops, identities

PROM = (
    "## Configuration for prometheus-node-exporter subchart\n##\nprometheus-node-exporter:\n"
    "  podLabels:\n    ## Add the 'node-exporter' label to be used by serviceMonitor\n    ##\n\n"
    "    jobLabel: node-exporter\n  extraArgs:\n"
    "    - --collector.filesystem.ignored-mount-points=^/(dev|proc)($|/)\n"
)
PROM_4 = (
    "## Configuration for prometheus-node-exporter subchart\n##\nprometheus-node-exporter:\n"
    "    podLabels:\n        ## Add the 'node-exporter' label to be used by serviceMonitor\n        ##\n"
    "        jobLabel: node-exporter\n    extraArgs:\n"
    "        - --collector.filesystem.ignored-mount-points=^/(dev|proc)($|/)\n"
)
PROM_2 = PROM.replace("    ##\n\n", "    ##\n")

# name: (input, expected output or None for "unchanged", indent)
CASES: dict[str, tuple[str, str | None, int]] = {
    "TestComment1": ("# test\na:\n    b: null\n    # foo\n", None, 4),
    "TestComment2": ("a:\n    # foo\n    b: null\n", None, 4),
    "TestComment3": (PROM, PROM_4, 4),
    "TestComment6": ("a:\n    - a\n    # I no longer get duplicated\n    - {}\n", None, 4),
    "TestComment7": (
        "a:\n    b:\n        c: d\n    # comment\n\ne:\n    - f\n",
        "a:\n    b:\n        c: d\n    # comment\ne:\n    - f\n",
        4,
    ),
    "TestEmpty3": ("{}\n", None, 4),
    "TestIndent1": (PROM, PROM_2, 2),
    "TestLoadPlainFile": (
        "---\n# comment 0\nkey1: value\nkey1_a: value\n# ^ comment 1\n---\nkey2: value2\n",
        "# comment 0\nkey1: value\nkey1_a: value\n# ^ comment 1\n---\nkey2: value2\n",
        4,
    ),
}
# TestCommentInline*: sops 3.13's store keeps these inline; Lockstep (like both sops binaries end to end)
# moves each inline comment to a line of its own before its entry.
INLINE: dict[str, tuple[str, str]] = {
    "TestCommentInline": (
        "key1: value1 # inline comment\nkey2: value2\n# head comment\nkey3: value3 # another inline\n",
        "# inline comment\nkey1: value1\nkey2: value2\n# head comment\n# another inline\nkey3: value3\n",
    ),
    "TestCommentInlineSequence": (
        "items:\n    - value1 # inline on list item\n    - value2\n",
        "items:\n    # inline on list item\n    - value1\n    - value2\n",
    ),
    "TestCommentInlineMixed": (
        "# heading\nkey1: value1 # inline\nkey2: value2\n",
        "# heading\n# inline\nkey1: value1\nkey2: value2\n",
    ),
    "TestCommentInlineNested": (
        "parent:\n    child1: value1 # nested inline\n    child2: value2\n",
        "parent:\n    # nested inline\n    child1: value1\n    child2: value2\n",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_yaml_store_round_trip(name: str) -> None:
    text, expected, indent = CASES[name]
    assert emit_documents(load_documents(text), indent) == (expected or text)


@pytest.mark.parametrize("name", sorted(INLINE))
def test_inline_comments_become_line_comments(name: str) -> None:
    text, expected = INLINE[name]
    assert emit_documents(load_documents(text), 4) == expected


def test_empty_file_has_no_documents() -> None:  # TestEmpty
    assert load_documents("") == []
    assert emit_documents([], 4) == ""


def test_duplicate_keys_are_refused() -> None:  # TestDuplicateAttributes
    with pytest.raises(SopsError, match='mapping key "hello" already defined'):
        parse_plain(b"hello: world\nhello: again\n", "yaml")


def test_not_a_sops_file() -> None:  # TestUnmarshalMetadataFromNonSOPSFile
    with pytest.raises(SopsError, match="sops metadata not found"):
        api.decrypt_bytes(b"hello: 2", "yaml", [])


def _round_trip(oracle: Sops, key: AgeKey, path: Path) -> tuple[bytes, bytes]:
    encrypted = oracle.ok("encrypt", "--age", key.recipient, str(path))
    return encrypted, oracle.decrypt_stdin(encrypted, "yaml", key.file)


@pytest.mark.parametrize("name", sorted(INLINE))
def test_both_sops_binaries_print_inline_comments_as_line_comments(
    name: str, tmp_path: Path, key1: AgeKey, both_sops: Sops
) -> None:
    path = tmp_path / "inline.yaml"
    path.write_text(INLINE[name][0])
    encrypted = both_sops.ok("encrypt", "--age", key1.recipient, str(path))
    args = ("decrypt", "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin")
    theirs = both_sops.run(*args, key_file=key1.file, stdin=encrypted)
    if theirs.returncode != 0:
        # Both binaries write an inline comment on a list item as a list item of its own (``- ENC[...,
        # type:comment]``); 3.11.0 reads that back, 3.13.2 fails its own file's MAC. Lockstep reads it as
        # 3.11.0 does: the comment was never part of the MAC.
        assert (name, both_sops.binary.parent.name) == ("TestCommentInlineSequence", "sops-v3.13.2")
        assert b"MAC mismatch" in theirs.stderr and b"type:comment]\n    - ENC[" in encrypted
        assert api.decrypt_bytes(encrypted, "yaml", identities(key1)).decode() == INLINE[name][1]
        return
    assert theirs.returncode == 0, theirs.stderr.decode()
    assert theirs.stdout.decode() == INLINE[name][1]
    assert api.decrypt_bytes(encrypted, "yaml", identities(key1)) == theirs.stdout


def test_trailing_comment_stays_at_its_level(tmp_path: Path, key1: AgeKey, both_sops: Sops) -> None:
    """TestComment7 end to end. Both sops binaries write the encrypted comment at ``a``'s level, but read
    it back one level deeper (the blank line after it is gone), where it no longer decrypts: they print
    ``#ENC[...]`` with a warning. Lockstep reads it where it was written and decrypts it: a deliberate
    difference, which sops' own store test (the plaintext round trip) agrees with."""
    text, expected, _ = CASES["TestComment7"]
    path = tmp_path / "c7.yaml"
    path.write_text(text)
    encrypted, theirs = _round_trip(both_sops, key1, path)
    assert b"\n    #ENC[AES256_GCM" in encrypted  # written at a's level
    assert b"\n        #ENC[AES256_GCM" in theirs  # printed one level deeper, undecrypted
    assert api.decrypt_bytes(encrypted, "yaml", identities(key1)).decode() == expected
