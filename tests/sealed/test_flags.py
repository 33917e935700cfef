"""The fast flag parser agrees with argparse wherever it answers, and answers for ordinary command lines."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealed.flags import FLAGS, build_parser, env_name, fast_parse

OPTIONS = [option for flag in FLAGS for option in flag[0]]
VALUES = st.one_of(
    st.sampled_from(["cert.pem", "yaml", "", "a=b", "-x", "-1", "--raw", "ns/name", "x y", "-", "--"]),
    st.text(max_size=6),
)
TOKENS = st.one_of(
    st.sampled_from(OPTIONS),
    st.builds(lambda o, v: f"{o}={v}", st.sampled_from(OPTIONS), VALUES),
    VALUES,
    st.sampled_from(["-h", "--help", "--cer", "--rot", "-ojson", "--unknown"]),
)
ENVIRONMENTS = st.dictionaries(
    st.sampled_from([env_name(flag) for flag in FLAGS]),
    st.sampled_from(["true", "0", "a b", "x.pem"]),
    max_size=3,
)


def with_argparse(argv: list[str], environ: dict[str, str]) -> dict[str, object] | None:
    parser = build_parser("lockstep seal", "", "", environ)
    try:
        return vars(parser.parse_args(argv))
    except SystemExit:
        return None


@settings(max_examples=1500, deadline=None)
@given(st.lists(TOKENS, max_size=8), ENVIRONMENTS)
def test_fast_parser_agrees_with_argparse(argv: list[str], environ: dict[str, str]) -> None:
    fast = fast_parse(argv, environ)
    if fast is not None:
        assert fast == with_argparse(argv, environ), argv


@pytest.mark.parametrize(
    "argv",
    [
        ["--cert", "cert.pem", "-f", "secret.yaml", "-w", "sealed.yaml"],
        ["--cert=cert.pem", "-o", "yaml", "--scope", "cluster-wide"],
        ["--raw", "--namespace", "app", "--name", "db", "--from-file", "value.txt", "--cert", "c.pem"],
        ["--recovery-unseal", "--recovery-private-key", "a.key,b.key", "--recovery-private-key", "c.yaml"],
        ["--cert", "c.pem", "--in-place", "deploy", "base", "--replace", "--dry-run"],
        ["--controller-url", "http://127.0.0.1:8080", "--re-encrypt", "-f", "s.json"],
        [],
    ],
)
def test_ordinary_command_lines_take_the_fast_path(argv: list[str]) -> None:
    fast = fast_parse(argv, {"SEALED_SECRETS_CERT": "env.pem"})
    assert fast is not None
    assert fast == with_argparse(argv, {"SEALED_SECRETS_CERT": "env.pem"})


def test_seal_args_has_exactly_the_flag_table() -> None:
    """The typed options object and the flag table cannot drift apart: one attribute per destination."""
    from sealed.seal_args import SealArgs

    assert sorted(SealArgs.__slots__) == sorted(flag[1] for flag in FLAGS)
    assert set(SealArgs.__annotations__) == set(SealArgs.__slots__)
