"""Failures: MAC mismatch (51), wrong identity (128), garbled values, missing metadata, bad base64 — each a
clear message naming the file and key path, the same exit code as sops, and no output file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import AgeKey, Sops
from .samples import YAML


def run_cli(
    args: list[str], key_file: Path | None, tmp_path: Path, tmpdir_env: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    if key_file is not None:
        env["SOPS_AGE_KEY_FILE"] = str(key_file)
    if tmpdir_env is not None:
        env["TMPDIR"] = str(tmpdir_env)
    lockstep = Path(sys.executable).parent / "lockstep"
    return subprocess.run(
        [str(lockstep), "sops", *args], capture_output=True, env=env, cwd=tmp_path, check=False
    )


@pytest.fixture
def encrypted(tmp_path: Path, sops_bin: Sops, key1: AgeKey) -> Path:
    (tmp_path / "plain.yaml").write_bytes(YAML)
    out = sops_bin.ok(
        "encrypt",
        "--age",
        key1.recipient,
        "--encrypted-regex",
        "^(data|stringData)$",
        "plain.yaml",
        cwd=tmp_path,
    )
    path = tmp_path / "secret.enc.yaml"
    path.write_bytes(out)
    return path


def both_fail(sops_bin: Sops, path: Path, key: AgeKey, tmp_path: Path, code: int) -> str:
    theirs = sops_bin.run("decrypt", str(path), key_file=key.file)
    ours = run_cli(["decrypt", "--output", "out.yaml", str(path)], key.file, tmp_path)
    assert theirs.returncode == code, theirs.stderr
    assert ours.returncode == code, ours.stderr
    assert ours.stdout == b""
    assert not (tmp_path / "out.yaml").exists()
    message = ours.stderr.decode()
    assert str(path) in message
    return message


def test_tampered_plaintext_field_is_mac_mismatch(
    encrypted: Path, sops_bin: Sops, key1: AgeKey, tmp_path: Path
) -> None:
    encrypted.write_text(encrypted.read_text().replace("namespace: ns", "namespace: other"))
    message = both_fail(sops_bin, encrypted, key1, tmp_path, 51)
    assert "MAC mismatch" in message
    # --ignore-mac decrypts anyway, like sops.
    ok = run_cli(["decrypt", "--ignore-mac", str(encrypted)], key1.file, tmp_path)
    assert ok.returncode == 0 and b"namespace: other" in ok.stdout


def test_wrong_identity_is_128(encrypted: Path, sops_bin: Sops, key2: AgeKey, tmp_path: Path) -> None:
    message = both_fail(sops_bin, encrypted, key2, tmp_path, 128)
    assert "no identity matched" in message
    assert "AGE-SECRET-KEY" not in message


def test_no_identity_at_all_is_128(encrypted: Path, tmp_path: Path) -> None:
    ours = run_cli(["decrypt", str(encrypted)], None, tmp_path)
    assert ours.returncode == 128 and ours.stdout == b""


@pytest.mark.parametrize(
    ("mutate", "expect"),
    [
        (
            lambda t: re.sub(r"(password: ENC\[AES256_GCM,data:)[^,]{3}", r"\1AAA", t, count=1),
            "data.password",
        ),
        (
            lambda t: re.sub(r"(password: ENC\[AES256_GCM,data:[^,]*,iv:)[^,]*", r"\1!!!notb64", t, count=1),
            "base64",
        ),
        (
            lambda t: re.sub(
                r"password: ENC\[AES256_GCM,[^\]]*\]", "password: ENC[AES256_GCM,data:abc", t, count=1
            ),
            "data.password",
        ),
        (
            lambda t: re.sub(r"(note: ENC\[AES256_GCM,.*?)type:str\]", r"\1type:weird]", t, count=1),
            "Unknown datatype",
        ),
    ],
    ids=["garbled-ciphertext", "bad-base64", "truncated", "unknown-type"],
)
def test_broken_values_name_file_and_key(
    mutate: object, expect: str, encrypted: Path, key1: AgeKey, tmp_path: Path
) -> None:
    encrypted.write_text(mutate(encrypted.read_text()))  # type: ignore[operator]
    ours = run_cli(["decrypt", "--output", "out.yaml", str(encrypted)], key1.file, tmp_path)
    assert ours.returncode != 0
    assert ours.stdout == b""
    assert not (tmp_path / "out.yaml").exists()
    message = ours.stderr.decode()
    assert str(encrypted) in message
    assert expect in message
    assert "hunter2" not in message


def test_missing_metadata(tmp_path: Path, key1: AgeKey, sops_bin: Sops) -> None:
    path = tmp_path / "plain.yaml"
    path.write_bytes(YAML)
    theirs = sops_bin.run("decrypt", str(path), key_file=key1.file)
    ours = run_cli(["decrypt", str(path)], key1.file, tmp_path)
    assert theirs.returncode == ours.returncode == 1
    assert "sops metadata not found" in ours.stderr.decode() and str(path) in ours.stderr.decode()


def test_encrypting_an_encrypted_file_is_refused(encrypted: Path, key1: AgeKey, tmp_path: Path) -> None:
    ours = run_cli(["encrypt", "--age", key1.recipient, str(encrypted)], key1.file, tmp_path)
    assert ours.returncode == 203 and b"already encrypted" in ours.stderr


def test_decrypt_leaves_tmpdir_empty(encrypted: Path, key1: AgeKey, tmp_path: Path) -> None:
    empty = tmp_path / "tmp"
    empty.mkdir()
    ours = run_cli(["decrypt", str(encrypted)], key1.file, tmp_path, tmpdir_env=empty)
    assert ours.returncode == 0 and b"hunter2" in ours.stdout
    assert list(empty.iterdir()) == []


def test_help_has_an_example(tmp_path: Path) -> None:
    for command in ("decrypt", "encrypt", "rotate", "updatekeys"):
        out = run_cli([command, "--help"], None, tmp_path)
        assert out.returncode == 0 and b"example:" in out.stdout
