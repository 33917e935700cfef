"""``lockstep sops encrypt``: sops' flags, output and exit codes; the data key is wrapped for the age
recipients of ``--age``, ``SOPS_AGE_RECIPIENTS`` or the matching ``.sops.yaml`` creation rule.

Apart from :mod:`sops_plugin.cli` (``decrypt`` and what every sops command shares) so that a
``lockstep sops decrypt`` does not load the other commands.
"""

from __future__ import annotations

import os
from pathlib import Path

from sops_plugin.cli import (
    BINARY_KEY_TYPES,
    _config_text,
    _fail,
    _fallback,
    _io_flags,
    _parser,
    _read,
    _target,
    _write,
    resolve_indent,
)

TYPE_CHECKING = False  # typing is not imported at run time (start-up speed)
if TYPE_CHECKING:
    import argparse

    from sops_plugin.format.encryption import KeyPlan
    from sops_plugin.format.rules import CryptRules

EXAMPLES = {
    "encrypt": (
        "example:\n  lockstep sops encrypt --age age1... --encrypted-regex '^(data|stringData)$' "
        "secret.yaml > secret.enc.yaml\n"
    ),
}


def _rule_for(args: argparse.Namespace, path: str) -> tuple[KeyPlan, CryptRules]:
    """(KeyPlan, CryptRules) from flags, SOPS_AGE_RECIPIENTS and .sops.yaml, flags winning."""
    from sops_plugin.api import find_config
    from sops_plugin.errors import CONFLICTING_PARAMETERS, SopsError
    from sops_plugin.format.config import NO_KEYS, find_creation_rule
    from sops_plugin.format.encryption import KeyPlan
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
        prog,
        "encrypt",
        "Encrypt a file for the age recipients of --age or the matching .sops.yaml rule.",
        EXAMPLES,
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
