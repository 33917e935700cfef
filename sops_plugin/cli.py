"""``lockstep sops decrypt | encrypt | rotate | updatekeys``: sops' flags, output and exit codes.

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
    from sops_plugin.format.document import KeyPlan, SopsDocument
    from sops_plugin.format.rules import CryptRules

EXAMPLES = {
    "decrypt": (
        "example:\n  SOPS_AGE_KEY_FILE=~/keys.txt lockstep sops decrypt secrets.enc.yaml > secrets.yaml\n"
    ),
    "encrypt": (
        "example:\n  lockstep sops encrypt --age age1... --encrypted-regex '^(data|stringData)$' "
        "secret.yaml > secret.enc.yaml\n"
    ),
    "rotate": "example:\n  lockstep sops rotate -i secrets/*.enc.yaml\n",
    "updatekeys": "example:\n  lockstep sops updatekeys secrets/db.enc.yaml   # after editing .sops.yaml\n",
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


def _rule_for(args: argparse.Namespace, path: str) -> tuple[KeyPlan, CryptRules]:
    """(KeyPlan, CryptRules) from flags, SOPS_AGE_RECIPIENTS and .sops.yaml, flags winning."""
    from sops_plugin.api import find_config
    from sops_plugin.errors import CONFLICTING_PARAMETERS, SopsError
    from sops_plugin.format.config import NO_KEYS, find_creation_rule
    from sops_plugin.format.document import KeyPlan
    from sops_plugin.format.metadata import MasterKey
    from sops_plugin.format.rules import RULE_NAMES, CryptRules

    name = args.filename_override or path
    config_path = find_config(Path.cwd(), args.config)
    rule = None
    if config_path is not None and config_path.is_file():
        base = config_path.resolve().parent
        try:
            rel = str(Path(name).resolve().relative_to(base))
        except ValueError:
            rel = name
        try:
            rule = find_creation_rule(_config_text(config_path), rel)
        except SopsError:
            if not (args.age or os.environ.get("SOPS_AGE_RECIPIENTS")):
                raise
    recipients = args.age or os.environ.get("SOPS_AGE_RECIPIENTS")
    if recipients:
        plan = KeyPlan(
            [[MasterKey("age", {"recipient": r.strip()}) for r in recipients.split(",") if r.strip()]]
        )
    elif rule is not None:
        plan = rule.plan
    else:
        raise SopsError(NO_KEYS)
    if args.shamir_secret_sharing_threshold:
        plan.shamir_threshold = args.shamir_secret_sharing_threshold
    flags = {n: getattr(args, n) for n in RULE_NAMES if getattr(args, n)}
    if len(flags) > 1:
        raise SopsError("Cannot use more than one crypt rule flag", CONFLICTING_PARAMETERS)
    if flags or rule is None:
        try:
            rules = CryptRules(**flags, mac_only_encrypted=args.mac_only_encrypted)
        except ValueError as exc:
            raise SopsError(str(exc)) from None
    else:
        rules = rule.rules
        if args.mac_only_encrypted and not rules.mac_only_encrypted:
            rules = CryptRules(**rules.as_metadata(), mac_only_encrypted=True)
    return plan, rules


def encrypt(argv: list[str], prog: str) -> int:
    p = _parser(
        prog, "encrypt", "Encrypt a file for the age recipients of --age or the matching .sops.yaml rule."
    )
    p.add_argument(
        "file", nargs="?", help="plaintext file (none or '-': stdin, which needs --filename-override)"
    )
    _io_flags(p)
    p.add_argument(
        "--age", "-a", help="comma-separated age recipients (default: SOPS_AGE_RECIPIENTS or .sops.yaml)"
    )
    for flag in (
        "unencrypted-suffix",
        "encrypted-suffix",
        "unencrypted-regex",
        "encrypted-regex",
        "unencrypted-comment-regex",
        "encrypted-comment-regex",
    ):
        p.add_argument(
            f"--{flag}", default="", help=f"set {flag.replace('-', '_')} (only one crypt rule allowed)"
        )
    p.add_argument("--mac-only-encrypted", action="store_true", help="MAC only the encrypted values")
    p.add_argument(
        "--shamir-secret-sharing-threshold", type=int, default=0, help="key groups needed to decrypt"
    )
    p.add_argument("--filename-override", help="path used to pick the .sops.yaml rule and the format")
    for kind in BINARY_KEY_TYPES:
        short = {"pgp": ["-p"], "kms": ["-k"]}.get(kind, [])
        p.add_argument(f"--{kind}", *short, default="", help=f"{kind} keys (handed to the sops binary)")
    p.add_argument("--encryption-context", default="", help="KMS encryption context (sops binary)")
    p.add_argument("--aws-profile", default="", help="AWS profile for KMS keys (sops binary)")
    p.add_argument(
        "--previous",
        metavar="FILE",
        help="the file's current encrypted version: keep its data key and the IVs of unchanged values",
    )
    args = p.parse_args(argv)
    from sops_plugin.errors import SopsError

    try:
        if args.file is None:
            _check_stdin_encrypt(args)
            args.file = "-"
        named = [kind for kind in BINARY_KEY_TYPES if getattr(args, kind.replace("-", "_"))]
        if named:
            stdin = _read("-") if args.file == "-" else None
            return _fallback("encrypt", argv, f"{args.file}: --{named[0]} keys need the sops binary", stdin)
        data = _read(args.file, must_exist=True)
        from sops_plugin.format.document import format_for

        name = args.filename_override or args.file
        fmt = format_for(name, args.input_type)
        plan, rules = _rule_for(args, name)
        if any(k.kind != "age" for g in plan.groups for k in g):
            return _fallback("encrypt", argv, f"{args.file}: the creation rule names non-age keys")
        from sops_plugin import api

        previous = _read(args.previous) if args.previous else None
        out = api.encrypt_bytes(
            data,
            fmt,
            rules,
            plan,
            previous=previous,
            output_format=args.output_type,
            where=args.file,
            indent=resolve_indent(args, args.output_type or fmt),
        )
        _write(out, _target(args, args.file))
        return 0
    except SopsError as exc:
        return _fail(exc, args.file)


def _check_stdin_encrypt(args: argparse.Namespace) -> None:
    """sops 3.13 encrypts stdin when no file is named, given --filename-override and not -i (else 8)."""
    from sops_plugin.errors import CONFLICTING_PARAMETERS, SopsError

    if args.in_place:
        raise SopsError("Error: cannot use --in-place when reading from stdin", CONFLICTING_PARAMETERS)
    if not args.filename_override:
        raise SopsError(
            "Error: must specify --filename-override when reading from stdin", CONFLICTING_PARAMETERS
        )


def rotate(argv: list[str], prog: str) -> int:
    p = _parser(
        prog, "rotate", "Re-encrypt files with a new data key (every value, the MAC and each enc change)."
    )
    p.add_argument("files", nargs="+", metavar="PATH")
    _io_flags(p)
    p.add_argument("--add-age", default="", help="comma-separated age recipients to add")
    p.add_argument("--rm-age", default="", help="comma-separated age recipients to remove")
    for kind in BINARY_KEY_TYPES:
        for verb in ("add", "rm"):
            p.add_argument(f"--{verb}-{kind}", default="", help=f"{kind} keys to {verb} (sops binary)")
    args = p.parse_args(argv)
    from sops_plugin.errors import SopsError

    named = [
        k for k in BINARY_KEY_TYPES for v in ("add", "rm") if getattr(args, f"{v}_{k}".replace("-", "_"))
    ]
    if named:
        return _fallback("rotate", argv, f"--add/--rm-{named[0]} keys need the sops binary")

    if len(args.files) > 1 and not args.in_place:
        sys.stderr.write(f"{prog}: several files need -i/--in-place\n")
        return 1
    from core_sync.progress import Progress
    from sops_plugin import api
    from sops_plugin.format.document import format_for, parse_encrypted

    status, outputs, binary_files = 0, [], []
    progress = Progress(len(args.files) if len(args.files) > 1 else 0, "rotating")
    for path in args.files:
        progress.step(path)
        try:
            data = _read(path)
            fmt = format_for(path, args.input_type)
            groups = parse_encrypted(data, fmt).metadata.key_groups
            if any(k.kind != "age" for g in groups for k in g):
                binary_files.append(path)
                continue
            out = api.rotate_bytes(
                data,
                fmt,
                None,
                add_age=[r for r in args.add_age.split(",") if r],
                rm_age=[r for r in args.rm_age.split(",") if r],
                where=path,
            )
            outputs.append((_target(args, path), out))
        except SopsError as exc:
            status = _fail(exc, path)
    progress.done()
    status = status or _write_all(outputs, len(args.files))
    for path in binary_files if not status else []:
        one = [a for a in argv if a not in args.files] + [path]
        status = _fallback("rotate", one, f"{path}: the file has non-age keys") or status
    return status


def _write_all(outputs: list[tuple[str | None, bytes]], attempted: int) -> int:
    """Write every computed result (files all or nothing, then stdout); the exit status."""
    from sops_plugin.errors import SopsError

    try:
        _write_files([(target, data) for target, data in outputs if target is not None])
    except SopsError as exc:
        if attempted > 1:
            exc.message += "; no file was changed"
        return _fail(exc)
    for target, data in outputs:
        if target is None:
            _write(data, None)
    return 0


def updatekeys(argv: list[str], prog: str) -> int:
    p = _parser(
        prog, "updatekeys", "Re-wrap each file's data key for the recipients its .sops.yaml rule now names."
    )
    p.add_argument("files", nargs="+", metavar="PATH")
    p.add_argument("-y", "--yes", action="store_true", help="accepted for sops compatibility (never prompts)")
    p.add_argument("--input-type", choices=FORMATS)
    p.add_argument("--config", default=os.environ.get("SOPS_CONFIG"), help="path to .sops.yaml")
    p.add_argument("--shamir-secret-sharing-threshold", type=int, default=0)
    args = p.parse_args(argv)
    from core_sync.progress import Progress
    from sops_plugin import api
    from sops_plugin.errors import SopsError
    from sops_plugin.format.config import find_creation_rule
    from sops_plugin.format.document import format_for

    status, outputs, binary_files, messages = 0, [], [], []
    progress = Progress(len(args.files) if len(args.files) > 1 else 0, "updating keys")
    for path in args.files:
        progress.step(path)
        try:
            config = api.find_config(Path.cwd(), args.config)
            if config is None or not config.is_file():
                raise SopsError("config file not found")
            if not Path(path).is_file():
                raise SopsError("no such file or directory", where=path)
            try:
                rel = str(Path(path).resolve().relative_to(config.resolve().parent))
            except ValueError:
                rel = path
            rule = find_creation_rule(_config_text(config), rel, updatekeys=True)
            if args.shamir_secret_sharing_threshold:
                rule.plan.shamir_threshold = args.shamir_secret_sharing_threshold
            if any(k.kind != "age" for g in rule.plan.groups for k in g):
                binary_files.append(path)
                continue
            out, changes = api.updatekeys_bytes(
                _read(path), format_for(path, args.input_type), rule.plan, where=path
            )
            if out is None:
                messages.append(f"File {path} already up to date\n")
                continue
            messages.append(
                "The following changes will be made to the file's groups:\n" + "\n".join(changes) + "\n"
            )
            outputs.append((path, out))
        except SopsError as exc:
            status = _fail(exc, path)
    progress.done()
    if status:
        return status
    status = _write_all(list(outputs), len(args.files))
    if not status:
        sys.stderr.write("".join(messages))
        sys.stderr.write("".join(f"File {path} synced with new keys\n" for path, _ in outputs))
    for path in binary_files if not status else []:
        reason = f"{path}: the creation rule names non-age keys"
        status = _fallback("updatekeys", ["-y", path], reason) or status
    return status


def _config_text(config: Path) -> str:
    from sops_plugin.errors import SopsError

    try:
        return config.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SopsError(f"error loading config: {config}: {exc}", where=str(config)) from None
