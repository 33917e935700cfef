"""``lockstep sops decrypt``: sops' flags, output and exit codes; and what every sops command shares
(flags, reading the input, writing results all or nothing, errors, handing a command to the sops binary).
``encrypt`` is :mod:`sops_plugin.cli_encrypt`, ``rotate``/``updatekeys`` :mod:`sops_plugin.cli_keys`:
a decrypt does not load them.

Only os and pathlib are imported up front, and an ordinary ``lockstep sops decrypt FILE`` is parsed
without argparse (:func:`fast_decrypt_args`): it must start close to the bare interpreter. Errors go
to stderr naming the file and key path; nothing is written unless the whole result was computed (no
partial output files).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TYPE_CHECKING = False  # typing is not imported at run time (start-up speed)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping, Sequence
    from typing import Any

    from sops_plugin.errors import SopsError
    from sops_plugin.format.document import SopsDocument

EXAMPLES = {
    "decrypt": (
        "example:\n  SOPS_AGE_KEY_FILE=~/keys.txt lockstep sops decrypt secrets.enc.yaml > secrets.yaml\n"
    ),
}
FORMATS = ("yaml", "json", "dotenv", "ini", "binary")
# Key types only the sops binary opens: a command naming one is handed to it whole.
BINARY_KEY_TYPES = ("kms", "gcp-kms", "hckms", "azure-kv", "hc-vault-transit", "pgp")


def formatter_class() -> type[argparse.HelpFormatter]:
    """Raw descriptions at a fixed width: argparse would otherwise import shutil (and bz2, lzma) to ask
    the terminal. Built on first use so that a command parsed without argparse never imports it."""
    import argparse

    class Formatter(argparse.RawDescriptionHelpFormatter):
        def __init__(self, prog: str) -> None:
            super().__init__(prog, width=int(os.environ.get("COLUMNS", "100")) - 2)

    return Formatter


def _parser(
    prog: str, command: str, description: str, examples: dict[str, str] = EXAMPLES
) -> argparse.ArgumentParser:
    """A command's parser with its examples as the epilog (``examples``: the calling module's table)."""
    import argparse

    return argparse.ArgumentParser(
        prog=prog, description=description, epilog=examples[command], formatter_class=formatter_class()
    )


def _io_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input-type", choices=FORMATS, help="input format (default: from the file extension)")
    p.add_argument("--output-type", choices=FORMATS, help="output format (default: the input format)")
    p.add_argument("-i", "--in-place", action="store_true", help="write the result back to the file")
    p.add_argument("--output", metavar="FILE", help="write the result to FILE instead of stdout")
    p.add_argument("--indent", type=int, help="YAML/JSON indentation")
    p.add_argument("--config", default=os.environ.get("SOPS_CONFIG"), help="path to .sops.yaml")


def _fail(err: SopsError | Exception, where: str = "") -> int:
    from sops_plugin.errors import SopsError

    if isinstance(err, SopsError):
        err.located(where)
        sys.stderr.write(f"{err}\n")
        return err.exit_code
    sys.stderr.write(f"{where + ': ' if where else ''}{err}\n")
    return 1


def _read(path: str, *, must_exist: bool = False) -> bytes:
    """The input file; ``must_exist``: a missing file is sops' "non-existent file" (100, decrypt/encrypt)."""
    from sops_plugin.errors import COULD_NOT_READ_INPUT, NO_FILE_SPECIFIED, SopsError

    try:
        if path == "-":
            return sys.stdin.buffer.read()
        return Path(path).read_bytes()
    except FileNotFoundError:
        if must_exist:
            raise SopsError("cannot operate on non-existent file", NO_FILE_SPECIFIED, where=path) from None
        raise SopsError(
            "Error reading file: no such file or directory", COULD_NOT_READ_INPUT, where=path
        ) from None
    except OSError as exc:
        raise SopsError(f"Error reading file: {exc.strerror}", COULD_NOT_READ_INPUT, where=path) from None


def _write(data: bytes, target: str | None) -> None:
    """Write the complete result in one go (stdout, or FILE replaced atomically)."""
    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    _write_files([(target, data)])


def _write_files(outputs: list[tuple[str, bytes]]) -> None:
    """Every output file or none (``core_sync.files``); a failure is sops' CouldNotWriteOutputFile."""
    from core_sync.files import WriteError, write_files
    from sops_plugin.errors import COULD_NOT_WRITE_OUTPUT, SopsError

    try:
        write_files([(Path(target), data) for target, data in outputs])
    except WriteError as exc:
        raise SopsError(
            f"Could not write output file: {exc.reason}", COULD_NOT_WRITE_OUTPUT, where=exc.path
        ) from None


def _target(args: argparse.Namespace, path: str) -> str | None:
    return path if args.in_place else args.output


def _needs_binary(kind: str, recipient: str) -> bool:
    """Key types opened only by the sops binary: non-age keys, post-quantum and plugin age recipients."""
    if kind != "age":
        return True
    return recipient.startswith("age1pq1") or (recipient.startswith("age1") and recipient.count("1") > 1)


def _fallback(command: str, argv: list[str], why: str, stdin: bytes | None = None) -> int:
    """Let the sops binary do what needs a key type handled only there; its output and status pass through."""
    from sops_plugin import fallback

    proc = fallback.run([command, *argv], stdin=stdin, why=why)
    sys.stdout.buffer.write(proc.stdout)
    sys.stderr.buffer.write(proc.stderr)
    return proc.returncode


def _sops_only_flags(p: argparse.ArgumentParser, *, order: bool = True) -> None:
    """Flags sops scripts pass that change nothing for age keys: accepted so the same command line works."""
    import argparse

    if order:
        p.add_argument("--decryption-order", default=os.environ.get("SOPS_DECRYPTION_ORDER", ""))
    p.add_argument("--enable-local-keyservice", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--keyservice", action="append", default=[], help=argparse.SUPPRESS)
    p.add_argument("--verbose", action="store_true", help=argparse.SUPPRESS)


def check_decryption_order(order: str) -> None:
    """sops refuses a key type named twice in ``--decryption-order`` (exit 112)."""
    from sops_plugin.errors import DUPLICATE_DECRYPTION_KEY_TYPE, SopsError

    seen: set[str] = set()
    for kind in order.split(",") if order else ():
        if kind in seen:
            raise SopsError(f"Duplicate decryption key type: {kind}", DUPLICATE_DECRYPTION_KEY_TYPE)
        seen.add(kind)


def open_file(
    data: bytes,
    fmt: str,
    command: str,
    argv: list[str],
    where: str,
    *,
    ignore_mac: bool = False,
    stdin: bytes | None = None,
) -> SopsDocument | int:
    """Parse and decrypt (MAC checked unless ``ignore_mac``). A file only non-age keys open is handed to
    the sops binary with the same ``argv`` (and ``stdin``; the file itself when read from stdin): then its
    exit status is returned instead of a document."""
    from sops_plugin.errors import NoUsableKey
    from sops_plugin.format.document import data_key, parse_encrypted
    from sops_plugin.format.document import decrypt as decrypt_document
    from sops_plugin.identities import from_environment

    doc = parse_encrypted(data, fmt)
    try:
        key = data_key(doc.metadata, from_environment())
    except NoUsableKey:
        if any(_needs_binary(k.kind, k.recipient) for g in doc.metadata.key_groups for k in g):
            stdin = data if where in ("-", "") else stdin
            return _fallback(command, argv, f"{where or 'stdin'}: no age identity opened the file", stdin)
        raise
    return decrypt_document(doc, key, ignore_mac=ignore_mac)


# decrypt's flags the fast parser answers for (anything else, e.g. --help or --indent, goes to argparse)
_DECRYPT_SWITCHES = {
    "-i": "in_place",
    "--in-place": "in_place",
    "--ignore-mac": "ignore_mac",
    "--enable-local-keyservice": "enable_local_keyservice",
    "--verbose": "verbose",
}
_DECRYPT_VALUES = {
    "--input-type": "input_type",
    "--output-type": "output_type",
    "--output": "output",
    "--config": "config",
    "--extract": "extract",
    "--filename-override": "filename_override",
    "--decryption-order": "decryption_order",
}


def fast_decrypt_args(argv: Sequence[str], environ: Mapping[str, str]) -> Any | None:
    """``decrypt``'s parsed flags for an ordinary command line, without importing argparse (~9 M
    instructions of a start-up measured against the bare interpreter); ``None`` when argparse must decide
    (help, abbreviations, ``--flag=value``, ``--indent``, values starting with ``-``, mistakes). The same
    values as :func:`_decrypt_parser` gives: a property test compares the two on random command lines."""
    from types import SimpleNamespace

    values: dict[str, Any] = {
        "file": None,
        "input_type": None,
        "output_type": None,
        "in_place": False,
        "output": None,
        "indent": None,
        "config": environ.get("SOPS_CONFIG"),
        "ignore_mac": False,
        "extract": "",
        "filename_override": None,
        "decryption_order": environ.get("SOPS_DECRYPTION_ORDER", ""),
        "enable_local_keyservice": False,
        "keyservice": [],
        "verbose": False,
    }
    tokens = iter(argv)
    for token in tokens:
        if not token.startswith("-"):
            if values["file"] is not None:
                return None
            values["file"] = token
        elif token in _DECRYPT_SWITCHES:
            values[_DECRYPT_SWITCHES[token]] = True
        elif token in _DECRYPT_VALUES:
            value = next(tokens, None)
            if value is None or value.startswith("-"):
                return None
            if token.endswith("-type") and value not in FORMATS:
                return None
            values[_DECRYPT_VALUES[token]] = value
        else:
            return None
    if values["file"] is None:
        values["file"] = "-"
    return SimpleNamespace(**values)


def _decrypt_parser(prog: str) -> argparse.ArgumentParser:
    p = _parser(prog, "decrypt", "Decrypt a SOPS file (age natively; other key types via the sops binary).")
    p.add_argument("file", nargs="?", default="-", help="encrypted file (default or '-': stdin)")
    _io_flags(p)
    p.add_argument("--ignore-mac", action="store_true", help="do not verify the MAC")
    p.add_argument(
        "--extract",
        default="",
        metavar="PATH",
        help='print only this key or branch, e.g. \'["data"]["key"]\'',
    )
    p.add_argument("--filename-override", help="path used to pick the format (for stdin)")
    _sops_only_flags(p)
    return p


def decrypt(argv: list[str], prog: str) -> int:
    args = fast_decrypt_args(argv, os.environ) or _decrypt_parser(prog).parse_args(argv)
    from sops_plugin.errors import CONFLICTING_PARAMETERS, SopsError

    where = "" if args.file == "-" else args.file
    try:
        if args.in_place and args.output:
            raise SopsError("Error: cannot operate on both --output and --in-place", CONFLICTING_PARAMETERS)
        if args.in_place and args.file == "-":
            raise SopsError("Error: cannot use --in-place when reading from stdin", CONFLICTING_PARAMETERS)
        check_decryption_order(args.decryption_order)
        extract = _extract_path(args.extract)
        data = _read(args.file, must_exist=True)
        from sops_plugin.format.document import emit_plain, format_for

        name = args.filename_override or args.file
        fmt = format_for(name, args.input_type)
        plain = open_file(data, fmt, "decrypt", argv, where, ignore_mac=args.ignore_mac)
        if isinstance(plain, int):
            return plain
        out_fmt = output_format(name, args.output_type, fmt)
        indent = resolve_indent(args, out_fmt)
        if extract:
            from sops_plugin.format.extract import extract_bytes

            out = extract_bytes(plain.branches[0], extract, out_fmt, indent)
        else:
            out = emit_plain(plain.branches, out_fmt, indent)
        _write(out, _target(args, args.file))
        return 0
    except SopsError as exc:
        return _fail(exc, where)


def output_format(name: str, explicit: str | None, input_format: str) -> str:
    """sops' output store: ``--output-type``, else the file name's extension (not the input type: a
    ``.bin`` read ``--input-type yaml`` is written as binary, as sops does). Stdin ('-') has no extension,
    so there it is the input format."""
    from sops_plugin.format.document import format_for

    if explicit or name != "-":
        return format_for(name, explicit)
    return input_format


def resolve_indent(args: argparse.Namespace, fmt: str) -> int | None:
    """``--indent``, else the ``stores`` indentation of ``--config`` / the ``.sops.yaml`` sops would find
    (searched from the working directory, as sops does). An explicit ``--config`` that cannot be read is an
    error (1), as in sops; the config is parsed only when it has a ``stores`` section."""
    if args.indent is not None:
        return int(args.indent)
    from sops_plugin.config_file import find_config
    from sops_plugin.errors import SopsError

    config = find_config(Path.cwd(), args.config)
    if config is None:
        return None
    try:
        text = config.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        if args.config:
            raise SopsError(f"could not read config file: {exc.strerror}", where=str(config)) from None
        return None
    if "stores" not in text:
        return None
    from sops_plugin.format.config_stores import stores_indent

    try:
        return stores_indent(text, fmt)
    except SopsError as exc:
        raise exc.located(str(config)) from None


def _extract_path(text: str) -> list[str | int]:
    """``--extract``'s path; a malformed one is sops' InvalidTreePathFormat (91)."""
    if not text:
        return []
    from sops_plugin.errors import INVALID_TREE_PATH, SopsError
    from sops_plugin.format.treepath import TreePathError, parse_tree_path

    try:
        return parse_tree_path(text)
    except TreePathError as exc:
        raise SopsError(f"error parsing --extract path: {exc}", INVALID_TREE_PATH) from None


def _config_text(config: Path) -> str:
    from sops_plugin.errors import SopsError

    try:
        return config.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SopsError(f"error loading config: {config}: {exc}", where=str(config)) from None
