"""SOPS files in ``lockstep keys rotate``: a new data key, re-wrapped for the recipients ``.sops.yaml``
names now (``sops rotate`` then ``sops updatekeys``), registered as a ``lockstep.rotators`` plugin.

The runbook lives in ``sealed`` and may not import this package; it finds :class:`SopsRotator` by its entry
point and calls it through a four-method protocol (``claims``, ``keys``, ``rotate``, ``verify``). Age
identities come from sops' own sources (``SOPS_AGE_KEY``, ``SOPS_AGE_KEY_FILE``, the default key file).
Errors are ``ValueError`` carrying the sops message (which names files and key paths, never values).
"""

from __future__ import annotations

from pathlib import Path

from sops_plugin import api
from sops_plugin.errors import SopsError
from sops_plugin.format.document import format_for, parse_encrypted
from sops_plugin.format.encryption import KeyPlan

_MARKERS = {
    "yaml": (b"sops:",),
    "json": (b'"sops"',),
    "dotenv": (b"sops_mac=",),
    "ini": (b"[sops]",),
}


class SopsRotator:
    name = "sops"

    def claims(self, path: Path, data: bytes) -> bool:
        fmt = format_for(str(path))
        markers = _MARKERS.get(fmt)
        if not markers or not any(m in data for m in markers):
            return False
        try:
            parse_encrypted(data, fmt)
        except SopsError:
            return False
        return True

    def keys(self, path: Path, data: bytes) -> str:
        try:
            groups = parse_encrypted(data, format_for(str(path))).metadata.key_groups
        except SopsError as error:
            raise ValueError(str(error.located(str(path)))) from None
        return _describe([[k.recipient or k.describe() for k in group] for group in groups])

    def _plan(self, path: Path) -> KeyPlan | None:
        from sops_plugin.format.config import find_creation_rule

        config = api.find_config(path.parent)
        if config is None or not config.is_file():
            return None
        try:
            relative = str(path.resolve().relative_to(config.resolve().parent))
        except ValueError:
            relative = str(path)
        return find_creation_rule(config.read_text(), relative).plan

    def rotate(self, path: Path, data: bytes) -> bytes:
        fmt = format_for(str(path))
        try:
            rotated = api.rotate_bytes(data, fmt, where=str(path))
            plan = self._plan(path)
            if plan is None:
                return rotated
            if any(k.kind != "age" for g in plan.groups for k in g):
                raise SopsError(f"{path}: the .sops.yaml rule names non-age keys; use sops for this file")
            updated, _ = api.updatekeys_bytes(rotated, fmt, plan, where=str(path))
            return updated if updated is not None else rotated
        except SopsError as error:
            raise ValueError(str(error.located(str(path)))) from None

    def verify(self, path: Path, data: bytes) -> str:
        fmt = format_for(str(path))
        try:
            api.decrypt_document(data, fmt, where=str(path))  # MAC checked; the plaintext is dropped
            plan = self._plan(path)
        except SopsError as error:
            raise ValueError(str(error.located(str(path)))) from None
        recipients = self.keys(path, data)
        if plan is not None:
            wanted = _describe([[k.recipient or k.describe() for k in group] for group in plan.groups])
            if wanted != recipients:
                raise ValueError(f"{path}: recipients {recipients} differ from .sops.yaml's {wanted}")
        return recipients


def _describe(groups: list[list[str]]) -> str:
    return " | ".join(",".join(sorted(group)) for group in groups)
