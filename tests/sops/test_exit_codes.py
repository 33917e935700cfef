"""Exit codes, side by side with the real sops binary: the same file, args and working directory give the
same status (sops' cmd/sops/codes table), and Lockstep's message names the file without a traceback.

Scripts check these numbers (51 for tampering, 100 for a missing file, 128 for no usable key), so every
error the CLI can produce is listed here with the code sops gives for it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import AgeKey, Sops
from .test_errors import run_cli

PLAIN = (
    b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: ns\nstringData:\n  password: hunter2\n"
)


@dataclass
class Case:
    """Files to create (name → bytes, or a function of the encrypted sample and recipient), the argv
    after the program name ({rec} is the recipient), the working directory and the expected code."""

    files: dict[str, bytes | Callable[[str, str], str]]
    argv: list[str]
    code: int
    cwd: str = "."
    named: str = ""  # a file name Lockstep's message must contain (default: the last argv item)


def _sub(pattern: str, repl: str) -> Callable[[str, str], str]:
    return lambda enc, _rec: re.sub(pattern, repl, enc, count=1)


def _config(body: str) -> Callable[[str, str], str]:
    return lambda _enc, rec: body.replace("{rec}", rec)


ENC = _sub(r"^$", "")  # the encrypted sample unchanged
CASES = {
    "decrypt-missing-file": Case({}, ["decrypt", "missing.yaml"], 100),
    "encrypt-missing-file": Case({}, ["encrypt", "--age", "{rec}", "missing.yaml"], 100),
    "decrypt-directory": Case({"dir.yaml/x": b""}, ["decrypt", "dir.yaml"], 2),
    "encrypt-directory": Case({"dir.yaml/x": b""}, ["encrypt", "--age", "{rec}", "dir.yaml"], 2),
    "rotate-missing-file": Case({}, ["rotate", "-i", "missing.yaml"], 2),
    "tampered-mac": Case(
        {"s.yaml": _sub(r"(mac: ENC\[AES256_GCM,data:)[^,]{4}", r"\1AAAA")}, ["decrypt", "s.yaml"], 51
    ),
    "rotate-tampered-mac": Case(
        {"s.yaml": _sub(r"(mac: ENC\[AES256_GCM,data:)[^,]{4}", r"\1AAAA")}, ["rotate", "s.yaml"], 51
    ),
    "no-mac": Case({"s.yaml": _sub(r"\n    mac: .*", "")}, ["decrypt", "s.yaml"], 51),
    "no-version": Case({"s.yaml": _sub(r"\n    version: .*", "")}, ["decrypt", "s.yaml"], 1),
    "bad-version": Case({"s.yaml": _sub(r"(\n    version: ).*", r"\g<1>3.7")}, ["decrypt", "s.yaml"], 1),
    "leading-zero-version": Case(
        {"s.yaml": _sub(r"(\n    version: ).*", r"\g<1>03.7.1")}, ["decrypt", "s.yaml"], 1
    ),
    "no-keys-in-file": Case({"s.yaml": _sub(r"\n    age:\n(        .*\n)+", "\n")}, ["decrypt", "s.yaml"], 1),
    "garbled-value": Case(
        {"s.yaml": _sub(r"(password: ENC\[AES256_GCM,data:)[^,]{3}", r"\1AAA")}, ["decrypt", "s.yaml"], 25
    ),
    "bad-lastmodified": Case(
        {"s.yaml": _sub(r"(\n    lastmodified: ).*", r"\1'garbage'")}, ["decrypt", "s.yaml"], 1
    ),
    "mac-not-enc": Case({"s.yaml": _sub(r"(\n    mac: ).*", r"\1garbage")}, ["decrypt", "s.yaml"], 51),
    "metadata-not-a-mapping": Case({"p.yaml": PLAIN + b"sops: hello\n"}, ["decrypt", "p.yaml"], 1),
    "updatekeys-no-metadata": Case(
        {"c/.sops.yaml": _config("creation_rules:\n  - age: {rec}\n"), "c/p.yaml": PLAIN},
        ["updatekeys", "-y", "p.yaml"],
        1,
        cwd="c",
    ),
    "no-metadata": Case({"p.yaml": PLAIN}, ["decrypt", "p.yaml"], 1),
    "decrypt-empty": Case({"e.yaml": b""}, ["decrypt", "e.yaml"], 1),
    "decrypt-bad-yaml": Case({"b.yaml": b"a: [\n"}, ["decrypt", "b.yaml"], 1),
    "decrypt-bad-json": Case({"b.json": b'{"a": \n'}, ["decrypt", "b.json"], 1),
    "decrypt-deep-json": Case({"d.json": b"[" * 10000 + b"]" * 10000}, ["decrypt", "d.json"], 1),
    "decrypt-not-utf8": Case({"n.yaml": b"a: \xff\n"}, ["decrypt", "n.yaml"], 1),
    "encrypt-empty": Case({"e.yaml": b""}, ["encrypt", "--age", "{rec}", "e.yaml"], 92),
    "encrypt-blank": Case({"e.yaml": b"\n\n"}, ["encrypt", "--age", "{rec}", "e.yaml"], 2),
    "encrypt-only-comment": Case({"e.yaml": b"# c\n"}, ["encrypt", "--age", "{rec}", "e.yaml"], 2),
    "encrypt-empty-json": Case({"e.json": b""}, ["encrypt", "--age", "{rec}", "e.json"], 2),
    "encrypt-bad-yaml": Case({"b.yaml": b"a: [\n"}, ["encrypt", "--age", "{rec}", "b.yaml"], 2),
    "encrypt-list": Case({"l.yaml": b"- a\n- b\n"}, ["encrypt", "--age", "{rec}", "l.yaml"], 2),
    "encrypt-json-array": Case({"a.json": b"[1]"}, ["encrypt", "--age", "{rec}", "a.json"], 2),
    "encrypt-deep-json": Case(
        {"d.json": b"[" * 10000 + b"]" * 10000}, ["encrypt", "--age", "{rec}", "d.json"], 2
    ),
    "encrypt-not-utf8": Case({"n.yaml": b"a: \xff\n"}, ["encrypt", "--age", "{rec}", "n.yaml"], 2),
    "encrypt-bad-dotenv": Case({"b.env": b"novalue\n"}, ["encrypt", "--age", "{rec}", "b.env"], 2),
    "encrypt-bad-ini": Case({"b.ini": b"[a\n"}, ["encrypt", "--age", "{rec}", "b.ini"], 2),
    "encrypt-nested-to-dotenv": Case(
        {"n.yaml": b"a:\n  b: c\n"}, ["encrypt", "--age", "{rec}", "--output-type", "dotenv", "n.yaml"], 4
    ),
    "decrypt-nested-to-dotenv": Case({"s.yaml": ENC}, ["decrypt", "--output-type", "dotenv", "s.yaml"], 4),
    "decrypt-flat-to-ini": Case({"s.yaml": ENC}, ["decrypt", "--output-type", "ini", "s.yaml"], 4),
    "already-encrypted": Case({"s.yaml": ENC}, ["encrypt", "--age", "{rec}", "s.yaml"], 203),
    "wrong-key": Case({"s.yaml": ENC}, ["decrypt", "s.yaml"], 128),
    "garbage-age-recipient": Case({"p.yaml": PLAIN}, ["encrypt", "--age", "garbage", "p.yaml"], 1),
    "rotate-add-garbage-recipient": Case({"s.yaml": ENC}, ["rotate", "--add-age", "garbage", "s.yaml"], 1),
    "no-keys": Case({"p.yaml": PLAIN}, ["encrypt", "p.yaml"], 1),
    "two-crypt-rules": Case(
        {"p.yaml": PLAIN},
        ["encrypt", "--age", "{rec}", "--encrypted-regex", "a", "--unencrypted-regex", "b", "p.yaml"],
        8,
    ),
    "output-is-directory": Case(
        {"s.yaml": ENC, "out/x": b""}, ["decrypt", "--output", "out", "s.yaml"], 3, named="out"
    ),
    "output-dir-missing": Case(
        {"s.yaml": ENC}, ["decrypt", "--output", "nodir/x.yaml", "s.yaml"], 3, named="nodir/x.yaml"
    ),
    "config-bad-path-regex": Case(
        {
            "c/.sops.yaml": _config("creation_rules:\n  - path_regex: '(['\n    age: {rec}\n"),
            "c/p.yaml": PLAIN,
        },
        ["encrypt", "p.yaml"],
        1,
        cwd="c",
    ),
    "config-bad-recipient": Case(
        {"c/.sops.yaml": _config("creation_rules:\n  - age: garbage\n"), "c/p.yaml": PLAIN},
        ["encrypt", "p.yaml"],
        1,
        cwd="c",
    ),
    "config-bad-yaml": Case(
        {"c/.sops.yaml": b"creation_rules: [\n", "c/p.yaml": PLAIN}, ["encrypt", "p.yaml"], 1, cwd="c"
    ),
    "config-no-match": Case(
        {
            "c/.sops.yaml": _config("creation_rules:\n  - path_regex: nomatch\n    age: {rec}\n"),
            "c/p.yaml": PLAIN,
        },
        ["encrypt", "p.yaml"],
        1,
        cwd="c",
    ),
    "config-rules-not-a-list": Case(
        {"c/.sops.yaml": b"creation_rules: hello\n", "c/p.yaml": PLAIN}, ["encrypt", "p.yaml"], 1, cwd="c"
    ),
    "config-key-groups-not-a-list": Case(
        {"c/.sops.yaml": b"creation_rules:\n  - key_groups: 1\n", "c/p.yaml": PLAIN},
        ["encrypt", "p.yaml"],
        1,
        cwd="c",
    ),
    "config-merge-not-a-list": Case(
        {"c/.sops.yaml": b"creation_rules:\n  - key_groups:\n    - merge: 1\n", "c/p.yaml": PLAIN},
        ["encrypt", "p.yaml"],
        1,
        cwd="c",
    ),
    "updatekeys-no-config": Case({"s.yaml": ENC}, ["updatekeys", "-y", "s.yaml"], 1),
    "updatekeys-missing-file": Case(
        {"c/.sops.yaml": _config("creation_rules:\n  - age: {rec}\n")},
        ["updatekeys", "-y", "m.yaml"],
        1,
        cwd="c",
    ),
    "updatekeys-bad-path-regex": Case(
        {"c/.sops.yaml": _config("creation_rules:\n  - path_regex: '(['\n    age: {rec}\n"), "c/s.yaml": ENC},
        ["updatekeys", "-y", "s.yaml"],
        1,
        cwd="c",
    ),
    "updatekeys-bad-recipient": Case(
        {"c/.sops.yaml": b"creation_rules:\n  - age: garbage\n", "c/s.yaml": ENC},
        ["updatekeys", "-y", "s.yaml"],
        1,
        cwd="c",
    ),
    "updatekeys-empty-config": Case(
        {"c/.sops.yaml": b"", "c/s.yaml": ENC}, ["updatekeys", "-y", "s.yaml"], 1, cwd="c"
    ),
}


@pytest.fixture(scope="module")
def encrypted_sample(sops_bin: Sops, key1: AgeKey, tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("sample")
    (directory / "p.yaml").write_bytes(PLAIN)
    return sops_bin.ok("encrypt", "--age", key1.recipient, "p.yaml", cwd=directory).decode()


def _materialise(root: Path, case: Case, enc: str, rec: str) -> None:
    for name, content in case.files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/x"):
            continue  # only the directory is wanted
        data = content(enc, rec) if callable(content) else content
        path.write_bytes(data.encode() if isinstance(data, str) else data)


def _run_both(
    name: str, tmp_path: Path, sops_bin: Sops, key: AgeKey, enc: str, rec: str
) -> tuple[subprocess.CompletedProcess[bytes], subprocess.CompletedProcess[bytes], Case]:
    case = CASES[name]
    argv = [a.replace("{rec}", rec) for a in case.argv]
    theirs_root, ours_root = tmp_path / "sops", tmp_path / "lockstep"
    for root in (theirs_root, ours_root):
        root.mkdir()
        _materialise(root, case, enc, rec)
    theirs = sops_bin.run(*argv, key_file=key.file, cwd=theirs_root / case.cwd)
    ours = run_cli(argv, key.file, ours_root / case.cwd)
    return theirs, ours, case


@pytest.mark.parametrize("name", sorted(CASES))
def test_exit_code_matches_sops(
    name: str, tmp_path: Path, sops_bin: Sops, key1: AgeKey, key2: AgeKey, encrypted_sample: str
) -> None:
    key = key2 if name == "wrong-key" else key1
    theirs, ours, case = _run_both(name, tmp_path, sops_bin, key, encrypted_sample, key1.recipient)
    message = ours.stderr.decode()
    assert theirs.returncode == case.code, theirs.stderr.decode()
    assert ours.returncode == case.code, message
    assert "Traceback" not in message and message.strip()
    assert (case.named or case.argv[-1]) in message
    assert "hunter2" not in message and "AGE-SECRET-KEY" not in message
