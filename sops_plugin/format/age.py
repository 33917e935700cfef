"""Wrapping the data key for age recipients and unwrapping it with age identities (via pyrage).

sops stores one ASCII-armored age file per recipient, ending in a newline; rage may write CRLF, which is
normalised to LF. Identities are parsed from key-file text (``#`` lines and blanks skipped).
"""

from __future__ import annotations

import pyrage

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    Identity = Any  # pyrage.x25519.Identity | pyrage.ssh.Identity


class AgeError(Exception):
    """An age wrap/unwrap failure; the message names no key material."""


def parse_identities(text: str) -> list[Identity]:
    """Identities from key-file text: one per line (or several space-separated), comments skipped."""
    found: list[Identity] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for word in line.split():
            if word.startswith("AGE-SECRET-KEY-1"):
                try:
                    found.append(pyrage.x25519.Identity.from_str(word))
                except Exception:
                    raise AgeError("malformed age identity (AGE-SECRET-KEY-1...)") from None
            elif word.startswith("AGE-SECRET-KEY-PQ-1"):
                # pyrage (1.4) has no ML-KEM-768+X25519 hybrid identities; sops >= 3.12 does.
                raise AgeError(
                    "post-quantum hybrid age identities (AGE-SECRET-KEY-PQ-1...) are not supported natively: "
                    "decrypt with sops >= 3.12 (`sops decrypt`), see docs/sops-compat.md"
                )
            elif word.startswith("AGE-PLUGIN-"):
                raise AgeError("plugin age identities are not supported natively")
            else:
                raise AgeError("unknown identity type")
    return found


def parse_ssh_identity(pem: bytes) -> Identity:
    try:
        return pyrage.ssh.Identity.from_buffer(pem)
    except Exception:
        raise AgeError("could not parse the SSH private key") from None


def parse_recipient(text: str) -> Any:
    text = text.strip()
    try:
        if text.startswith("ssh-"):
            return pyrage.ssh.Recipient.from_str(text)
        if text.startswith("age1") and text.count("1") == 1:
            return pyrage.x25519.Recipient.from_str(text)
    except Exception:
        raise AgeError(f"failed to parse input as Bech32-encoded age public key: {text}") from None
    raise AgeError(f"unsupported age recipient: {text}")


def wrap(data_key: bytes, recipient: str) -> str:
    """The data key encrypted to one recipient, as the armored text sops stores in ``enc``."""
    try:
        armored = pyrage.encrypt(data_key, [parse_recipient(recipient)], armored=True)
    except AgeError:
        raise
    except Exception as exc:
        raise AgeError(f"failed to encrypt the data key for {recipient}: {type(exc).__name__}") from None
    text = bytes(armored).decode("ascii").replace("\r\n", "\n")
    return text if text.endswith("\n") else text + "\n"


def unwrap(enc: str, identities: Sequence[Identity]) -> bytes:
    """The data key from one ``enc`` armor, or :class:`AgeError` if no identity matches."""
    if not identities:
        raise AgeError("no age identities available")
    try:
        return bytes(pyrage.decrypt(enc.encode("ascii"), list(identities)))
    except Exception:
        raise AgeError(
            "failed to create reader for decrypting sops data key with age: "
            "no identity matched any of the recipients"
        ) from None


def public_of(identities: Iterable[Identity]) -> list[str]:
    return [str(i.to_public()) for i in identities if hasattr(i, "to_public")]
