"""Where age identities are found, as sops finds them: ``SOPS_AGE_KEY``, ``SOPS_AGE_KEY_FILE``,
``SOPS_AGE_KEY_CMD`` and the user's ``sops/age/keys.txt``.

Both the SOPS stage and ``lockstep keys restore``/``rotate --offline`` (age-encrypted key backups) read
identities from the same places; the lookup lives here so neither secret package imports the other. Parsing
the texts into identities is each caller's business (only texts and their sources cross this boundary).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from collections.abc import Mapping


class AgeKeyError(ValueError):
    """An identity source named in the environment cannot be read (the message names it, never a key)."""


def default_key_file(env: Mapping[str, str] | None = None) -> Path:
    """``<user config dir>/sops/age/keys.txt`` as Go's ``os.UserConfigDir`` picks it."""
    env = os.environ if env is None else env
    xdg = env.get("XDG_CONFIG_HOME")
    if sys.platform == "win32":
        return Path(env.get("AppData", "")) / "sops" / "age" / "keys.txt"
    if xdg:
        return Path(xdg) / "sops" / "age" / "keys.txt"
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "sops" / "age" / "keys.txt"
    return home / ".config" / "sops" / "age" / "keys.txt"


def identity_texts(env: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """``(source, text)`` for every age identity source sops would read, in sops' order."""
    env = os.environ if env is None else env
    found: list[tuple[str, str]] = []
    if env.get("SOPS_AGE_KEY"):
        found.append(("SOPS_AGE_KEY", env["SOPS_AGE_KEY"]))
    if env.get("SOPS_AGE_KEY_FILE"):
        path = Path(env["SOPS_AGE_KEY_FILE"]).expanduser()
        try:
            found.append((str(path), path.read_text()))
        except OSError as exc:
            raise AgeKeyError(f"failed to open age key file {path}: {exc.strerror}") from None
    if env.get("SOPS_AGE_KEY_CMD"):
        found.append(("SOPS_AGE_KEY_CMD", command_output(env, "SOPS_AGE_KEY_CMD").decode("utf-8", "replace")))
    default = default_key_file(env)
    if default.is_file():
        try:
            found.append((str(default), default.read_text()))
        except OSError as exc:
            raise AgeKeyError(f"failed to open age key file {default}: {exc.strerror}") from None
    return found


def command_output(env: Mapping[str, str], name: str) -> bytes:
    """The standard output of the command in ``env[name]`` (split like a shell would, run without one)."""
    import shlex
    import subprocess

    try:
        proc = subprocess.run(shlex.split(env[name]), capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise AgeKeyError(f"failed to run {name}: {type(exc).__name__}") from None
    if proc.returncode != 0:
        raise AgeKeyError(f"{name} exited with status {proc.returncode}")
    return proc.stdout
