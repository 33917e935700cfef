"""The hand-written checks that replace go-yaml's patterns on the start-up path accept exactly what the
patterns accept (and read the same groups): exhaustively over small alphabets built from each pattern's
own characters, and on random text."""

from __future__ import annotations

import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from gocompat.yaml.emitter import analyze, analyze_each
from gocompat.yaml.numbers import all_digits, is_yaml_float
from gocompat.yaml.v3.reader import block_header

YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
DIGIT_PATTERNS = {
    2: re.compile(r"[01]+\Z"),
    8: re.compile(r"[0-7]+\Z"),
    10: re.compile(r"[0-9]+\Z"),
    16: re.compile(r"[0-9a-fA-F]+\Z"),
}
BLOCK_HEADER = re.compile(r"\|([1-9]?)([-+]?)([1-9]?)\Z")


def strings(alphabet: str, longest: int) -> itertools.chain[str]:
    return itertools.chain.from_iterable(
        ("".join(p) for p in itertools.product(alphabet, repeat=n)) for n in range(longest + 1)
    )


def test_yaml_float_exhaustive() -> None:
    for text in strings("09.eE+-x_ \n٣", 5):
        assert is_yaml_float(text) == (YAML_FLOAT.match(text) is not None), repr(text)


@settings(max_examples=3000)
@given(st.text(alphabet=st.sampled_from("0123456789.eE+-_ax\n٣"), max_size=24) | st.text(max_size=12))
def test_yaml_float_random(text: str) -> None:
    assert is_yaml_float(text) == (YAML_FLOAT.match(text) is not None)


def test_yaml_float_examples() -> None:
    accepted = ["1.5", "-1.5", "+.5", "1.", "1e5", "1.e-5", ".5E+10", "0", "007"]
    rejected = ["3.11.0", ".", "-", "+", "e5", "1e", "1e+", ".e5", "1.5\n", "1..5", "1e5e5", "١", "1_0"]
    assert all(is_yaml_float(t) for t in accepted)
    assert not any(is_yaml_float(t) for t in rejected)


def test_digit_sets_exhaustive() -> None:
    for text in strings("0178fF9gx-\n٣", 4):
        for base, pattern in DIGIT_PATTERNS.items():
            assert all_digits(text, base) == (pattern.match(text) is not None), (base, text)


@settings(max_examples=2000)
@given(st.text(max_size=10), st.sampled_from(sorted(DIGIT_PATTERNS)))
def test_digit_sets_random(text: str, base: int) -> None:
    assert all_digits(text, base) == (DIGIT_PATTERNS[base].match(text) is not None)


def test_block_header_exhaustive() -> None:
    for text in strings("|019-+ a\n", 5):
        m = BLOCK_HEADER.match(text)
        assert block_header(text) == (None if m is None else m.groups()), repr(text)


@settings(max_examples=2000)
@given(st.text(max_size=8).map(lambda t: "|" + t) | st.text(max_size=8))
def test_block_header_random(text: str) -> None:
    m = BLOCK_HEADER.match(text)
    assert block_header(text) == (None if m is None else m.groups())


@settings(max_examples=3000)
@given(
    st.text(alphabet=st.sampled_from("aZ09+/=-?:#.|>'\"!&*%@`[]{},_ \t\n~"), min_size=1, max_size=8),
    st.booleans(),
)
def test_emitter_analysis_shortcut(value: str, v3: bool) -> None:
    """The emitter's shortcut for visible ASCII scalars gives the character-by-character answer."""
    assert analyze(value, v3=v3) == analyze_each(value, v3=v3)


def test_emitter_analysis_shortcut_exhaustive() -> None:
    for value in strings("a-.?:#|' ", 4):
        if value:
            for v3 in (False, True):
                assert analyze(value, v3=v3) == analyze_each(value, v3=v3), repr(value)
