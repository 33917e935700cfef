"""Where age identities come from: sops' environment variables and default key file, or a Kubernetes
Secret's ``*.agekey`` entries. All sources are merged, as sops does."""

from __future__ import annotations

import os
from pathlib import Path

from sops_plugin.errors import NoUsableKey
from sops_plugin.format.age import AgeError, parse_identities, parse_ssh_identity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from sops_plugin.format.age import Identity


def _parse(text: str, source: str) -> list[Identity]:
    try:
        return parse_identities(text)
    except AgeError as exc:
        raise NoUsableKey(f"failed to parse age identities from {source}: {exc}") from None


def from_environment(env: Mapping[str, str] | None = None) -> list[Identity]:
    """Every identity sops would load: SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, the default
    key file (found by :mod:`core_sync.age_keys`), SOPS_AGE_SSH_PRIVATE_KEY_FILE and
    SOPS_AGE_SSH_PRIVATE_KEY_CMD."""
    from core_sync.age_keys import AgeKeyError, command_output, identity_texts

    env = os.environ if env is None else env
    found: list[Identity] = []
    try:
        for source, text in identity_texts(env):
            found += _parse(text, source)
        if env.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE"):
            path = Path(env["SOPS_AGE_SSH_PRIVATE_KEY_FILE"]).expanduser()
            try:
                found.append(parse_ssh_identity(path.read_bytes()))
            except (OSError, AgeError) as exc:
                raise NoUsableKey(f"failed to load SSH identity {path}: {exc}") from None
        if env.get("SOPS_AGE_SSH_PRIVATE_KEY_CMD"):  # sops >= 3.12: a command printing an SSH private key
            try:
                found.append(parse_ssh_identity(command_output(env, "SOPS_AGE_SSH_PRIVATE_KEY_CMD")))
            except AgeError as exc:
                raise NoUsableKey(
                    f"failed to load SSH identity from SOPS_AGE_SSH_PRIVATE_KEY_CMD: {exc}"
                ) from None
    except AgeKeyError as exc:
        raise NoUsableKey(str(exc)) from None
    return found


def from_secret_data(data: Mapping[str, bytes]) -> list[Identity]:
    """Identities from a Secret's ``*.agekey`` entries (Flux's convention), several per entry allowed."""
    found: list[Identity] = []
    for name, value in data.items():
        if name.endswith(".agekey"):
            found += _parse(value.decode("utf-8", "replace"), f"secret entry {name}")
    return found
