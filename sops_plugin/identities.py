"""Where age identities come from: sops' environment variables and default key file, or a Kubernetes
Secret's ``*.agekey`` entries. All sources are merged, as sops does."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from sops_plugin.errors import NoUsableKey
from sops_plugin.format.age import AgeError, parse_identities, parse_ssh_identity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sops_plugin.format.age import Identity


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


def _parse(text: str, source: str) -> list[Identity]:
    try:
        return parse_identities(text)
    except AgeError as exc:
        raise NoUsableKey(f"failed to parse age identities from {source}: {exc}") from None


def from_environment(env: Mapping[str, str] | None = None) -> list[Identity]:
    """Every identity sops would load: SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, the default
    key file, SOPS_AGE_SSH_PRIVATE_KEY_FILE and SOPS_AGE_SSH_PRIVATE_KEY_CMD."""
    env = os.environ if env is None else env
    found: list[Identity] = []
    if env.get("SOPS_AGE_KEY"):
        found += _parse(env["SOPS_AGE_KEY"], "SOPS_AGE_KEY")
    if env.get("SOPS_AGE_KEY_FILE"):
        path = Path(env["SOPS_AGE_KEY_FILE"]).expanduser()
        try:
            found += _parse(path.read_text(), str(path))
        except OSError as exc:
            raise NoUsableKey(f"failed to open age key file {path}: {exc.strerror}") from None
    if env.get("SOPS_AGE_KEY_CMD"):
        found += _parse(
            _command_output(env, "SOPS_AGE_KEY_CMD").decode("utf-8", "replace"), "SOPS_AGE_KEY_CMD"
        )
    default = default_key_file(env)
    if default.is_file():
        found += _parse(default.read_text(), str(default))
    if env.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE"):
        path = Path(env["SOPS_AGE_SSH_PRIVATE_KEY_FILE"]).expanduser()
        try:
            found.append(parse_ssh_identity(path.read_bytes()))
        except (OSError, AgeError) as exc:
            raise NoUsableKey(f"failed to load SSH identity {path}: {exc}") from None
    if env.get("SOPS_AGE_SSH_PRIVATE_KEY_CMD"):  # sops >= 3.12: a command printing an SSH private key
        try:
            found.append(parse_ssh_identity(_command_output(env, "SOPS_AGE_SSH_PRIVATE_KEY_CMD")))
        except AgeError as exc:
            raise NoUsableKey(
                f"failed to load SSH identity from SOPS_AGE_SSH_PRIVATE_KEY_CMD: {exc}"
            ) from None
    return found


def _command_output(env: Mapping[str, str], name: str) -> bytes:
    """The standard output of the command in ``env[name]`` (split like a shell would, run without one)."""
    import shlex
    import subprocess

    try:
        proc = subprocess.run(shlex.split(env[name]), capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise NoUsableKey(f"failed to run {name}: {type(exc).__name__}") from None
    if proc.returncode != 0:
        raise NoUsableKey(f"{name} exited with status {proc.returncode}")
    return proc.stdout


def from_secret_data(data: Mapping[str, bytes]) -> list[Identity]:
    """Identities from a Secret's ``*.agekey`` entries (Flux's convention), several per entry allowed."""
    found: list[Identity] = []
    for name, value in data.items():
        if name.endswith(".agekey"):
            found += _parse(value.decode("utf-8", "replace"), f"secret entry {name}")
    return found
