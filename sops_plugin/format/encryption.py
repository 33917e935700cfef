"""Encrypting a plaintext document: a new data key wrapped for the recipients of a :class:`KeyPlan` (or the
file's own key kept), every selected value encrypted, the MAC and the metadata. Apart from
:mod:`~sops_plugin.format.document` (parse, decrypt, emit) so that ``lockstep sops decrypt`` does not load
what only encryption needs."""

from __future__ import annotations

import os

from sops_plugin.errors import FILE_ALREADY_ENCRYPTED, SopsError
from sops_plugin.format import age
from sops_plugin.format.crypt import encrypt_branches
from sops_plugin.format.document import SopsDocument
from sops_plugin.format.metadata import MasterKey, Metadata, rfc3339
from sops_plugin.format.values import Cipher

TYPE_CHECKING = False  # typing is not imported at run time (start-up speed)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from gocompat.yaml.v3.tree import Branch
    from sops_plugin.format.rules import CryptRules


class KeyPlan:
    """Who may open the file: groups of master keys (only ``recipient`` matters for age) and a threshold."""

    def __init__(self, groups: list[list[MasterKey]], shamir_threshold: int = 0) -> None:
        self.groups = groups
        self.shamir_threshold = shamir_threshold


def now_rfc3339() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wrap_keys(plan: KeyPlan, key: bytes) -> tuple[list[list[MasterKey]], int]:
    """Encrypt the data key (or its Shamir shares) to every age recipient; other key types are refused."""
    groups = [g for g in plan.groups if g]
    if not groups:
        raise SopsError(
            "config file not found, or has no creation rules, "
            "and no keys provided through command line options"
        )
    if len(groups) > 1:
        threshold = plan.shamir_threshold or len(groups)
        if threshold < 2 or threshold > len(groups):
            raise SopsError(f"invalid shamir threshold {threshold} for {len(groups)} key groups")
        from sops_plugin.format import shamir

        secrets = shamir.split(key, len(groups), threshold)
    else:
        threshold, secrets = 0, [key]
    wrapped: list[list[MasterKey]] = []
    for group, secret in zip(groups, secrets, strict=True):
        out = []
        for mk in group:
            if mk.kind != "age":
                raise SopsError(f"{mk.describe()}: key type not handled natively")
            try:
                enc = age.wrap(secret, mk.recipient)
            except age.AgeError as exc:
                raise SopsError(f"failed to parse input: {exc}") from None
            out.append(MasterKey("age", {"recipient": mk.recipient.strip(), "enc": enc}))
        wrapped.append(out)
    return wrapped, threshold


def encrypt(
    branches: Sequence[Branch],
    fmt: str,
    rules: CryptRules,
    plan: KeyPlan | None = None,
    *,
    key: bytes | None = None,
    groups: list[list[MasterKey]] | None = None,
    shamir_threshold: int = 0,
    cipher: Cipher | None = None,
    version: str = "3.11.0",
) -> SopsDocument:
    """Encrypt plaintext branches. Either ``plan`` (new data key, wrapped now) or ``key`` + already wrapped
    ``groups`` (re-encrypt keeping the data key; pass the decrypting ``cipher`` to reuse unchanged IVs)."""
    for branch in branches:
        top = [k for k, _ in branch if isinstance(k, str)]
        if "sops" in top or (fmt == "dotenv" and any(k.startswith("sops_") for k in top)):
            raise SopsError("File already encrypted", FILE_ALREADY_ENCRYPTED)
    if key is None:
        if plan is None:
            raise SopsError("no keys to encrypt with")
        key = os.urandom(32)
        groups, shamir_threshold = wrap_keys(plan, key)
    if groups is None:
        raise SopsError("no key groups")
    cipher = cipher or Cipher(key)
    encrypted, mac = encrypt_branches(branches, rules, cipher)
    lastmodified = now_rfc3339()
    meta = Metadata(
        key_groups=groups,
        lastmodified=lastmodified,
        mac=cipher.encrypt(mac, rfc3339(lastmodified)),
        version=version,
        rules=rules,
        shamir_threshold=shamir_threshold if len(groups) > 1 else 0,
    )
    return SopsDocument(fmt, encrypted, meta, cipher)
