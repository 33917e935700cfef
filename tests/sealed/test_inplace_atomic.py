"""``seal --in-place``: every YAML document form is sealed (no plaintext Secret survives a "success"), and a
failure of any kind — a bad file, a read-only file, a directory in the way, an unwritable directory, a full
disk — leaves every file byte for byte as it was, with a clear message naming the file."""

from __future__ import annotations

import base64
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sealed.conftest import SealingKey, _clean_env, ok, run_lockstep

from .test_merge_and_in_place import opened


def secret_yaml(name: str, value: str, eol: str = "\n", inline: str = "") -> str:
    body = (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: apps\n"
        f"data:\n  password: {base64.b64encode(value.encode()).decode()}\n"
    )
    return body.replace("\n", eol)


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: apps\ndata:\n  a: b\n"
SERVICE = "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n  namespace: apps\n"
FLOW_SECRET = (
    '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "flow", "namespace": "apps"}, '
    '"data": {"password": "' + base64.b64encode(b"flow-pw").decode() + '"}}'
)

# Each file holds a ConfigMap, a Secret written in one YAML form, and a Service.
FORMS = {
    "crlf": (CONFIGMAP + "---\n" + secret_yaml("crlf", "crlf-pw") + "---\n" + SERVICE).replace("\n", "\r\n"),
    "cr-only": (CONFIGMAP + "---\n" + secret_yaml("cr", "cr-pw") + "---\n" + SERVICE).replace("\n", "\r"),
    "bom": "\ufeff" + secret_yaml("bom", "bom-pw") + "---\n" + CONFIGMAP,
    "inline-flow": CONFIGMAP + "--- " + FLOW_SECRET + "\n---\n" + SERVICE,
    "tagged": CONFIGMAP + "--- !!map\n" + secret_yaml("tagged", "tagged-pw") + "---\n" + SERVICE,
    "comment-on-marker": CONFIGMAP
    + "---   # the secret\n"
    + secret_yaml("cmt", "cmt-pw")
    + "---\n"
    + SERVICE,
    "document-end": CONFIGMAP
    + "...\n---\n"
    + secret_yaml("end", "end-pw")
    + "...\n# between\n---\n"
    + SERVICE,
    "directive": CONFIGMAP + "...\n%YAML 1.1\n---\n" + secret_yaml("dir", "dir-pw") + "---\n" + SERVICE,
    "crlf-inline": (CONFIGMAP + "--- " + FLOW_SECRET + "\n---\n" + SERVICE).replace("\n", "\r\n"),
}
VALUES = {
    "crlf": "crlf-pw",
    "cr-only": "cr-pw",
    "bom": "bom-pw",
    "inline-flow": "flow-pw",
    "tagged": "tagged-pw",
    "comment-on-marker": "cmt-pw",
    "document-end": "end-pw",
    "directive": "dir-pw",
    "crlf-inline": "flow-pw",
}


SEAL = [sys.executable, "-m", "core_sync.cli", "seal"]


def _seal(key: SealingKey, *args: str) -> subprocess.CompletedProcess[bytes]:
    return run_lockstep("--cert", str(key.cert_path), "--in-place", *args)


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for directories): "nothing changed" means equal."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))
    }


def test_every_document_form_is_sealed(kubeseal_bin: str, sealing_key: SealingKey, tmp_path: Path) -> None:
    for name, text in FORMS.items():
        (tmp_path / f"{name}.yaml").write_bytes(text.encode())
    result = ok(_seal(sealing_key, str(tmp_path), "--replace")) or b""
    assert result == b""
    for name, text in FORMS.items():
        path = tmp_path / f"{name}.yaml"
        written = path.read_bytes()
        docs = [d for d in yaml.safe_load_all(written.decode().removeprefix("\ufeff")) if d]
        kinds = [d["kind"] for d in docs]
        assert "Secret" not in kinds, name
        assert kinds.count("SealedSecret") == 1, name
        originals = [d for d in yaml.safe_load_all(text.removeprefix("\ufeff")) if d]
        assert [d for d in docs if d["kind"] != "SealedSecret"] == [
            d for d in originals if d["kind"] != "Secret"
        ], name
        assert VALUES[name].encode() not in written
        assert base64.b64encode(VALUES[name].encode()) not in written
        sealed_only = tmp_path / "opened" / f"{name}.yaml"
        sealed_only.parent.mkdir(exist_ok=True)
        sealed_only.write_text(yaml.safe_dump(next(d for d in docs if d["kind"] == "SealedSecret")))
        assert opened(kubeseal_bin, sealing_key, sealed_only) == [{"password": VALUES[name]}], name
    crlf = (tmp_path / "crlf.yaml").read_bytes()
    assert crlf.count(b"\r\n") == crlf.count(b"\n"), "a CRLF file stays CRLF"
    assert (tmp_path / "bom.yaml").read_bytes().startswith("\ufeff".encode())
    assert b"# between" in (tmp_path / "document-end.yaml").read_bytes()


def test_secrets_inside_a_list_are_refused(sealing_key: SealingKey, tmp_path: Path) -> None:
    items = [yaml.safe_load(secret_yaml("in-list", "list-pw"))]
    (tmp_path / "list.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    (tmp_path / "plain.yaml").write_text(secret_yaml("plain", "pw"))
    before = _snapshot(tmp_path)
    for mode in ([], ["--replace"]):
        failed = _seal(sealing_key, str(tmp_path), *mode)
        assert failed.returncode == 1
        message = failed.stderr.decode()
        assert f"{tmp_path / 'list.yaml'}: document 1 is a List holding Secrets" in message
        assert "nothing was written" in message and "list-pw" not in message
        assert _snapshot(tmp_path) == before


def _three_files(root: Path) -> list[Path]:
    files = []
    for n in range(3):
        path = root / f"s{n}.yaml"
        path.write_text(CONFIGMAP + "---\n" + secret_yaml(f"s{n}", f"pw{n}"))
        files.append(path)
    return files


def _fails_changing_nothing(key: SealingKey, root: Path, expected: str, *args: str) -> None:
    """``seal --in-place args`` exits 1 with ``expected`` in its message and every file under ``root``
    is byte for byte as it was."""
    before = _snapshot(root)
    failed = _seal(key, *args)
    assert failed.returncode == 1, failed.stderr
    message = failed.stderr.decode()
    assert expected in message
    assert "nothing was written" in message and "Traceback" not in message
    assert _snapshot(root) == before


def test_read_only_file_among_several_changes_nothing(sealing_key: SealingKey, tmp_path: Path) -> None:
    files = _three_files(tmp_path)
    files[1].chmod(0o444)
    expected = f"error: {files[1]}: file is read-only"
    _fails_changing_nothing(sealing_key, tmp_path, expected, str(tmp_path), "--replace")


def test_read_only_output_file_changes_nothing(sealing_key: SealingKey, tmp_path: Path) -> None:
    files = _three_files(tmp_path)
    blocker = files[2].with_name("s2.sealed.yaml")
    blocker.write_text("old\n")
    blocker.chmod(0o444)
    _fails_changing_nothing(sealing_key, tmp_path, f"error: {blocker}: file is read-only", str(tmp_path))


def test_directory_in_the_way_changes_nothing(sealing_key: SealingKey, tmp_path: Path) -> None:
    files = _three_files(tmp_path)
    blocker = files[2].with_name("s2.sealed.yaml")
    blocker.mkdir()
    _fails_changing_nothing(sealing_key, tmp_path, f"error: {blocker}: is a directory", str(tmp_path))


def test_a_file_named_twice_is_sealed_once(sealing_key: SealingKey, tmp_path: Path) -> None:
    files = _three_files(tmp_path)
    (tmp_path / "link.yaml").symlink_to(files[0].name)
    result = ok(_seal(sealing_key, str(files[0]), str(tmp_path), str(tmp_path / "link.yaml"), "--replace"))
    assert result == b""
    assert [d["kind"] for d in yaml.safe_load_all(files[0].read_text())] == ["ConfigMap", "SealedSecret"]
    assert (tmp_path / "link.yaml").is_symlink()


@pytest.mark.parametrize("link", ["relative", "absolute", "chain", "named-file", "inside-absolute"])
def test_symlinks_leaving_the_tree_are_refused_and_nothing_is_written(
    link: str, sealing_key: SealingKey, tmp_path: Path
) -> None:
    """A symlink under the tree that leads outside it is refused (never written through): the Secret
    outside keeps its plaintext, the tree is unchanged, and the error names the link."""
    outside, tree = tmp_path / "outside", tmp_path / "tree"
    outside.mkdir()
    tree.mkdir()
    (outside / "secret.yaml").write_text(secret_yaml("outside", "outside-pw"))
    _three_files(tree)
    named = tree / "link.yaml"
    if link == "relative":
        named.symlink_to("../outside/secret.yaml")
    elif link == "absolute":
        named.symlink_to(outside / "secret.yaml")
    elif link == "chain":
        (tree / "b.yaml").symlink_to("../outside/secret.yaml")
        named.symlink_to("b.yaml")
    elif link == "inside-absolute":  # absolute links are refused even when they stay inside, as sources do
        named.symlink_to(tree / "s0.yaml")
    else:
        named.symlink_to("../outside/secret.yaml")
    before_outside = _snapshot(outside)
    target = [str(named)] if link == "named-file" else [str(tree)]
    reason = "absolute symlink" if link in ("absolute", "inside-absolute") else "points outside"
    failing = tree / "b.yaml" if link == "chain" else named
    _fails_changing_nothing(sealing_key, tree, f"error: {failing}: ", *target, "--replace")
    message = _seal(sealing_key, *target, "--replace").stderr.decode()
    assert reason in message and "in-place sealing stays inside" in message
    assert _snapshot(outside) == before_outside


def test_a_fifo_named_like_a_manifest_is_refused(sealing_key: SealingKey, tmp_path: Path) -> None:
    _three_files(tmp_path)
    os.mkfifo(tmp_path / "pipe.yaml")
    expected = f"error: {tmp_path / 'pipe.yaml'}: is a FIFO, not a regular file"
    _fails_changing_nothing(sealing_key, tmp_path, expected, str(tmp_path), "--replace")


def test_missing_file_changes_nothing(sealing_key: SealingKey, tmp_path: Path) -> None:
    files = _three_files(tmp_path)
    missing = tmp_path / "missing.yaml"
    expected = f"{missing}: no such file or directory"
    _fails_changing_nothing(sealing_key, tmp_path, expected, str(files[0]), str(missing), "--replace")


@pytest.fixture
def locked_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory the running user cannot write to, holding three Secret files. Root writes anywhere
    whatever the mode, so as root it is a tmpfs remounted read-only; otherwise its mode is 0555."""
    locked = tmp_path / "locked"
    locked.mkdir()
    as_root = os.geteuid() == 0
    if as_root:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(locked)], check=True)
    try:
        _three_files(locked)
        if as_root:
            subprocess.run(["mount", "-o", "remount,ro", str(locked)], check=True)
        else:
            locked.chmod(0o555)
        yield locked
    finally:
        if as_root:
            subprocess.run(["umount", str(locked)], check=True)
        else:
            locked.chmod(0o755)


def test_unwritable_directory_changes_nothing(
    sealing_key: SealingKey, tmp_path: Path, locked_dir: Path
) -> None:
    writable = tmp_path / "writable"
    writable.mkdir()
    _three_files(writable)
    expected = f"error: {locked_dir / 's0.yaml'}: "
    _fails_changing_nothing(sealing_key, tmp_path, expected, str(writable), str(locked_dir), "--replace")


def test_disk_full_while_writing_changes_nothing(sealing_key: SealingKey, tmp_path: Path) -> None:
    """A write failing half-way (here: the file size limit, as a full disk fails it) leaves no file
    changed and no temp file behind."""
    small = tmp_path / "a-small.yaml"
    small.write_text(secret_yaml("small", "pw"))
    big = tmp_path / "b-big.yaml"
    big.write_text(secret_yaml("big", "x" * 200_000))
    before = _snapshot(tmp_path)

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    failed = subprocess.run(
        [*SEAL, "--cert", str(sealing_key.cert_path), "--in-place", str(tmp_path), "--replace"],
        capture_output=True,
        env={**_clean_env(), "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=limit_file_size,
        timeout=120,
        check=False,
    )
    assert failed.returncode == 1, failed.stderr
    assert f"error: {big}: File too large".encode() in failed.stderr
    assert b"nothing was written" in failed.stderr
    assert _snapshot(tmp_path) == before


def test_ten_thousand_deep_json_is_a_clear_error(sealing_key: SealingKey, tmp_path: Path) -> None:
    deep = b"[" * 10_000 + b"]" * 10_000
    result = run_lockstep("--cert", str(sealing_key.cert_path), stdin=deep)
    assert result.returncode == 1
    assert result.stderr == b"error: <stdin>: invalid JSON: nesting deeper than 256 levels\n"
    (tmp_path / "deep.json").write_bytes(deep)
    in_place = _seal(sealing_key, str(tmp_path))
    assert in_place.returncode == 1
    expected = f"error: {tmp_path / 'deep.json'}: invalid JSON: nesting deeper than 256"
    assert expected.encode() in in_place.stderr


def test_output_file_errors_name_the_file(sealing_key: SealingKey, tmp_path: Path) -> None:
    source = tmp_path / "s.yaml"
    source.write_text(secret_yaml("s", "pw"))
    (tmp_path / "out").mkdir()
    to_dir = run_lockstep(
        "--cert", str(sealing_key.cert_path), "-f", str(source), "-w", str(tmp_path / "out")
    )
    assert to_dir.returncode == 1
    assert to_dir.stderr == f"error: {tmp_path / 'out'}: is a directory, not a file\n".encode()
    merged = tmp_path / "merged.yaml"
    merged.write_text("old\n")
    merged.chmod(0o444)
    sealed = ok(run_lockstep("--cert", str(sealing_key.cert_path), "-f", str(source)))
    merged.chmod(0o644)
    merged.write_bytes(sealed)
    merged.chmod(0o444)
    refused = run_lockstep(
        "--cert", str(sealing_key.cert_path), "--merge-into", str(merged), "-f", str(source)
    )
    assert refused.returncode == 1
    assert refused.stderr == f"error: {merged}: file is read-only (permission denied)\n".encode()
    assert merged.read_bytes() == sealed
    new = tmp_path / "new.yaml"
    ok(run_lockstep("--cert", str(sealing_key.cert_path), "-f", str(source), "-w", str(new)))
    assert new.stat().st_mode & 0o777 == 0o644 & ~_umask()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- property: whatever the stream's shape, --replace seals every Secret, keeps the rest --------------------

_SEPARATORS = ["---", "--- ", "---   # c", "--- !!map", "...\n---", "...\n%YAML 1.1\n---", "# between\n---"]
_DOCS = [
    lambda n: (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s{n}, namespace: a}}\nstringData: {{k: plain-v{n}}}"
    ),
    lambda n: (
        f'{{"apiVersion": "v1", "kind": "Secret", "metadata": {{"name": "j{n}", "namespace": "a"}}, '
        f'"data": {{"k": "cGxhaW4tZGF0YQ=="}}}}'
    ),
    lambda n: (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{n}\ndata:\n  k: '---'\n  l: |\n    ---x"
    ),
    lambda n: f"# only a comment {n}",
    lambda n: "",
]


@st.composite
def _streams(draw: st.DrawFn) -> str:
    parts, opened = [], False  # "..." may only end a document that was opened
    for n in range(draw(st.integers(1, 5))):
        choices = _SEPARATORS if opened else [c for c in _SEPARATORS if not c.startswith("...")]
        separator = draw(st.sampled_from(choices)) if n or draw(st.booleans()) else ""
        document = draw(st.sampled_from(_DOCS))(n)
        if separator.endswith("!!map") and not document.startswith(("{", "apiVersion")):
            separator = "---"  # a tag needs a node to tag
        inline = separator.endswith("--- ") and document.startswith("{")
        opened = bool(separator) or document.startswith(("{", "apiVersion"))
        parts.append(separator + (" " if inline else "\n" if separator else "") + document + "\n")
    text = "".join(parts)
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return draw(st.sampled_from(["", "\ufeff"])) + text.replace("\n", eol)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_streams())
def test_replace_seals_every_secret_of_any_stream(text: str, sealing_key: SealingKey, tmp_path: Path) -> None:
    from sealed.format.certs import parse_certificate_pem
    from sealed.format.convert import SealOptions
    from sealed.format.crypto import hybrid_encrypt, public_key
    from sealed.format.documents import load_documents, split_stream
    from sealed.inplace import Encrypt, plan_file
    from sealed.sealing import render

    assert "".join(split_stream(text)) == text
    key = public_key(parse_certificate_pem(sealing_key.cert_pem))
    source = tmp_path / "stream.yaml"
    source.write_bytes(text.encode())
    encrypt: Encrypt = lambda plaintext, label: hybrid_encrypt(key, plaintext, label)  # noqa: E731
    planned = plan_file(source, encrypt, SealOptions(), True, render)  # a valid stream is never refused
    before = load_documents(text.encode())
    if planned is None:
        assert not any(d.get("kind") == "Secret" for d in before if isinstance(d, dict))
        return
    after = load_documents(planned.content)
    assert [d["kind"] for d in after] == [
        "SealedSecret" if d["kind"] == "Secret" else d["kind"] for d in before
    ]
    assert [d for d in after if d["kind"] != "SealedSecret"] == [d for d in before if d["kind"] != "Secret"]
    assert b"cGxhaW4tZGF0YQ==" not in planned.content and b"plain-v" not in planned.content
    if "\r\n" in text:
        assert planned.content.count(b"\n") == planned.content.count(b"\r\n")


def test_progress_bar_on_a_terminal_and_plain_lines_otherwise(
    sealing_key: SealingKey, tmp_path: Path
) -> None:
    """On a terminal ``seal --in-place`` draws a progress bar (rich) on stderr; without one it prints
    nothing for a few files, so scripts and CI logs stay clean."""
    from core_sync.testing.processes import run_on_a_terminal

    for i in range(3):
        (tmp_path / f"s{i}.yaml").write_text(secret_yaml(f"s{i}", f"pw{i}"))
    argv = [sys.executable, "-m", "core_sync.cli", "seal", "--cert", str(sealing_key.cert_path)]
    code, _, shown = run_on_a_terminal([*argv, "--in-place", str(tmp_path), "--replace"], _clean_env({}))
    assert code == 0, shown
    assert b"sealing" in shown and b"3/3" in shown
    assert all(b"kind: SealedSecret" in (tmp_path / f"s{i}.yaml").read_bytes() for i in range(3))
    for i in range(3):
        (tmp_path / f"s{i}.yaml").write_text(secret_yaml(f"s{i}", f"pw{i}"))
    quiet = _seal(sealing_key, str(tmp_path), "--replace")
    assert quiet.returncode == 0 and b"sealing" not in quiet.stderr
