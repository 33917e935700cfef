"""``lockstep sops decrypt``'s argparse-free parser agrees with argparse wherever it answers, answers for
ordinary command lines, and leaves help and mistakes to argparse (same help text, same errors)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sops_plugin import api
from sops_plugin.cli import FORMATS, _decrypt_parser, fast_decrypt_args
from sops_plugin.format.encryption import KeyPlan
from sops_plugin.format.metadata import MasterKey
from sops_plugin.format.rules import CryptRules

from .conftest import AgeKey

OPTIONS = [
    "-i",
    "--in-place",
    "--ignore-mac",
    "--enable-local-keyservice",
    "--verbose",
    "--input-type",
    "--output-type",
    "--output",
    "--config",
    "--extract",
    "--filename-override",
    "--decryption-order",
    "--indent",
    "--keyservice",
]
VALUES = st.one_of(
    st.sampled_from(["s.enc.yaml", *FORMATS, "xml", "", "a=b", "-x", "-1", "-", "--", '["data"]', "age,pgp"]),
    st.text(max_size=6),
)
TOKENS = st.one_of(
    st.sampled_from(OPTIONS),
    st.builds(lambda o, v: f"{o}={v}", st.sampled_from(OPTIONS), VALUES),
    VALUES,
    st.sampled_from(["-h", "--help", "--in", "--out", "--ignore", "-d", "--unknown"]),
)
ENVIRONMENTS = st.dictionaries(
    st.sampled_from(["SOPS_CONFIG", "SOPS_DECRYPTION_ORDER"]),
    st.sampled_from(["", "c.yaml", "age"]),
    max_size=2,
)


def with_argparse(argv: list[str]) -> dict[str, object] | None:
    try:
        return vars(_decrypt_parser("lockstep sops decrypt").parse_args(argv))
    except SystemExit:
        return None


@settings(max_examples=1500, deadline=None)
@given(st.lists(TOKENS, max_size=6), ENVIRONMENTS)
def test_fast_parser_agrees_with_argparse(argv: list[str], environ: dict[str, str]) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("SOPS_CONFIG", "SOPS_DECRYPTION_ORDER")}
    with mock.patch.dict(os.environ, {**clean, **environ}, clear=True):
        fast = fast_decrypt_args(argv, os.environ)
        if fast is not None:
            assert vars(fast) == with_argparse(argv), argv


@pytest.mark.parametrize(
    "argv",
    [
        ["secrets.enc.yaml"],
        [],
        ["--output-type", "json", "secrets.enc.yaml"],
        ["-i", "s.enc.yaml", "--ignore-mac"],
        ["--input-type", "yaml", "--filename-override", "x.yaml", "--extract", '["data"]["key"]'],
        ["--output", "plain.yaml", "--config", ".sops.yaml", "--decryption-order", "age", "s.enc.yaml"],
    ],
)
def test_ordinary_command_lines_take_the_fast_path(argv: list[str]) -> None:
    fast = fast_decrypt_args(argv, os.environ)
    assert fast is not None
    assert vars(fast) == with_argparse(argv)


@pytest.mark.parametrize(
    "argv", [["--help"], ["a", "b"], ["--indent", "2", "a"], ["--output=x", "a"], ["--output-type", "xml"]]
)
def test_help_and_mistakes_go_to_argparse(argv: list[str]) -> None:
    assert fast_decrypt_args(argv, {}) is None


def test_decrypt_help_still_works_and_a_plain_decrypt_needs_no_argparse(tmp_path: Path, key1: AgeKey) -> None:
    """What the start-up budget rests on: a real decrypt imports none of argparse, datetime, hashlib,
    typing or cryptography's Python layer (``--help`` still builds argparse's full help)."""
    help_run = subprocess.run(
        [sys.executable, "-m", "core_sync.cli", "sops", "decrypt", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--ignore-mac" in help_run.stdout and "--extract" in help_run.stdout
    rules = CryptRules(encrypted_regex="^(data|stringData)$")
    plan = KeyPlan([[MasterKey("age", {"recipient": key1.recipient})]])
    plain = b"apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\ndata:\n    password: czNjcjN0\n"
    encrypted = tmp_path / "db.enc.yaml"
    encrypted.write_bytes(api.encrypt_bytes(plain, "yaml", rules, plan))
    heavy = ("argparse", "datetime", "hashlib", "typing", "cryptography.hazmat.primitives")
    probe = (
        "import sys\n"
        "from core_sync.cli import main\n"
        f"code = main(['sops', 'decrypt', {str(encrypted)!r}])\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules), code, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update(SOPS_AGE_KEY_FILE=str(key1.file), HOME=str(tmp_path))
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, timeout=60, env=env, cwd=tmp_path
    )
    assert run.stdout == plain
    assert run.stderr.decode().strip() == "[] 0"
