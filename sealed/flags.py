"""``lockstep seal``'s flags: one table, a fast parser for ordinary command lines, argparse for the rest.

Why not argparse alone: importing it and building this parser costs ~4 ms, a noticeable share of the
start-up budget. The fast parser accepts only exact, unambiguous command lines (known long or short
flags, values that do not start with ``-``); anything else (``--help``, abbreviations, ``-ovalue``,
unknown flags, mistakes) goes to argparse, which then gives the same result or its usual error and help.
A property test checks that both parsers agree wherever the fast one answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep seal` must start fast
if TYPE_CHECKING:
    import argparse
    from typing import Any

DEFAULT_CONTROLLER_NAME = "lockstep-sealed-secrets"
DEFAULT_CONTROLLER_NAMESPACE = "lockstep-system"
ENV_PREFIX = "SEALED_SECRETS_"

VALUE, BOOL, APPEND, LIST = "value", "bool", "append", "list"

# (option strings, destination, kind, default, metavar, help)
FLAGS: tuple[tuple[tuple[str, ...], str, str, Any, str | None, str], ...] = (
    (("--cert",), "cert", VALUE, None, "FILE|URL", "certificate file or URL; overrides --controller-*"),
    (("--controller-name",), "controller_name", VALUE, DEFAULT_CONTROLLER_NAME, "NAME",
     "name of the sealing controller's Service"),
    (("--controller-namespace",), "controller_namespace", VALUE, DEFAULT_CONTROLLER_NAMESPACE, "NAMESPACE",
     "namespace of the controller"),
    (("--controller-url",), "controller_url", VALUE, None, "URL",
     "reach the controller directly at URL instead of the proxy"),
    (("--fetch-cert",), "fetch_cert", BOOL, False, None, "write the controller's certificate out"),
    (("-o", "--format"), "format", VALUE, "json", "FORMAT", "output format: json (default) or yaml"),
    (("-f", "--secret-file"), "secret_file", VALUE, None, "FILE", "input file (default: stdin)"),
    (("-w", "--sealed-secret-file"), "sealed_secret_file", VALUE, None, "FILE",
     "output file, written atomically (default: stdout)"),
    (("--scope",), "scope", VALUE, "strict", "SCOPE", "strict (default), namespace-wide or cluster-wide"),
    (("--raw",), "raw", BOOL, False, None, "seal one value (stdin or --from-file); print base64"),
    (("--name",), "name", VALUE, None, "NAME", "SealedSecret name (required with --raw, strict scope)"),
    (("-n", "--namespace"), "namespace", VALUE, "", "NAMESPACE",
     "namespace of the secret (default: the kubeconfig's)"),
    (("--from-file",), "from_file", APPEND, [], "[KEY=]PATH", "(only with --raw) value file"),
    (("--merge-into",), "merge_into", VALUE, None, "FILE", "merge the items into this SealedSecret file"),
    (("--re-encrypt", "--rotate"), "re_encrypt", BOOL, False, None, "re-seal with the newest cluster key"),
    (("--validate",), "validate", BOOL, False, None, "ask the controller whether it opens"),
    (("--recovery-unseal",), "recovery_unseal", BOOL, False, None, "open SealedSecrets offline with keys"),
    (("--recovery-private-key",), "recovery_private_key", APPEND, [], "FILE[,FILE]",
     "private keys: PEM files or key backups (Secrets or a List of them)"),
    (("--allow-empty-data",), "allow_empty_data", BOOL, False, None, "allow a Secret with no data"),
    (("--kubeconfig",), "kubeconfig", VALUE, None, "FILE", "default: $KUBECONFIG, ~/.kube/config"),
    (("--context",), "context", VALUE, None, "NAME", "kubeconfig context to use"),
    (("--in-place",), "in_place", LIST, None, "PATH", "seal every Secret manifest under PATHs into files"),
    (("--replace",), "replace", BOOL, False, None, "with --in-place: replace each Secret file"),
    (("--dry-run",), "dry_run", BOOL, False, None, "with --in-place: list the plan, write nothing"),
)  # fmt: skip

_BY_OPTION = {option: flag for flag in FLAGS for option in flag[0]}


def env_name(flag: tuple[Any, ...]) -> str:
    long_name = str(next(o for o in flag[0] if o.startswith("--")))
    return ENV_PREFIX + long_name[2:].upper().replace("-", "_")


def defaults(environ: Mapping[str, str]) -> dict[str, Any]:
    """Every destination's default, with ``SEALED_SECRETS_<FLAG>`` applied (the command line still wins)."""
    values: dict[str, Any] = {}
    for flag in FLAGS:
        _, dest, kind, default, _, _ = flag
        value = environ.get(env_name(flag))
        if value is None:
            values[dest] = list(default) if isinstance(default, list) else default
        elif kind == BOOL:
            values[dest] = value.strip().lower() in ("1", "t", "true", "yes")
        elif kind == APPEND:
            values[dest] = [value]
        elif kind == LIST:
            values[dest] = value.split()
        else:
            values[dest] = value
    return values


def fast_parse(argv: Sequence[str], environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The parsed flags, or None when argparse must decide (help, abbreviations, errors, odd forms)."""
    values = defaults(environ)
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if not token.startswith("-") or token in ("-", "--"):
            return None
        option, has_value, attached = token.partition("=") if token.startswith("--") else (token, "", "")
        flag = _BY_OPTION.get(option)
        if flag is None:
            return None
        _, dest, kind, _, _, _ = flag
        if kind == BOOL:
            if has_value:
                return None
            values[dest] = True
            continue
        if kind == LIST:
            if has_value:
                return None
            items = []
            while i < len(argv) and not argv[i].startswith("-"):
                items.append(argv[i])
                i += 1
            if not items:
                return None
            values[dest] = items
            continue
        if has_value and not attached.startswith("-"):
            value = attached
        elif not has_value and i < len(argv) and not argv[i].startswith("-"):
            value = argv[i]
            i += 1
        else:
            return None
        if kind == APPEND:
            values[dest] = [*values[dest], value]
        else:
            values[dest] = value
    return values


def build_parser(
    prog: str, description: str, epilog: str, environ: Mapping[str, str]
) -> argparse.ArgumentParser:
    """The argparse parser for the same table (help text, abbreviations and error messages)."""
    import argparse
    import os
    import sys

    class HelpFormatter(argparse.RawDescriptionHelpFormatter):
        def __init__(self, prog: str) -> None:
            try:
                width = os.get_terminal_size(sys.stdout.fileno()).columns - 2
            except (OSError, ValueError):
                width = 98
            super().__init__(prog, width=max(width, 40))

    parser = argparse.ArgumentParser(
        prog=prog, description=description, epilog=epilog, formatter_class=HelpFormatter
    )
    for options, dest, kind, _, metavar, help_text in FLAGS:
        if kind == BOOL:
            parser.add_argument(*options, dest=dest, action="store_true", help=help_text)
        elif kind == APPEND:
            parser.add_argument(*options, dest=dest, action="append", metavar=metavar, help=help_text)
        elif kind == LIST:
            parser.add_argument(*options, dest=dest, nargs="+", metavar=metavar, help=help_text)
        else:
            parser.add_argument(*options, dest=dest, metavar=metavar, help=help_text)
    parser.set_defaults(**defaults(environ))
    return parser


def parse(
    argv: Sequence[str], environ: Mapping[str, str], prog: str, description: str, epilog: str
) -> dict[str, Any]:
    """Fast path when it can, argparse otherwise (which may print help or an error and exit)."""
    values = fast_parse(argv, environ)
    if values is not None:
        return values
    return vars(build_parser(prog, description, epilog, environ).parse_args(list(argv)))
