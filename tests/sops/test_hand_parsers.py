"""The hand-written readers of ``ENC[…]`` values and of ``lastmodified`` accept exactly what sops' patterns
accept and read the same groups: exhaustively over token alphabets built from the patterns' own pieces
(separators, brackets, Unicode digits), and on random text."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sops_plugin.errors import SopsError
from sops_plugin.format.metadata import rfc3339
from sops_plugin.format.values import parse_enc

ENC = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]", re.S)
RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|z|[+-]\d{2}:\d{2})\Z")
ENC_TOKENS = [",iv:", ",tag:", ",type:", "]", "a", ",", "\n", "[", ":"]


def enc_reference(text: str) -> tuple[str, ...] | None:
    m = ENC.match(text)
    return None if m is None else m.groups()


def rfc3339_reference(text: str) -> str | None:
    m = RFC3339.match(text)
    if m is None:
        return None
    zone = m[3].upper()
    return f"{m[1]}T{m[2]}{'Z' if zone in ('+00:00', '-00:00') else zone}"


def rfc3339_ours(text: str) -> str | None:
    try:
        return rfc3339(text)
    except SopsError:
        return None


def test_enc_exhaustive() -> None:
    for n in range(7):
        for tokens in itertools.product(ENC_TOKENS, repeat=n):
            text = "ENC[AES256_GCM,data:" + "".join(tokens)
            assert parse_enc(text) == enc_reference(text), repr(text)


@settings(max_examples=3000)
@given(st.lists(st.sampled_from([*ENC_TOKENS, "ENC[AES256_GCM,data:", "x", "="]), max_size=14))
def test_enc_random_tokens(tokens: list[str]) -> None:
    text = "".join(tokens)
    assert parse_enc(text) == enc_reference(text)
    text = "ENC[AES256_GCM,data:" + text
    assert parse_enc(text) == enc_reference(text)


@given(st.text(max_size=40))
def test_enc_random_text(text: str) -> None:
    assert parse_enc(text) == enc_reference(text)
    assert parse_enc("ENC[AES256_GCM,data:" + text) == enc_reference("ENC[AES256_GCM,data:" + text)


def test_enc_real_value() -> None:
    value = "ENC[AES256_GCM,data:c2VjcmV0,iv:aXZpdml2aXY=,tag:dGFndGFndGFndGFndGFn,type:str]"
    assert parse_enc(value) == ("c2VjcmV0", "aXZpdml2aXY=", "dGFndGFndGFndGFndGFn", "str")


STAMP_PIECES = ["2024", "01", "1", "٣٣", "-", "T", "t", " ", ":", ".", "5", "Z", "z", "+", "00", "\n"]


def test_rfc3339_examples() -> None:
    assert rfc3339("2024-01-02T03:04:05Z") == "2024-01-02T03:04:05Z"
    assert rfc3339("2024-01-02t03:04:05.123456z") == "2024-01-02T03:04:05Z"
    assert rfc3339("2024-01-02T03:04:05+00:00") == "2024-01-02T03:04:05Z"
    assert rfc3339("2024-01-02T03:04:05-05:30") == "2024-01-02T03:04:05-05:30"
    for bad in ("", "2024-01-02T03:04:05", "2024-01-02T03:04:05.Z", "2024-01-02 03:04:05Z"):
        with pytest.raises(SopsError):
            rfc3339(bad)


def test_rfc3339_trailing_newline_refused() -> None:
    with pytest.raises(SopsError):
        rfc3339("2024-01-02T03:04:05Z\n")  # \Z, not $: a final line break is not the end


def test_rfc3339_exhaustive_around_valid() -> None:
    """Every one- and two-character change of valid stamps (other digits, Unicode digits, separators)."""
    bases = ["2024-01-02T03:04:05Z", "2024-01-02T03:04:05.5+01:30", "2024-01-02T03:04:05-00:00"]
    alphabet = "09٣²-Tt :.Z+z\n"
    for base in bases:
        for i, c in itertools.product(range(len(base)), alphabet):
            text = base[:i] + c + base[i + 1 :]
            assert rfc3339_ours(text) == rfc3339_reference(text), repr(text)
            for j, d in itertools.product(range(i + 1, len(text)), "9٣.Z"):
                other = text[:j] + d + text[j + 1 :]
                assert rfc3339_ours(other) == rfc3339_reference(other), repr(other)
        for i in range(len(base) + 1):
            for c in alphabet:
                inserted = base[:i] + c + base[i:]
                assert rfc3339_ours(inserted) == rfc3339_reference(inserted), repr(inserted)
            deleted = base[:i] + base[i + 1 :]
            assert rfc3339_ours(deleted) == rfc3339_reference(deleted), repr(deleted)


@settings(max_examples=3000)
@given(st.lists(st.sampled_from(STAMP_PIECES), max_size=16))
def test_rfc3339_random_pieces(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert rfc3339_ours(text) == rfc3339_reference(text)


@given(st.text(max_size=30))
def test_rfc3339_random_text(text: str) -> None:
    assert rfc3339_ours(text) == rfc3339_reference(text)
