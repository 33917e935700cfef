"""sops' own command line on top of ``lockstep sops``: ``-d/--decrypt``, ``-e/--encrypt``, ``-r/--rotate``,
``--set``, plain ``FILE`` (edit) and global flags before a command, so tools that run a ``sops`` binary
(helm-secrets, helmfile, pre-commit hooks, scripts) can run ``lockstep-sops`` instead.

Parsing follows sops' CLI library (urfave/cli v1 on Go's ``flag``): flags come before the file, ``-flag`` and
``--flag`` are the same, ``--flag=value`` works, the first positional argument is the file and later ones are
ignored with a warning. Flags that do nothing in the chosen mode are dropped as sops ignores them; key types
Lockstep does not handle natively (``--pgp``, ``--kms``, ...) hand the whole command line to the sops binary.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sops_plugin.cli import BINARY_KEY_TYPES as _KEY_TYPES
from sops_plugin.format.rules import RULE_NAMES

# The version of sops whose command line this follows (printed by --version for tools that check it).
SOPS_CLI_VERSION = "3.13.2"

_RULES = tuple(name.replace("_", "-") for name in RULE_NAMES)
# sops' global flags: name → takes a value. Short aliases map to their long names.
_GLOBAL_FLAGS = {
    "decrypt": False,
    "encrypt": False,
    "rotate": False,
    "disable-version-check": False,
    "check-for-updates": False,
    "in-place": False,
    "show-master-keys": False,
    "ignore-mac": False,
    "mac-only-encrypted": False,
    "verbose": False,
    "enable-local-keyservice": False,
    "help": False,
    "version": False,
    "aws-profile": True,
    "age": True,
    "extract": True,
    "input-type": True,
    "output-type": True,
    "config": True,
    "encryption-context": True,
    "set": True,
    "shamir-secret-sharing-threshold": True,
    "indent": True,
    "output": True,
    "filename-override": True,
    "decryption-order": True,
    "keyservice": True,
    "add-age": True,
    "rm-age": True,
    **{name: True for name in _KEY_TYPES},
    **{f"{op}-{name}": True for name in _KEY_TYPES for op in ("add", "rm")},
    **{name: True for name in _RULES},
}
_SHORT = {
    "d": "decrypt",
    "e": "encrypt",
    "r": "rotate",
    "i": "in-place",
    "s": "show-master-keys",
    "h": "help",
    "v": "version",
    "k": "kms",
    "p": "pgp",
    "a": "age",
}
_IO = ("input-type", "output-type", "config", "indent")
# Which global flags each mode's Lockstep command takes; the others change nothing in that mode.
_FORWARD = {
    "decrypt": {
        *_IO,
        "in-place",
        "output",
        "extract",
        "ignore-mac",
        "filename-override",
        "decryption-order",
        "keyservice",
        "enable-local-keyservice",
        "verbose",
    },
    "encrypt": {
        *_IO,
        *_RULES,
        "in-place",
        "output",
        "age",
        "mac-only-encrypted",
        "shamir-secret-sharing-threshold",
        "filename-override",
    },
    "rotate": {*_IO, "in-place", "output", "add-age", "rm-age"},
    "set": {*_IO, "ignore-mac", "decryption-order", "shamir-secret-sharing-threshold", "verbose"},
    # `sops FILE` (helm-secrets' edit: `--input-type yaml --output-type yaml FILE`): the output type is the
    # input type when editing, so only what `lockstep sops edit` takes is passed on.
    "edit": {
        "input-type",
        "ignore-mac",
        "indent",
        "config",
        "age",
        *_RULES,
        "mac-only-encrypted",
        "shamir-secret-sharing-threshold",
    },
}
# Global flags passed on when they come before a command (`sops --config c.yaml decrypt f`).
_BEFORE_COMMAND = {"config": "*", "indent": {"decrypt", "encrypt", "rotate", "set", "unset"}}


class _Flag:
    __slots__ = ("name", "tokens", "value")

    def __init__(self, name: str, tokens: list[str], value: str | None) -> None:
        self.name = name
        self.tokens = tokens
        self.value = value


def _split(argv: list[str]) -> tuple[list[_Flag], list[str]]:
    """Go ``flag`` parsing: flags up to the first positional argument (or ``--``), then positionals.
    An unknown flag is kept (the command's own parser reports it)."""
    flags: list[_Flag] = []
    n = 0
    while n < len(argv):
        token = argv[n]
        if token == "--":  # noqa: S105 (a token, not a password)
            return flags, argv[n + 1 :]
        if not token.startswith("-") or token == "-":  # noqa: S105
            return flags, argv[n:]
        body = token.lstrip("-")
        name, eq, value = body.partition("=")
        name = _SHORT.get(name, name)
        takes_value = _GLOBAL_FLAGS.get(name)
        if takes_value and not eq and n + 1 < len(argv):
            flags.append(_Flag(name, [f"--{name}", argv[n + 1]], argv[n + 1]))
            n += 2
            continue
        shown = f"--{name}={value}" if eq else f"--{name}"
        flags.append(_Flag(name, [shown], value if eq else None))
        n += 1
    return flags, []


def _usage_error(message: str, code: int) -> int:
    sys.stderr.write(f"{message}\n")
    return code


def main(argv: list[str], prog: str) -> int:
    """``lockstep sops`` in sops' flag style (what ``core_sync.cli`` runs when no subcommand matches)."""
    from core_sync.cli import dispatch

    flags, positionals = _split(argv)
    names = [f.name for f in flags]
    if "version" in names:
        from core_sync import __version__

        sys.stdout.write(f"sops {SOPS_CLI_VERSION} (lockstep {__version__})\n")
        return 0
    modes = [n for n in ("decrypt", "encrypt", "rotate", "set") if n in names]
    if "help" in names:  # `sops -d --help`: the help of the command the mode stands for
        return dispatch(["sops", *modes[:1], "--help"])
    if positionals and not modes and positionals[0] in _commands():
        return dispatch(["sops", positionals[0], *_before_command(flags, positionals[0]), *positionals[1:]])
    if len(modes) > 1:
        return _usage_error(f"{prog}: use only one of --decrypt, --encrypt, --rotate and --set", 8)
    if not positionals:
        return _usage_error("Error: no file specified", 100)
    if len(positionals) > 1:
        sys.stderr.write("More than one positional argument provided. Only the first one will be used!\n")
    path = positionals[0]
    if "in-place" in names and "output" in names:
        return _usage_error("Error: cannot operate on both --output and --in-place", 8)
    mode = modes[0] if modes else "edit"
    if mode in ("decrypt", "encrypt", "rotate") and path != "-" and not os.path.lexists(path):
        return _usage_error(f'Error: cannot operate on non-existent file "{Path(path).absolute()}"', 100)
    if mode in ("encrypt", "rotate") and _needs_binary(names):
        from sops_plugin.cli import _fallback

        return _fallback(argv[0], argv[1:], f"{path}: the command line names non-age keys")
    if mode == "edit" and "edit" not in _commands():
        return _usage_error(f"{prog}: editing is not available in this build (use decrypt/encrypt)", 1)
    forwarded = [t for f in flags if f.name in _FORWARD[mode] for t in f.tokens]
    if mode == "edit":
        return dispatch(["sops", "edit", *forwarded, path])
    if mode == "set":
        return _set(flags, forwarded, path)
    return dispatch(["sops", mode, *forwarded, path])


def _set(flags: list[_Flag], forwarded: list[str], path: str) -> int:
    """``sops --set '["a"]["b"] VALUE' FILE``: the index and the JSON value split at the first ``] ``."""
    from core_sync.cli import dispatch

    text = next(f.value for f in flags if f.name == "set") or ""
    index, sep, value = text.partition("] ")
    if not sep:
        return _usage_error("Invalid --set format", 7)
    return dispatch(["sops", "set", *forwarded, "--", path, index + "]", value])


def _needs_binary(names: list[str]) -> bool:
    """A key type only the sops binary handles was named (``--pgp``, ``--add-kms``, ...)."""
    return any(n in _KEY_TYPES or n.partition("-")[2] in _KEY_TYPES for n in names)


def _before_command(flags: list[_Flag], command: str) -> list[str]:
    out: list[str] = []
    for flag in flags:
        takes = _BEFORE_COMMAND.get(flag.name)
        if takes == "*" or (isinstance(takes, set) and command in takes):
            out += flag.tokens
    return out


def _commands() -> set[str]:
    """The subcommands ``lockstep sops`` has (``core_sync.cli``'s table, the one place they are listed)."""
    from core_sync.cli import TREE

    sops = next(c for c in TREE.children if c.name == "sops")
    return {c.name for c in sops.children}


def console() -> int:
    """The ``lockstep-sops`` console script: a drop-in ``sops`` (``HELM_SECRETS_SOPS_PATH``)."""
    from core_sync.cli import main as lockstep

    return lockstep(["sops", *sys.argv[1:]])
