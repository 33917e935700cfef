"""``lockstep sops filestatus | set | unset``: sops 3.13's commands, flags, output and exit codes.

``set`` and ``unset`` re-encrypt with the file's own data key, recipients and crypt rules, reusing the IV of
every value that did not change (only the changed value, ``lastmodified`` and the MAC differ in the file).
The whole result is computed before the file is replaced atomically: a failure leaves the file as it was.
"""

from __future__ import annotations

import argparse
import sys

from sops_plugin.cli import (
    FORMATS,
    _parser,
    _read,
    _sops_only_flags,
    _write_files,
    check_decryption_order,
    open_file,
    output_format,
    resolve_indent,
)
from sops_plugin.cli import _fail as fail

TYPE_CHECKING = False  # typing is not imported at run time (start-up speed)
if TYPE_CHECKING:
    from typing import Any

    from sops_plugin.format.document import SopsDocument

EXAMPLES = {
    "filestatus": 'example:\n  lockstep sops filestatus secrets.enc.yaml   # {"encrypted":true}\n',
    "set": (
        'examples:\n  lockstep sops set secrets.enc.yaml \'["data"]["password"]\' \'"hunter2"\'\n'
        '  printf \'"%s"\' "$PW" | lockstep sops set --value-stdin secrets.enc.yaml \'["data"]["pw"]\'\n'
    ),
    "unset": 'example:\n  lockstep sops unset secrets.enc.yaml \'["data"]["old"]\'\n',
}


def filestatus(argv: list[str], prog: str) -> int:
    p = _parser(prog, "filestatus", 'Print {"encrypted": true|false}: FILE has sops metadata?', EXAMPLES)
    p.add_argument("file", nargs="?", help="the file to check")
    p.add_argument("--input-type", choices=FORMATS, help="input format (default: from the file extension)")
    p.add_argument("--config", help=argparse.SUPPRESS)
    args = p.parse_intermixed_args(argv)
    from sops_plugin.errors import NO_FILE_SPECIFIED, SopsError

    try:
        if args.file is None:
            raise SopsError("Error: no file specified", NO_FILE_SPECIFIED)
        from sops_plugin.format.document import format_for, is_encrypted

        try:
            encrypted = is_encrypted(_read(args.file), format_for(args.file, args.input_type))
        except SopsError as exc:
            exc.message = f"cannot check file status: {exc.message}"
            exc.exit_code = 1
            raise
        sys.stdout.write('{"encrypted":true}\n' if encrypted else '{"encrypted":false}\n')
        return 0
    except SopsError as exc:
        return fail(exc, args.file or "")


def _edit_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input-type", choices=FORMATS, help="input format (default: from the file extension)")
    p.add_argument("--output-type", choices=FORMATS, help="format written (default: from the extension)")
    p.add_argument("--ignore-mac", action="store_true", help="do not verify the MAC")
    p.add_argument("--shamir-secret-sharing-threshold", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--config", help=argparse.SUPPRESS)
    p.add_argument("--indent", type=int, help="YAML/JSON indentation")
    _sops_only_flags(p)


def _tree_path(text: str, command: str) -> list[str | int]:
    """The index argument; malformed is sops' ErrorInvalidSetFormat (7)."""
    from sops_plugin.errors import INVALID_SET_FORMAT, SopsError
    from sops_plugin.format.treepath import TreePathError, parse_tree_path

    try:
        path = parse_tree_path(text)
    except TreePathError as exc:
        raise SopsError(f"Invalid {command} index format: {exc}", INVALID_SET_FORMAT) from None
    if not path:
        raise SopsError(f"Invalid {command} index format: the index is empty", INVALID_SET_FORMAT)
    return path


def _open(args: argparse.Namespace, command: str, argv: list[str], stdin: bytes | None) -> SopsDocument | int:
    """The decrypted file (or the sops binary's exit status when only it holds the key type; ``stdin`` is
    what it must read, the value ``--value-stdin`` already consumed)."""
    from sops_plugin.format.document import format_for

    check_decryption_order(args.decryption_order)
    data = _read(args.file)
    fmt = format_for(args.file, args.input_type)
    return open_file(data, fmt, command, argv, args.file, ignore_mac=args.ignore_mac, stdin=stdin)


def _save(doc: SopsDocument, args: argparse.Namespace) -> None:
    """Re-encrypt with the smallest diff (``api.reencrypt``: data key, recipients, rules, version, layout
    and the IVs of unchanged values kept); replace the file only once the whole result exists."""
    from pathlib import Path

    from sops_plugin.api import reencrypt

    out_fmt = output_format(args.file, args.output_type, doc.fmt)
    data = reencrypt(doc, doc.branches, indent=resolve_indent(args, out_fmt), output_format=out_fmt)
    _write_files([(str(Path(args.file)), data)])


def _value(args: argparse.Namespace) -> tuple[Any, bytes]:
    """The JSON value (and its text): the third argument, the file it names (--value-file) or stdin
    (--value-stdin)."""
    from sops_plugin.errors import INVALID_SET_FORMAT, SopsError
    from sops_plugin.format.treepath import TreePathError, json_value

    if args.value_stdin:
        text = sys.stdin.buffer.read()
    elif args.value_file:
        try:
            text = _read(args.rest[2])
        except SopsError as exc:  # sops: a generic error (1), not "could not read input" (2)
            exc.exit_code = 1
            raise
    else:
        text = args.rest[2].encode("utf-8", "surrogateescape")
    try:
        return json_value(text.decode("utf-8", "surrogateescape")), text
    except TreePathError as exc:
        raise SopsError(str(exc), INVALID_SET_FORMAT) from None


def set_value(argv: list[str], prog: str) -> int:
    p = _parser(prog, "set", "Set a key or branch of an encrypted file to a JSON value, in place.", EXAMPLES)
    p.add_argument("rest", nargs="*", metavar="FILE INDEX [VALUE]", help="the file, the index, the value")
    _edit_flags(p)
    p.add_argument("--value-file", action="store_true", help="VALUE names a file holding the JSON value")
    p.add_argument("--value-stdin", action="store_true", help="read the JSON value from stdin")
    p.add_argument("--idempotent", action="store_true", help="do not write if the value is already set")
    args = p.parse_intermixed_args(argv)
    from sops_plugin.errors import GENERIC, NO_FILE_SPECIFIED, SopsError

    args.file = args.rest[0] if args.rest else ""
    try:
        if args.value_file and args.value_stdin:
            raise SopsError("Error: cannot use both --value-file and --value-stdin", GENERIC)
        wanted = 2 if args.value_stdin else 3
        if len(args.rest) != wanted:
            raise SopsError(
                "Error: no file specified, or index and value are missing. "
                f"Need precisely {wanted} positional arguments.",
                NO_FILE_SPECIFIED,
            )
        path = _tree_path(args.rest[1], "set")
        value, text = _value(args)
        doc = _open(args, "set", argv, text if args.value_stdin else None)
        if isinstance(doc, int):
            return doc
        from sops_plugin.format.treepath import TreePathError
        from sops_plugin.format.treepath import set_value as set_in_tree

        try:
            changed = set_in_tree(doc.branches[0], path, value)
        except TreePathError as exc:
            raise SopsError(str(exc)) from None
        if changed or not args.idempotent:
            _save(doc, args)
        return 0
    except SopsError as exc:
        return fail(exc, args.file)


def unset_value(argv: list[str], prog: str) -> int:
    p = _parser(prog, "unset", "Remove one key or list item of an encrypted file, in place.", EXAMPLES)
    p.add_argument("rest", nargs="*", metavar="FILE INDEX", help="the file and the index")
    _edit_flags(p)
    p.add_argument("--idempotent", action="store_true", help="succeed without writing if INDEX is absent")
    args = p.parse_intermixed_args(argv)
    from sops_plugin.errors import NO_FILE_SPECIFIED, SopsError

    args.file = args.rest[0] if args.rest else ""
    try:
        if len(args.rest) != 2:
            raise SopsError("Error: no file specified, or index is missing", NO_FILE_SPECIFIED)
        path = _tree_path(args.rest[1], "unset")
        doc = _open(args, "unset", argv, None)
        if isinstance(doc, int):
            return doc
        from sops_plugin.format.treepath import KeyNotFound, TreePathError
        from sops_plugin.format.treepath import unset_value as unset_in_tree

        try:
            unset_in_tree(doc.branches[0], path)
        except KeyNotFound as exc:
            if args.idempotent:
                return 0
            raise SopsError(str(exc)) from None
        except TreePathError as exc:
            raise SopsError(str(exc)) from None
        _save(doc, args)
        return 0
    except SopsError as exc:
        return fail(exc, args.file)
