"""``lockstep-sops`` as the ``sops`` binary: every flag and command run side by side with the real sops 3.13.2
on the same files, arguments, stdin and working directory.

Read-only commands must print the same bytes with the same exit code. Commands that write (``set``,
``unset``, ``-i``, ``--output``) must exit alike and leave files that both tools decrypt to the same
plaintext; files encrypted by either tool are edited by the other (both directions). Failures must be one
clear line naming the file (never a traceback) and must leave every file exactly as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import AgeKey, Sops

LOCKSTEP_SOPS = Path(sys.executable).parent / "lockstep-sops"

PLAIN_YAML = b"""a:
    b: hello
    n: 3
    l:
        - x
        - 2
        - k: v
    t: true
    f: 1.5
    none: null
c: top
# a comment
multi: |
    line1
    line2
"""
PLAIN_JSON = b'{"a": {"b": "hello", "n": 3, "l": ["x", 2, {"k": "v"}], "t": true}, "c": "top", "e": {}}'
PLAIN_ENV = b"A=1\n#comment\nB=two words\nC=x=y\n"
PLAIN_INI = b"[sec]\nuser = admin\npass = hunter2\n\n[other]\nk = v\n"
PLAIN = {"s.yaml": PLAIN_YAML, "s.json": PLAIN_JSON, "s.env": PLAIN_ENV, "s.ini": PLAIN_INI}


@dataclass
class Result:
    code: int
    out: bytes
    err: bytes


class Tool:
    """One of the two programs, run with a clean sops environment (HOME, XDG and TMPDIR in the test dir)."""

    def __init__(self, binary: Path, home: Path, key_file: Path) -> None:
        self.binary = binary
        self.home = home
        self.key_file = key_file

    def env(self, key_file: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
        env.update(
            SOPS_DISABLE_VERSION_CHECK="1",
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / "xdg"),
            SOPS_AGE_KEY_FILE=str(key_file or self.key_file),
            TMPDIR=str(self.home / "tmp"),
            XDG_RUNTIME_DIR=str(self.home / "run"),  # Lockstep's scratch directories go here
        )
        return env

    def run(self, args: list[str], cwd: Path, stdin: bytes = b"", key_file: Path | None = None) -> Result:
        proc = subprocess.run(
            [str(self.binary), *args],
            cwd=cwd,
            env=self.env(key_file),
            input=stdin,
            capture_output=True,
            check=False,
            timeout=60,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Pair:
    sops: Tool
    ours: Tool
    root: Path
    key: AgeKey

    def dirs(self) -> tuple[Path, Path]:
        return self.root / "theirs", self.root / "ours"

    def both(
        self, args: list[str], stdin: bytes = b"", key_file: Path | None = None
    ) -> tuple[Result, Result]:
        theirs_dir, ours_dir = self.dirs()
        return (
            self.sops.run(args, theirs_dir, stdin, key_file),
            self.ours.run(args, ours_dir, stdin, key_file),
        )

    def decrypt(self, path: Path, tool: Tool) -> bytes:
        result = tool.run(["decrypt", str(path)], path.parent)
        assert result.code == 0, result.err
        return result.out


def _clean_error(result: Result, named: str = "") -> None:
    """A failure: one line (sops' hint lines aside) naming the file, no traceback."""
    text = result.err.decode()
    assert "Traceback" not in text and text.strip(), text
    assert len(text.strip().splitlines()) <= 3, text
    if named:
        assert named in text, text


@pytest.fixture
def pair(tmp_path: Path, sops_latest_bin: Sops, key1: AgeKey) -> Pair:
    """Two identical working directories: s.* encrypted by sops, l.* by lockstep, p.* plaintext."""
    for name in ("theirs", "ours", "home/tmp", "home/xdg", "home/run"):
        (tmp_path / name).mkdir(parents=True, mode=0o700)
    tools = Pair(
        Tool(sops_latest_bin.binary, tmp_path / "home", key1.file),
        Tool(LOCKSTEP_SOPS, tmp_path / "home", key1.file),
        tmp_path,
        key1,
    )
    seed = tmp_path / "seed"
    seed.mkdir()
    for name, plain in PLAIN.items():
        (seed / name.replace("s.", "p.")).write_bytes(plain)
        for prefix, tool in (("s", tools.sops), ("l", tools.ours)):
            enc = tool.run(["encrypt", "--age", key1.recipient, name.replace("s.", "p.")], seed)
            assert enc.code == 0, enc.err
            (seed / name.replace("s.", f"{prefix}.")).write_bytes(enc.out)
    (seed / "nometa.yaml").write_bytes(PLAIN_YAML)
    for directory in tools.dirs():
        shutil.copytree(seed, directory, dirs_exist_ok=True)
    return tools


def _same(theirs: Result, ours: Result) -> None:
    assert (ours.code, ours.out) == (theirs.code, theirs.out), (theirs.err, ours.err)
    if theirs.code:
        _clean_error(ours)


EXTRACTS = [
    '["a"]["b"]',
    '["a"]["n"]',
    '["a"]["l"]',
    '["a"]["l"][1]',
    '["a"]["l"][2]',
    '["a"]',
    '["a"]["t"]',
    '["a"]["f"]',
    '["a"]["none"]',
    '["multi"]',
    "['a']['b']",
    "",
    '["zz"]',  # not found: 1
    '["a"]["l"][9]',  # out of bounds: 1
    '["a"]["b"][0]',  # an index into a string: 1
    "junk",  # 91
    '["a"',  # 91
    "[a]",  # 91
    "[1_0]",  # 91 (Go's Atoi takes no underscores)
]


@pytest.mark.parametrize("source", ["s.yaml", "l.yaml"])
def test_extract_prints_what_sops_prints(pair: Pair, source: str) -> None:
    """Every path shape (the spelling of the mode flag rotating), then each output store on one of each
    value kind (string, integer, float, bool, null, list, mapping)."""
    styles = (["decrypt"], ["-d"], ["--decrypt"])
    for n, path in enumerate(EXTRACTS):
        _same(*pair.both([*styles[n % 3], "--extract", path, source]))
    for output in ("json", "ini", "dotenv", "binary"):
        for path in ('["a"]["b"]', '["a"]["n"]', '["a"]["f"]', '["a"]["t"]', '["a"]["l"]', '["a"]'):
            _same(*pair.both(["decrypt", "--extract", path, "--output-type", output, source]))


def test_decrypt_flag_styles(pair: Pair) -> None:
    """sops' global flags in each spelling: -d, --decrypt, -decrypt, --flag=value, -flag value."""
    cases = [
        ["-d", "s.yaml"],
        ["--decrypt", "l.yaml"],
        ["-decrypt", "s.json"],
        ["-d", "--output-type=json", "s.yaml"],
        ["-d", "-output-type", "json", "s.yaml"],
        ["--output-type", "yaml", "-d", "s.json"],
        ["-d", "--input-type", "dotenv", "--output-type", "json", "s.env"],
        ["-d", "s.ini"],
        ["-d", "--output-type", "dotenv", "s.ini"],
        ["-d", "--ignore-mac", "s.yaml"],
        ["-d", "--indent", "2", "s.yaml"],
        ["-d", "--indent", "2", "s.json"],
        ["-d", "--age", "age1ignoredindecryptmode", "s.yaml"],
        ["-d", "--filename-override", "x.json", "s.json"],
        ["-d", "s.yaml", "extra-positional-ignored"],
        ["decrypt", "--decryption-order", "age", "s.yaml"],
        ["decrypt", "--decryption-order", "age,age", "s.yaml"],  # 112
        ["-d"],  # no file: 100
        ["-d", "missing.yaml"],  # 100
        ["-e", "missing.yaml"],  # 100
        ["-r", "missing.yaml"],  # 100
        ["-d", "-i", "--output", "x", "s.yaml"],  # 8
        ["-d", "nometa.yaml"],  # 1
    ]
    for args in cases:
        _same(*pair.both(args))


def test_decrypt_from_stdin_as_helm_secrets_calls_it(pair: Pair) -> None:
    """helm-secrets' literal decryption: ``--decrypt --input-type json --output-type json /dev/stdin``."""
    data = (pair.dirs()[0] / "s.json").read_bytes()
    for args in (
        ["--decrypt", "--input-type", "json", "--output-type", "json", "/dev/stdin"],
        ["decrypt", "--input-type", "json", "--output-type", "json"],
    ):
        _same(*pair.both(args, stdin=data))


def test_wrong_key_exits_128_and_writes_nothing(pair: Pair, key2: AgeKey) -> None:
    for args in (
        ["-d", "s.yaml"],
        ["-d", "--output", "out.yaml", "s.yaml"],
        ["-d", "-i", "s.yaml"],
        ["set", "s.yaml", '["c"]', '"x"'],
        ["unset", "s.yaml", '["c"]'],
        ["exec-env", "s.env", "echo $A"],
        ["exec-file", "s.env", "cat {}"],
    ):
        before = {p.name: p.read_bytes() for p in pair.dirs()[1].iterdir()}
        theirs, ours = pair.both(args, key_file=key2.file)
        assert theirs.code == ours.code == 128, (theirs.err, ours.err)
        assert ours.out == b""
        _clean_error(ours, "s.")
        assert {p.name: p.read_bytes() for p in pair.dirs()[1].iterdir()} == before


def test_filestatus(pair: Pair) -> None:
    for directory in pair.dirs():
        (directory / "notmap.yaml").write_bytes(b"sops: 1\n")
        (directory / "broken.yaml").write_bytes(b"a: [\n")
        (directory / "empty.yaml").write_bytes(b"")
        (directory / "nomac.yaml").write_bytes(
            re.sub(rb"\n    mac: .*", b"", (directory / "s.yaml").read_bytes())
        )
        (directory / "nolastmod.yaml").write_bytes(b"sops:\n    version: 3.13.2\n")
        (directory / "sub").mkdir()
    for args in (
        ["filestatus", "s.yaml"],
        ["filestatus", "l.yaml"],
        ["filestatus", "s.env"],
        ["filestatus", "l.ini"],
        ["filestatus", "p.yaml"],
        ["filestatus", "p.json"],
        ["filestatus", "nomac.yaml"],
        ["filestatus", "empty.yaml"],
        ["filestatus", "--input-type", "json", "s.yaml"],  # not JSON: 1
        ["filestatus", "--input-type", "yaml", "s.json"],
        ["filestatus", "notmap.yaml"],  # 1
        ["filestatus", "broken.yaml"],  # 1
        ["filestatus", "nolastmod.yaml"],  # 1
        ["filestatus", "missing.yaml"],  # 1
        ["filestatus", "sub"],  # 1
        ["filestatus"],  # 100
    ):
        _same(*pair.both(args))


SET_CASES = [
    ["set", "{f}", '["a"]["b"]', '"new"'],
    ["set", "{f}", '["x"]["y"][0]', '{"k": [1, 2.5, null], "z": {}}'],
    ["set", "{f}", '["n1"]', "5"],
    ["set", "{f}", '["n3"]', "1e100"],
    ["set", "{f}", '["n4"]', "null"],
    ["set", "{f}", '["n5"]', "{}"],
    ["set", "{f}", '["n6"]', "12345678901234567890"],
    ["set", "{f}", '["a"]["l"][5]', '"appended"'],
    ["set", "{f}", '["a"]["l"][0]', '"replaced"'],
    ["set", "{f}", '["a"]["l"][2]["k"]', "true"],
    ["set", "{f}", '["c"]', ' "spaces around" '],
    ["set", "{f}", '["c"]["d"]', "1.5"],  # a string replaced by a mapping
    ["set", "--idempotent", "{f}", '["c"]', '"top"'],  # unchanged: not written
    ["set", "{f}", '["c"]', '"top"'],  # unchanged, written anyway
    ["set", "{f}", '["n2"]', '[5, "s"]'],  # a top-level array: 7
    ["set", "{f}", '["a"]["b"]', "notjson"],  # 7
    ["set", "{f}", '["x"]', "1e400"],  # beyond float64: 7
    ["set", "{f}", '["x"]', "1" + "0" * 400],  # 7
    ["set", "{f}", '["x"]', "NaN"],  # 7
    ["set", "{f}", '["x"]', '{"deep": 1e400}'],  # 7
    ["set", "{f}", "junk", "1"],  # 7
    ["set", "{f}", '["a"]["b"]'],  # 100
    ["set", "--value-file", "--value-stdin", "{f}", '["a"]', "1"],  # 1
    ["unset", "{f}", '["a"]["b"]'],
    ["unset", "{f}", '["a"]["l"][0]'],
    ["unset", "{f}", '["multi"]'],
    ["unset", "{f}", '["zz"]'],  # 1
    ["unset", "--idempotent", "{f}", '["zz"]'],
    ["unset", "{f}", '["a"]["l"][7]'],  # 1
    ["unset", "{f}", '["a"]["b"]["z"]'],  # 1
    ["unset", "{f}", "bad"],  # 7
    ["unset"],  # 100
]


def _write_case(pair: Pair, args: list[str], source: str, stdin: bytes = b"") -> None:
    """Run ``args`` ({f}: a fresh copy of ``source``) in both directories; compare status, output and the
    resulting files (decrypted by both tools); on failure the file must be unchanged."""
    name = "target" + Path(source).suffix
    argv = [name if a == "{f}" else a for a in args]
    originals = []
    for directory in pair.dirs():
        (directory / name).write_bytes((directory / source).read_bytes())
        originals.append((directory / name).read_bytes())
    theirs, ours = pair.both(argv, stdin=stdin)
    assert (ours.code, ours.out) == (theirs.code, theirs.out), (argv, theirs.err, ours.err)
    targets = [d / name for d in pair.dirs()]
    if theirs.code:
        _clean_error(ours)
        files = [a for a in argv if "." in a]
        assert not files or any(a in ours.err.decode() for a in files), ours.err  # names the file
        assert targets[1].read_bytes() == originals[1], "a failed command changed the file"
        return
    if "--idempotent" in args and targets[0].read_bytes() == originals[0]:
        assert targets[1].read_bytes() == originals[1]
    plain = {pair.decrypt(t, tool) for t in targets for tool in (pair.sops, pair.ours)}
    assert len(plain) == 1, plain


@pytest.mark.parametrize("source", ["s.yaml", "l.yaml", "s.json", "l.json"])
def test_set_and_unset_match_sops_in_both_directions(pair: Pair, source: str) -> None:
    for args in SET_CASES:
        if source.endswith(".json") and ("multi" in str(args) or '"f"' in str(args)):
            continue
        _write_case(pair, args, source)


@pytest.mark.parametrize("source", ["s.env", "l.ini", "s.ini"])
def test_set_and_unset_flat_stores(pair: Pair, source: str) -> None:
    index = '["B"]' if source.endswith(".env") else '["sec"]["user"]'
    for args in (
        ["set", "{f}", index, '"changed value"'],
        ["set", "{f}", index, "3"],
        ["unset", "{f}", index],
        ["set", "{f}", '["NEW"]' if source.endswith(".env") else '["new"]["k"]', '"v"'],
    ):
        _write_case(pair, args, source)


def test_set_value_from_file_and_stdin(pair: Pair) -> None:
    for directory in pair.dirs():
        (directory / "value.json").write_bytes(b'{"from": "file"}\n')
    _write_case(pair, ["set", "--value-file", "{f}", '["a"]["b"]', "value.json"], "s.yaml")
    _write_case(pair, ["set", "--value-file", "{f}", '["a"]["b"]', "missing.json"], "s.yaml")
    _write_case(pair, ["set", "--value-stdin", "{f}", '["a"]["b"]'], "s.yaml", stdin=b'"from stdin"')
    _write_case(pair, ["set", "--value-stdin", "{f}", '["a"]["b"]'], "l.yaml", stdin=b'{"x": [1, 2]}')


def test_set_keeps_the_data_key_and_unchanged_ivs(pair: Pair) -> None:
    """Only the changed value, lastmodified and the MAC differ (sops' stash of IVs), in both tools."""
    for directory, tool in zip(pair.dirs(), (pair.sops, pair.ours), strict=True):
        before = (directory / "s.yaml").read_bytes()
        assert tool.run(["set", "s.yaml", '["a"]["b"]', '"bye"'], directory).code == 0
        after = (directory / "s.yaml").read_bytes()
        changed = {line.split(b":")[0].strip() for line in set(after.splitlines()) ^ set(before.splitlines())}
        assert changed - {b"lastmodified"} == {b"b", b"mac"}, changed  # lastmodified: whole seconds


def test_set_and_unset_on_missing_or_plain_files(pair: Pair) -> None:
    for args in (
        ["set", "missing.yaml", '["a"]', "1"],  # 2
        ["set", "nometa.yaml", '["a"]', "1"],  # 1
        ["unset", "missing.yaml", '["a"]'],  # 2
        ["unset", "nometa.yaml", '["a"]'],  # 1
    ):
        theirs, ours = pair.both(args)
        assert ours.code == theirs.code != 0, (theirs.err, ours.err)
        _clean_error(ours, args[1])
    assert (pair.dirs()[1] / "nometa.yaml").read_bytes() == PLAIN_YAML
    assert not (pair.dirs()[1] / "missing.yaml").exists()


def test_flag_style_set_edits_in_place(pair: Pair) -> None:
    for value in ('["a"]["b"] "via --set"', '["a"]["l"][0] {"k": 1}', "no-bracket 1", '["a"] notjson'):
        for directory in pair.dirs():
            (directory / "target.yaml").write_bytes((directory / "s.yaml").read_bytes())
        theirs, ours = pair.both(["--set", value, "target.yaml"])
        assert (ours.code, ours.out) == (theirs.code, theirs.out), (theirs.err, ours.err)
        targets = [d / "target.yaml" for d in pair.dirs()]
        if theirs.code == 0:
            assert pair.decrypt(targets[0], pair.sops) == pair.decrypt(targets[1], pair.sops)


def _masked(encrypted: bytes) -> bytes:
    """An encrypted file without what differs by randomness or version (values, the sops block)."""
    text = re.sub(rb"ENC\[AES256_GCM,[^\]]*\]", b"ENC[...]", encrypted)
    return re.split(rb"\nsops:\n|,?\n\t\"sops\": \{|\nsops_", text)[0]


def test_encrypt_and_in_place_as_helm_secrets_calls_them(pair: Pair) -> None:
    """helm-secrets' sops backend: ``--encrypt/--decrypt --input-type T --output-type T`` with ``--in-place``
    or ``--output``; the other tool decrypts what each wrote."""
    for directory in pair.dirs():
        (directory / ".sops.yaml").write_bytes(
            f"creation_rules:\n  - path_regex: secrets/.*\n    age: {pair.key.recipient}\n".encode()
        )
        (directory / "secrets").mkdir()
        (directory / "secrets" / "values.yaml").write_bytes(PLAIN_YAML)
    theirs, ours = pair.both(
        ["--encrypt", "--input-type", "yaml", "--output-type", "yaml", "--in-place", "secrets/values.yaml"]
    )
    assert theirs.code == ours.code == 0, (theirs.err, ours.err)
    files = [d / "secrets" / "values.yaml" for d in pair.dirs()]
    assert _masked(files[0].read_bytes()) == _masked(files[1].read_bytes())
    expected = pair.decrypt(pair.dirs()[0] / "s.yaml", pair.sops)
    for f in files:
        for tool in (pair.sops, pair.ours):
            assert pair.decrypt(f, tool) == expected
    args = ["--decrypt", "--input-type", "yaml", "--output-type", "yaml", "--output", "out.yaml"]
    theirs, ours = pair.both([*args, "secrets/values.yaml"])
    assert theirs.code == ours.code == 0, (theirs.err, ours.err)
    assert [(d / "out.yaml").read_bytes() for d in pair.dirs()] == [expected, expected]
    theirs, ours = pair.both(
        ["--decrypt", "--input-type", "yaml", "--output-type", "yaml", "--in-place", "secrets/values.yaml"]
    )
    assert theirs.code == ours.code == 0
    assert [f.read_bytes() for f in files] == [expected, expected]


def test_global_flags_before_a_command(pair: Pair) -> None:
    for directory in pair.dirs():
        (directory / "cfg.yaml").write_bytes(f"creation_rules:\n  - age: {pair.key.recipient}\n".encode())
    theirs, ours = pair.both(["--config", "cfg.yaml", "encrypt", "p.json"])
    assert theirs.code == ours.code == 0, (theirs.err, ours.err)
    assert _masked(theirs.out) == _masked(ours.out)
    _same(*pair.both(["--indent", "2", "decrypt", "s.json"]))
    theirs, ours = pair.both(["-e", "--age", pair.key.recipient, "--output-type", "json", "p.yaml"])
    assert theirs.code == ours.code == 0
    assert _masked(theirs.out) == _masked(ours.out)
    _same(*pair.both(["-e", "--age", pair.key.recipient, "s.yaml"]))  # already encrypted: 203


EXEC_CASES = [
    ["exec-env", "s.env", 'echo "$A|$B|$C"'],
    ["exec-env", "l.env", 'echo "$A|$B|$C"; exit 3'],
    ["exec-env", "s.yaml", "true"],  # a nested value: 1
    ["exec-env", "s.ini", "true"],  # sections are nested: 1
    ["exec-env", "--pristine", "s.env", "env | grep -v '^PWD=' | sort"],
    ["exec-env", "--same-process", "s.env", 'echo "$B"'],
    ["exec-env", "--background", "--same-process", "s.env", "true"],  # 8
    ["exec-env", "s.env", "kill -9 $$"],  # killed by a signal: 255
    ["exec-env", "s.env"],  # 1
    ["exec-env", "missing.env", "true"],  # 2
    ["exec-env", "p.env", "true"],  # no metadata: 1
    ["exec-file", "s.env", "cat {}; test -p {} && echo fifo"],
    ["exec-file", "l.yaml", "cat {}"],
    ["exec-file", "--no-fifo", "s.env", "cat {}; stat -c %a {}; test -f {} && echo file"],
    ["exec-file", "--output-type", "json", "--filename", "my.json", "s.env", "cat {}; basename {}"],
    ["exec-file", "--no-fifo", "--filename", "app.ini", "l.ini", "cat {}; basename {}"],
    ["exec-file", "--filename", "../escape", "s.env", "cat {}"],  # 1
    ["exec-file", "--filename", "/abs", "s.env", "cat {}"],  # 1
    ["exec-file", "s.json", "true"],  # the command never opens the FIFO: no hang
    ["exec-file", "s.yaml", "cat {}; exit 7"],
    ["exec-file", "missing.env", "true"],  # 2
]


def test_exec_env_and_exec_file(pair: Pair) -> None:
    places = [pair.root / "home" / "tmp", pair.root / "home" / "run"]
    for args in EXEC_CASES:
        theirs, ours = pair.both(args)
        assert (ours.code, ours.out) == (theirs.code, theirs.out), (args, theirs.err, ours.err)
        if theirs.code not in (0, 3, 7, 255):
            _clean_error(ours)
        left = [p for place in places for p in place.iterdir()]
        assert not left, f"{args}: left {left}"


def test_exec_file_removes_the_plaintext_on_sigterm(pair: Pair) -> None:
    """``--no-fifo``'s 0600 file (in the RAM-backed scratch place, ``$XDG_RUNTIME_DIR`` here) exists only
    while the command runs, also when Lockstep is killed."""
    tmp = pair.root / "home" / "run"
    directory = pair.dirs()[1]
    proc = subprocess.Popen(
        [str(LOCKSTEP_SOPS), "exec-file", "--no-fifo", "s.env", "exec sleep 30 < {}"],
        cwd=directory,
        env=pair.ours.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while not any(p.is_file() for p in tmp.rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    plain = [p for p in tmp.rglob("*") if p.is_file()]
    assert len(plain) == 1 and plain[0].stat().st_mode & 0o777 == 0o600
    assert plain[0].parent.stat().st_mode & 0o777 == 0o700
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert b"Traceback" not in err
    assert not list(tmp.iterdir())


def test_stores_indentation_of_the_config(pair: Pair) -> None:
    """``.sops.yaml``'s ``stores`` indentation shapes decrypt, --extract and set output as in sops; a broken
    ``stores`` section or an unreadable ``--config`` is an error (1), and ``--indent`` wins."""
    config = b"# comment\nstores:\n  yaml:\n    indent: 2\n  json:\n    indent: 3\n"
    for directory in pair.dirs():
        (directory / ".sops.yaml").write_bytes(config)
    for args in (
        ["-d", "s.yaml"],
        ["-d", "s.json"],
        ["-d", "--output-type", "json", "l.yaml"],
        ["-d", "--extract", '["a"]', "s.yaml"],
        ["-d", "--extract", '["a"]["l"]', "--output-type", "json", "s.yaml"],
        ["-d", "--indent", "5", "s.yaml"],
        ["--config", "missing.yaml", "-d", "s.yaml"],
        ["exec-file", "s.yaml", "cat {}"],
    ):
        _same(*pair.both(args))
    _write_case(pair, ["set", "{f}", '["a"]["b"]', '"two-space file"'], "s.yaml")
    written = [(d / "target.yaml").read_bytes() for d in pair.dirs()]
    assert [_masked(w) for w in written] == [_masked(written[0])] * 2 and b"\n  b: ENC[" in written[1]
    for directory in pair.dirs():
        (directory / ".sops.yaml").write_bytes(b"stores:\n  yaml:\n    indent: 0\n  json:\n    indent: 0\n")
    for args in (["-d", "s.yaml"], ["-d", "s.json"], ["-d", "--output-type", "json", "s.yaml"]):
        _same(*pair.both(args))  # YAML's 0 is its default, JSON's 0 is no indentation
    for bad in (b"stores:\n  yaml:\n    indent: x\n", b"stores: [\n"):
        for directory in pair.dirs():
            (directory / ".sops.yaml").write_bytes(bad)
        _same(*pair.both(["-d", "s.yaml"]))


def test_sops_file_edits_as_helm_secrets_calls_it(pair: Pair) -> None:
    """``sops --input-type yaml --output-type yaml FILE`` (helm-secrets' edit) runs ``lockstep sops edit``
    with $EDITOR: the same exit code and plaintext as sops' own edit, on files encrypted by either tool."""
    editor = pair.root / "editor.sh"
    editor.write_text('#!/bin/sh\nsed -i "s/hello/edited/" "$1"\n')
    editor.chmod(0o755)
    for source in ("s.yaml", "l.yaml"):
        results = []
        for tool, directory in zip((pair.sops, pair.ours), pair.dirs(), strict=True):
            (directory / "edit.yaml").write_bytes((directory / source).read_bytes())
            env = tool.env() | {"EDITOR": str(editor), "SOPS_EDITOR": str(editor)}
            proc = subprocess.run(
                [str(tool.binary), "--input-type", "yaml", "--output-type", "yaml", "edit.yaml"],
                cwd=directory,
                env=env,
                capture_output=True,
                check=False,
                timeout=60,
            )
            results.append((proc.returncode, pair.decrypt(directory / "edit.yaml", pair.sops)))
        assert results[0] == results[1]
        assert results[0][0] == 0 and b"b: edited\n" in results[0][1]


def test_non_age_key_flags_go_to_the_sops_binary(pair: Pair, sops_latest_bin: Sops) -> None:
    """``-e --pgp`` / ``-r --add-pgp``: the whole command line is handed to the sops binary (here sops
    3.13.2 via LOCKSTEP_SOPS, with an empty GnuPG home), whose output and status come back unchanged."""
    gnupg = pair.root / "gnupg"
    gnupg.mkdir(mode=0o700)
    fingerprint = "0" * 40
    for args in (["-e", "--pgp", fingerprint, "p.yaml"], ["-r", "--add-pgp", fingerprint, "s.yaml"]):
        results = []
        for tool, directory in zip((pair.sops, pair.ours), pair.dirs(), strict=True):
            env = tool.env() | {"LOCKSTEP_SOPS": str(sops_latest_bin.binary), "GNUPGHOME": str(gnupg)}
            command = [str(tool.binary), *args]
            proc = subprocess.run(command, cwd=directory, env=env, capture_output=True, timeout=60)
            results.append((proc.returncode, proc.stdout, b"No public key" in proc.stderr))
        assert results[0] == results[1] == (1, b"", True), results
