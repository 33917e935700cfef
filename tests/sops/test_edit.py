"""``lockstep sops edit`` with scripted editors: the smallest diff (unchanged values' ``ENC[…]`` strings
byte-identical, the MAC renewed, the real sops 3.13.2 decrypts the result), sops' exit codes (200 unchanged,
201 editor failure), refusing invalid edits, and no plaintext left in the scratch area on any exit path —
editor failure, an editor killed by a signal, SIGINT/SIGTERM/SIGHUP to lockstep, and SIGKILL (swept by the
next run)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import AgeKey, Sops

PLAIN = (
    b"db:\n    user: admin\n    password: hunter2\n    port: 5432\n"
    b"# rotated yearly\napi_token: tok-123\nflags:\n    - one\n    - two\n"
)
ENC = re.compile(rb"ENC\[AES256_GCM,[^\]]*\]")


def _env(tmp_path: Path, key: AgeKey, editor: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "EDITOR", "VISUAL"))}
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        XDG_RUNTIME_DIR=str(runtime),
        SOPS_AGE_KEY_FILE=str(key.file),
        EDITOR=editor,
        TRACE=str(tmp_path / "trace"),
    )
    return env


def _editor(tmp_path: Path, name: str, body: str) -> str:
    """A shell script editor: records the file it was given (path, modes), then runs ``body`` on "$1"."""
    script = tmp_path / name
    script.write_text(
        "#!/bin/sh\n"
        'printf "%s\\n" "$1" >> "$TRACE"\n'
        'stat -c "%a" "$1" >> "$TRACE"\n'
        'stat -c "%a" "$(dirname "$1")" >> "$TRACE"\n' + body + "\n"
    )
    script.chmod(0o755)
    return str(script)


def _lockstep(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    lockstep = Path(sys.executable).parent / "lockstep"
    return subprocess.run(
        [str(lockstep), "sops", *args], env=env, cwd=cwd, capture_output=True, stdin=subprocess.DEVNULL
    )


def _encrypted(
    tmp_path: Path, sops_bin: Sops, key: AgeKey, plain: bytes = PLAIN, name: str = "s.yaml"
) -> Path:
    (tmp_path / f"plain-{name}").write_bytes(plain)
    path = tmp_path / name
    path.write_bytes(sops_bin.ok("encrypt", "--age", key.recipient, f"plain-{name}", cwd=tmp_path))
    (tmp_path / f"plain-{name}").unlink()
    return path


def _scratch_is_empty(tmp_path: Path) -> None:
    leftovers = [str(p) for p in (tmp_path / "runtime").rglob("*")]
    assert leftovers == []


def _trace(tmp_path: Path) -> list[str]:
    return (tmp_path / "trace").read_text().splitlines()


def test_edit_changes_one_value_and_keeps_every_other_ciphertext(
    tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops
) -> None:
    path = _encrypted(tmp_path, sops_latest_bin, key1)
    before = path.read_bytes()
    editor = _editor(tmp_path, "ed.sh", "sed -i 's/hunter2/correct-horse/' \"$1\"")
    done = _lockstep(["edit", path.name], _env(tmp_path, key1, editor), tmp_path)
    assert done.returncode == 0, done.stderr
    after = path.read_bytes()

    old_values, new_values = ENC.findall(before), ENC.findall(after)
    assert len(old_values) == len(new_values)
    changed = [n for n, (a, b) in enumerate(zip(old_values, new_values, strict=True)) if a != b]
    # the password, and the MAC (its AAD is the new lastmodified): nothing else
    assert len(changed) == 2
    old_lines, new_lines = before.splitlines(), after.splitlines()
    differing = [a for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    keys = [line.split(b":")[0].strip() for line in differing]
    assert keys in ([b"password", b"lastmodified", b"mac"], [b"password", b"mac"])  # same second: same time

    plain = sops_latest_bin.ok("decrypt", path.name, key_file=key1.file, cwd=tmp_path)
    assert plain == PLAIN.replace(b"hunter2", b"correct-horse")

    runtime = tmp_path / "runtime"
    given, file_mode, dir_mode = _trace(tmp_path)
    assert Path(given).parent.parent == runtime  # a private directory on the RAM-backed runtime dir
    assert Path(given).name == "s.yaml"  # the editor sees the extension
    assert (file_mode, dir_mode) == ("600", "700")
    _scratch_is_empty(tmp_path)


@pytest.mark.parametrize(
    ("name", "plain", "sed"),
    [
        ("s.json", b'{\n\t"a": "one",\n\t"b": "two",\n\t"n": 3\n}\n', "s/two/zwei/"),
        ("s.env", b"A=one\nB=two\nN=3\n", "s/two/zwei/"),
        ("s.ini", b"[sec]\na = one\nb = two\n", "s/two/zwei/"),
    ],
)
def test_edit_other_formats_keeps_unchanged_values(
    tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops, name: str, plain: bytes, sed: str
) -> None:
    path = _encrypted(tmp_path, sops_latest_bin, key1, plain, name)
    before = set(ENC.findall(path.read_bytes()))
    editor = _editor(tmp_path, "ed.sh", f"sed -i '{sed}' \"$1\"")
    done = _lockstep(["edit", path.name], _env(tmp_path, key1, editor), tmp_path)
    assert done.returncode == 0, done.stderr
    after = set(ENC.findall(path.read_bytes()))
    assert len(after - before) == 2  # the changed value and the MAC
    opened = sops_latest_bin.ok("decrypt", path.name, key_file=key1.file, cwd=tmp_path)
    assert b"zwei" in opened and b"two" not in opened
    _scratch_is_empty(tmp_path)


def test_unchanged_file_exits_200_and_writes_nothing(
    tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops
) -> None:
    path = _encrypted(tmp_path, sops_latest_bin, key1)
    before = path.read_bytes()
    done = _lockstep(["edit", path.name], _env(tmp_path, key1, _editor(tmp_path, "ed.sh", "true")), tmp_path)
    assert done.returncode == 200
    assert b"File has not changed, exiting." in done.stderr
    assert path.read_bytes() == before
    _scratch_is_empty(tmp_path)
    theirs = sops_latest_bin.run("edit", path.name, key_file=key1.file, cwd=tmp_path, env={"EDITOR": "true"})
    assert theirs.returncode == 200


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ("printf 'db: [unclosed\\n' > \"$1\"", 2, b"Error unmarshaling input YAML"),
        ("printf 'sops: {}\\na: b\\n' > \"$1\"", 203, b"File already encrypted"),
        (': > "$1"', 92, b"at least one document"),
        ("sed -i 's/hunter2/x/' \"$1\"; exit 3", 201, b"Could not run editor: exit status 3"),
        ("sed -i 's/hunter2/x/' \"$1\"; kill -KILL $$", 201, b"Could not run editor: signal: killed"),
    ],
    ids=["invalid-yaml", "sops-key", "empty", "editor-fails", "editor-killed"],
)
def test_refused_edit_leaves_file_and_no_plaintext(
    tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops, body: str, code: int, message: bytes
) -> None:
    path = _encrypted(tmp_path, sops_latest_bin, key1)
    before = path.read_bytes()
    done = _lockstep(["edit", path.name], _env(tmp_path, key1, _editor(tmp_path, "ed.sh", body)), tmp_path)
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert b"hunter2" not in done.stderr + done.stdout
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ed.sh", "runtime", "s.yaml", "trace"]
    _scratch_is_empty(tmp_path)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_signal_while_editing_removes_plaintext_and_stops_the_editor(
    tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops, sig: signal.Signals
) -> None:
    path = _encrypted(tmp_path, sops_latest_bin, key1)
    before = path.read_bytes()
    pidfile = tmp_path / "editor.pid"
    body = f"sed -i 's/hunter2/x/' \"$1\"; echo $$ > {pidfile}; exec sleep 60"
    env = _env(tmp_path, key1, _editor(tmp_path, "ed.sh", body))
    lockstep = Path(sys.executable).parent / "lockstep"
    proc = subprocess.Popen(
        [str(lockstep), "sops", "edit", path.name], env=env, cwd=tmp_path, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    editor_pid = int(pidfile.read_text())
    scratch = [p for p in (tmp_path / "runtime").rglob("*") if p.is_file()]
    assert len(scratch) == 1 and b"hunter2" not in scratch[0].read_bytes()  # the edit is in there
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 1  # sops' "User canceled operation"
    assert f"User canceled operation ({sig.name}); the file is unchanged".encode() in stderr
    assert path.read_bytes() == before
    _scratch_is_empty(tmp_path)
    with pytest.raises(ProcessLookupError):
        os.kill(editor_pid, 0)


def test_sigkill_leaves_a_directory_the_next_run_scrubs(
    tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops
) -> None:
    path = _encrypted(tmp_path, sops_latest_bin, key1)
    pidfile = tmp_path / "editor.pid"
    env = _env(tmp_path, key1, _editor(tmp_path, "ed.sh", f"echo $$ > {pidfile}; exec sleep 60"))
    lockstep = Path(sys.executable).parent / "lockstep"
    proc = subprocess.Popen([str(lockstep), "sops", "edit", path.name], env=env, cwd=tmp_path)
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    os.kill(int(pidfile.read_text()), signal.SIGKILL)
    left = [p for p in (tmp_path / "runtime").rglob("*") if p.is_file()]
    assert len(left) == 1 and b"hunter2" in left[0].read_bytes()  # what SIGKILL cannot prevent
    env["EDITOR"] = "true"
    assert _lockstep(["edit", path.name], env, tmp_path).returncode == 200
    _scratch_is_empty(tmp_path)


def test_no_editor_found_exits_201(tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops) -> None:
    path = _encrypted(tmp_path, sops_latest_bin, key1)
    env = _env(tmp_path, key1, "")
    del env["EDITOR"]
    (tmp_path / "bin").mkdir()
    env["PATH"] = str(tmp_path / "bin")
    done = _lockstep(["edit", path.name], env, tmp_path)
    assert done.returncode == 201
    assert b"no editor available" in done.stderr
    env["EDITOR"] = "/nonexistent/editor --wait"
    done = _lockstep(["edit", path.name], env, tmp_path)
    assert done.returncode == 201
    assert b'Could not run editor: exec: "/nonexistent/editor"' in done.stderr
    _scratch_is_empty(tmp_path)


def test_sops_editor_wins_over_editor(tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops) -> None:
    path = _encrypted(tmp_path, sops_latest_bin, key1)
    env = _env(tmp_path, key1, "false")
    env["SOPS_EDITOR"] = _editor(tmp_path, "ed.sh", "sed -i 's/tok-123/tok-456/' \"$1\"")
    assert _lockstep(["edit", path.name], env, tmp_path).returncode == 0
    assert b"tok-456" in sops_latest_bin.ok("decrypt", path.name, key_file=key1.file, cwd=tmp_path)


@pytest.mark.parametrize("name", ["new.yaml", "new.json", "new.env", "new.ini", "new.bin"])
def test_new_file_starts_from_sops_example(
    tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops, name: str
) -> None:
    env = _env(tmp_path, key1, "cat")
    ours = _lockstep(["edit", "--age", key1.recipient, name], env, tmp_path)
    theirs = sops_latest_bin.run(
        "edit", "--age", key1.recipient, name, key_file=key1.file, cwd=tmp_path, env={"EDITOR": "cat"}
    )
    assert (ours.returncode, theirs.returncode) == (200, 200)
    assert ours.stdout == theirs.stdout  # the same example document in the editor
    assert not (tmp_path / name).exists()

    env["EDITOR"] = _editor(tmp_path, "ed.sh", "sed -i 's/Welcome/Hello/' \"$1\"")
    created = _lockstep(["edit", "--age", key1.recipient, name], env, tmp_path)
    assert created.returncode == 0, created.stderr
    assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    opened = sops_latest_bin.ok("decrypt", name, key_file=key1.file, cwd=tmp_path)
    assert opened == theirs.stdout.replace(b"Welcome", b"Hello")
    _scratch_is_empty(tmp_path)


def test_new_file_follows_sops_yaml(
    tmp_path: Path, key1: AgeKey, key2: AgeKey, sops_latest_bin: Sops
) -> None:
    (tmp_path / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: {key2.recipient}\n"
        "    encrypted_regex: ^hello$\n"
    )
    env = _env(tmp_path, key1, _editor(tmp_path, "ed.sh", "sed -i 's/Welcome/Hi/' \"$1\""))
    assert _lockstep(["edit", "x.enc.yaml"], env, tmp_path).returncode == 0
    data = (tmp_path / "x.enc.yaml").read_bytes()
    assert b"example_key: example_value" in data  # outside encrypted_regex
    assert b"Hi to SOPS" in sops_latest_bin.ok("decrypt", "x.enc.yaml", key_file=key2.file, cwd=tmp_path)


def test_on_a_terminal_an_invalid_edit_goes_back_to_the_editor(
    tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops
) -> None:
    import pty

    path = _encrypted(tmp_path, sops_latest_bin, key1)
    count = tmp_path / "count"
    body = (
        f'echo x >> {count}\nif [ "$(wc -l < {count})" -eq 1 ]; then printf "db: [broken\\n" > "$1"; '
        "else printf 'db: fixed\\n' > \"$1\"; fi"
    )
    env = _env(tmp_path, key1, _editor(tmp_path, "ed.sh", body))
    master, slave = pty.openpty()
    lockstep = Path(sys.executable).parent / "lockstep"
    proc = subprocess.Popen(
        [str(lockstep), "sops", "edit", path.name],
        env=env,
        cwd=tmp_path,
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    while b"Press enter to return to the editor" not in seen:
        assert time.monotonic() < deadline, seen
        seen += os.read(master, 4096)
    assert b"Error unmarshaling input YAML" in seen
    os.write(master, b"\n")
    assert proc.wait(timeout=30) == 0
    os.close(master)
    assert count.read_text().count("x") == 2  # the editor ran again, on what it had written
    opened = sops_latest_bin.ok("decrypt", path.name, key_file=key1.file, cwd=tmp_path)
    assert opened == b"db: fixed\n"
    _scratch_is_empty(tmp_path)


def test_the_same_edit_changes_the_same_lines_as_sops_edit(
    tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops
) -> None:
    ours = _encrypted(tmp_path, sops_latest_bin, key1)
    theirs = tmp_path / "theirs.yaml"
    theirs.write_bytes(ours.read_bytes())
    before = ours.read_bytes().splitlines()
    sed = "sed -i s/5432/6543/"
    assert _lockstep(["edit", ours.name], _env(tmp_path, key1, sed), tmp_path).returncode == 0
    sops_latest_bin.ok("edit", theirs.name, key_file=key1.file, cwd=tmp_path, env={"EDITOR": sed})

    def changed(path: Path) -> list[bytes]:
        after = path.read_bytes().splitlines()
        keys = [a.split(b":")[0].strip() for a, b in zip(before, after, strict=True) if a != b]
        return [k for k in keys if k != b"lastmodified"]  # depends on the second it ran in

    assert changed(ours) == changed(theirs) == [b"port", b"mac"]
    assert sops_latest_bin.ok("decrypt", ours.name, key_file=key1.file, cwd=tmp_path) == sops_latest_bin.ok(
        "decrypt", theirs.name, key_file=key1.file, cwd=tmp_path
    )


def test_a_pgp_file_is_edited_by_the_sops_binary(tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops) -> None:
    """Keys only sops opens (a real GnuPG key here): `lockstep sops edit` hands over to `sops edit`."""
    gnupg = tmp_path / "gnupg"
    gnupg.mkdir(mode=0o700)
    env = _env(tmp_path, key1, _editor(tmp_path, "ed.sh", "sed -i 's/hunter2/gpg-pass/' \"$1\""))
    env.update(GNUPGHOME=str(gnupg), LOCKSTEP_SOPS=str(sops_latest_bin.binary))
    gpg = ["gpg", "--batch", "--passphrase", ""]
    subprocess.run(
        [*gpg, "--quick-gen-key", "lockstep <t@example.com>", "future-default", "default", "never"],
        env=env,
        check=True,
        capture_output=True,
    )
    try:
        listing = subprocess.run(
            [*gpg, "--list-keys", "--with-colons"], env=env, check=True, capture_output=True
        )
        fingerprint = next(
            line.split(":")[9] for line in listing.stdout.decode().splitlines() if line.startswith("fpr")
        )
        (tmp_path / "plain.yaml").write_bytes(PLAIN)
        sops_env = {"GNUPGHOME": str(gnupg)}
        encrypted = sops_latest_bin.ok(
            "encrypt", "--pgp", fingerprint, "plain.yaml", cwd=tmp_path, env=sops_env
        )
        (tmp_path / "plain.yaml").unlink()
        (tmp_path / "s.yaml").write_bytes(encrypted)
        done = _lockstep(["edit", "s.yaml"], env, tmp_path)
        assert done.returncode == 0, done.stderr
        opened = sops_latest_bin.ok("decrypt", "s.yaml", cwd=tmp_path, env=sops_env)
        assert opened == PLAIN.replace(b"hunter2", b"gpg-pass")
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)


def test_scratch_prefers_the_runtime_dir_then_dev_shm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sops_plugin.scratch import base_directory

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert base_directory() == str(tmp_path)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "missing"))
    assert base_directory() == "/dev/shm"  # tmpfs on this Linux machine (the tests need it)
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert base_directory() == "/dev/shm"


def test_scratch_never_writes_through_a_planted_symlink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sops_plugin.scratch import Scratch

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    target = tmp_path / "elsewhere"
    with Scratch("s.yaml") as scratch:
        scratch.path.symlink_to(target)
        with pytest.raises(FileExistsError):
            scratch.write(b"secret")
        directory = scratch.directory
    assert not target.exists()
    assert directory is not None and not directory.exists()


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("s.yaml", b"db:\n  user: admin\n  port: 5432\nlist:\n  - a\n  - b\n"),
        ("s.json", b'{\n  "db": {\n    "user": "admin",\n    "port": 5432\n  }\n}\n'),
    ],
)
def test_a_file_written_with_another_indent_keeps_it(
    tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops, name: str, plain: bytes
) -> None:
    """sops writes 2-space files when .sops.yaml's `stores` says so; an edit keeps that layout."""
    (tmp_path / ".sops.yaml").write_text("stores:\n  yaml:\n    indent: 2\n  json:\n    indent: 2\n")
    path = _encrypted(tmp_path, sops_latest_bin, key1, plain, name)
    before = path.read_bytes().splitlines()
    assert before[1].startswith(b"  ") and not before[1].startswith(b"   ")  # sops wrote 2 spaces
    assert _lockstep(["edit", name], _env(tmp_path, key1, "sed -i s/5432/6543/"), tmp_path).returncode == 0
    after = path.read_bytes().splitlines()
    changed = [a.split(b":")[0].strip(b' "') for a, b in zip(before, after, strict=True) if a != b]
    assert [k for k in changed if k != b"lastmodified"] == [b"port", b"mac"]
