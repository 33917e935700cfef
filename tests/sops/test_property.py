"""Random nested documents round-trip between Lockstep and the real sops binary (hypothesis).

For each document: sops and Lockstep read the same plaintext identically (Lockstep's YAML/JSON output equals
``sops decrypt`` byte for byte), sops decrypts what Lockstep encrypted, and Lockstep decrypts what sops
encrypted.
"""

from __future__ import annotations

import json
import os
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gocompat.yaml.v3.tree import from_plain
from sops_plugin import api
from sops_plugin.format import document as d
from sops_plugin.format.rules import CryptRules

from .conftest import AgeKey, Sops, identities
from .test_keys import plan_for

SIMPLE_KEYS = st.text(alphabet=string.ascii_letters + string.digits + "_-. ", min_size=1, max_size=12)
ANY_KEYS = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=140)
KEYS = st.one_of(SIMPLE_KEYS, ANY_KEYS).filter(
    lambda k: k != "sops" and not ("\n" in k and (k[:1] in (" ", "\n") or "\t" in k))
)
# go-yaml (and so sops) writes a multi-line string starting with a blank inside a list as invalid YAML
# (indent hint 4, content indented 2), so such strings are left out.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30).filter(
    # (and a multi-line string with a tab is written as a literal block go-yaml cannot read back: sops
    # decrypts such a value to null)
    lambda s: not ("\n" in s and (s[:1] in (" ", "\n") or "\t" in s))
)
LEAVES = st.one_of(
    TEXT,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
TREES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)
DOCS = st.dictionaries(KEYS, TREES, min_size=1, max_size=5)


def check(doc: dict[str, Any], fmt: str, sops_bin: Sops, key: AgeKey, rules: CryptRules) -> None:
    plain = d.emit_plain([from_plain(doc)], fmt)
    by_sops = sops_bin.ok(
        "encrypt",
        "--age",
        key.recipient,
        "--input-type",
        fmt,
        "--output-type",
        fmt,
        *(["--encrypted-regex", rules.encrypted_regex] if rules.encrypted_regex else []),
        "/dev/stdin",
        stdin=plain,
    )
    reference = sops_bin.decrypt_stdin(by_sops, fmt, key.file)
    # Lockstep reads the plaintext exactly as sops does (same tree → same bytes).
    assert d.emit_plain(d.parse_plain(plain, fmt), fmt) == reference
    # Lockstep decrypts sops' file.
    assert api.decrypt_bytes(by_sops, fmt, identities(key)) == reference
    # sops decrypts Lockstep's file.
    by_us = api.encrypt_bytes(plain, fmt, rules, plan_for(key))
    assert sops_bin.decrypt_stdin(by_us, fmt, key.file) == reference


EXAMPLES = int(os.environ.get("LOCKSTEP_PROPERTY_EXAMPLES", "40"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(doc=DOCS, regex=st.sampled_from(["", "^[a-m]"]))
def test_yaml_documents_round_trip(doc: dict[str, Any], regex: str, sops_bin: Sops, key1: AgeKey) -> None:
    check(doc, "yaml", sops_bin, key1, CryptRules(encrypted_regex=regex))


@settings(
    max_examples=max(EXAMPLES // 2, 1),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(doc=DOCS)
def test_json_documents_round_trip(doc: dict[str, Any], sops_bin: Sops, key1: AgeKey) -> None:
    # JSON numbers are float64 in sops 3.11; keep integers where a float64 is exact. A float -0 is written
    # as the integer literal -0, which Lockstep (as sops 3.13.2) reads as the int 0 and 3.11 as -0.0: the
    # one value where reading integers exactly differs from 3.11 (docs/sops-compat.md).
    doc = json.loads(
        json.dumps(doc),
        parse_int=lambda s: int(s) if abs(int(s)) < 2**53 else float(s),
        parse_float=lambda s: float(s) or 0.0,
    )
    check(doc, "json", sops_bin, key1, CryptRules())


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True).filter(
    lambda k: not k.startswith("sops")
)
FLAT_VALUES = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\\"), max_size=30
)


@settings(
    max_examples=max(EXAMPLES // 4, 1),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(doc=st.dictionaries(NAMES, FLAT_VALUES, min_size=1, max_size=6))
def test_dotenv_documents_round_trip(doc: dict[str, str], sops_bin: Sops, key1: AgeKey) -> None:
    check(doc, "dotenv", sops_bin, key1, CryptRules())


INI_VALUES = st.text(alphabet=string.ascii_letters + string.digits + " .,:/=+-_", max_size=20).map(str.strip)


@settings(
    max_examples=max(EXAMPLES // 4, 1),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    doc=st.dictionaries(
        NAMES, st.dictionaries(NAMES, INI_VALUES, min_size=1, max_size=4), min_size=1, max_size=3
    )
)
def test_ini_documents_round_trip(doc: dict[str, dict[str, str]], sops_bin: Sops, key1: AgeKey) -> None:
    check(doc, "ini", sops_bin, key1, CryptRules(encrypted_regex="^[A-M]"))
