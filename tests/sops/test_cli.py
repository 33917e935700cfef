"""The ``lockstep sops`` commands' flags, run in process against files sops writes and reads."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sops_plugin import cli, cli_encrypt, cli_keys

from .conftest import AgeKey, Sops
from .samples import YAML

Capture = pytest.CaptureFixture[bytes]


@pytest.fixture
def enc(tmp_path: Path, sops_bin: Sops, key1: AgeKey) -> Path:
    (tmp_path / "p.yaml").write_bytes(YAML)
    path = tmp_path / "s.enc.yaml"
    path.write_bytes(sops_bin.ok("encrypt", "--age", key1.recipient, "p.yaml", cwd=tmp_path))
    return path


def test_output_type_in_place_output_and_stdin(
    enc: Path,
    tmp_path: Path,
    sops_bin: Sops,
    key1: AgeKey,
    lockstep_env: pytest.MonkeyPatch,
    capsysbinary: Capture,
) -> None:
    lockstep_env.setenv("SOPS_AGE_KEY_FILE", str(key1.file))
    assert cli.decrypt(["--output-type", "json", str(enc)], prog="d") == 0
    ours_json = capsysbinary.readouterr().out
    assert ours_json == sops_bin.ok("decrypt", "--output-type", "json", str(enc), key_file=key1.file)
    assert json.loads(ours_json)["data"]["password"] == "hunter2"

    out = tmp_path / "out.yaml"
    assert cli.decrypt(["--output", str(out), str(enc)], prog="d") == 0
    expected = sops_bin.ok("decrypt", str(enc), key_file=key1.file)
    assert out.read_bytes() == expected

    lockstep_env.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(enc.read_bytes())))
    assert cli.decrypt(["--input-type", "yaml", "-"], prog="d") == 0
    assert capsysbinary.readouterr().out == expected

    copy = tmp_path / "copy.enc.yaml"
    copy.write_bytes(enc.read_bytes())
    assert cli.decrypt(["-i", str(copy)], prog="d") == 0
    assert copy.read_bytes() == expected
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


def test_encrypt_with_recipients_from_environment_in_place(
    tmp_path: Path, sops_bin: Sops, key1: AgeKey, key2: AgeKey, lockstep_env: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "p.json"
    plain.write_bytes(b'{"user": "admin", "password": "hunter2"}')
    lockstep_env.setenv("SOPS_AGE_RECIPIENTS", f"{key1.recipient},{key2.recipient}")
    lockstep_env.chdir(tmp_path)
    assert cli_encrypt.encrypt(["-i", "--unencrypted-regex", "^user$", str(plain)], prog="e") == 0
    text = plain.read_text()
    assert '"user": "admin"' in text and "hunter2" not in text
    assert json.loads(sops_bin.ok("decrypt", str(plain), key_file=key2.file))["password"] == "hunter2"


def test_encrypt_without_keys_fails_cleanly(
    tmp_path: Path, lockstep_env: pytest.MonkeyPatch, capsysbinary: Capture
) -> None:
    plain = tmp_path / "p.yaml"
    plain.write_bytes(YAML)
    lockstep_env.chdir(tmp_path)
    assert cli_encrypt.encrypt([str(plain)], prog="e") == 1
    captured = capsysbinary.readouterr()
    assert captured.out == b"" and b"no keys provided" in captured.err and str(plain).encode() in captured.err


def test_conflicting_rule_flags(
    tmp_path: Path, key1: AgeKey, lockstep_env: pytest.MonkeyPatch, capsysbinary: Capture
) -> None:
    plain = tmp_path / "p.yaml"
    plain.write_bytes(YAML)
    argv = ["--age", key1.recipient, "--encrypted-regex", "a", "--unencrypted-suffix", "_x", str(plain)]
    assert cli_encrypt.encrypt(argv, prog="e") == 8
    assert capsysbinary.readouterr().out == b""


def test_rotate_several_files_needs_in_place(enc: Path, capsysbinary: Capture) -> None:
    assert cli_keys.rotate([str(enc), str(enc)], prog="r") == 1
    assert b"in-place" in capsysbinary.readouterr().err


def test_which_keys_go_to_the_sops_binary(key1: AgeKey) -> None:
    assert not cli._needs_binary("age", key1.recipient)
    assert cli._needs_binary("age", "age1pq1" + key1.recipient[4:])
    assert cli._needs_binary("age", "age1yubikey1" + key1.recipient[4:])
    assert cli._needs_binary("pgp", "")
