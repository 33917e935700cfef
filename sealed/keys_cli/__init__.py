"""``lockstep keys ...``: the entry points the CLI table names (``sealed.keys_cli:<command>``).

Each is a thin door that imports only its own command module, so ``lockstep keys list`` does not load the
runbook and ``lockstep --help`` loads none of this. No door is named like a submodule (``usage``,
``rotate``, ``backup``): importing ``sealed.keys_cli.usage`` binds that module as the package's ``usage``
attribute, so a second command in the same interpreter would call a module instead of the door.
"""

from __future__ import annotations


def list_keys(argv: list[str], prog: str = "lockstep keys list") -> int:
    from sealed.keys_cli.inventory import list_command

    return list_command(argv, prog)


def cert(argv: list[str], prog: str = "lockstep keys cert") -> int:
    from sealed.keys_cli.inventory import cert_command

    return cert_command(argv, prog)


def key_usage(argv: list[str], prog: str = "lockstep keys usage") -> int:
    from sealed.keys_cli.usage import usage_command

    return usage_command(argv, prog)


def retire(argv: list[str], prog: str = "lockstep keys retire") -> int:
    from sealed.keys_cli.usage import retire_command

    return retire_command(argv, prog)


def backup_keys(argv: list[str], prog: str = "lockstep keys backup") -> int:
    from sealed.keys_cli.backup import backup_command

    return backup_command(argv, prog)


def restore(argv: list[str], prog: str = "lockstep keys restore") -> int:
    from sealed.keys_cli.backup import restore_command

    return restore_command(argv, prog)


def rotate_keys(argv: list[str], prog: str = "lockstep keys rotate") -> int:
    from sealed.keys_cli.rotate import rotate_command

    return rotate_command(argv, prog)


def compromised(argv: list[str], prog: str = "lockstep keys compromised") -> int:
    from sealed.keys_cli.rotate import compromised_command

    return compromised_command(argv, prog)
