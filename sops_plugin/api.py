"""The library: decrypt, encrypt, rotate and update keys of SOPS data in memory.

Callers pass identities (or let them come from sops' environment variables); plaintext is returned, never
written anywhere. Errors are :class:`~sops_plugin.errors.SopsError` carrying sops' exit code and naming
``where`` (the file or object) and the key path.
"""

from __future__ import annotations

from collections.abc import Sequence

from gocompat.yaml.v3.tree import Branch, GoTime, to_plain
from sops_plugin.config_file import find_config as find_config  # re-exported: part of the library
from sops_plugin.errors import SopsError
from sops_plugin.format import document as d
from sops_plugin.format import encryption
from sops_plugin.format.metadata import MasterKey
from sops_plugin.format.rules import CryptRules

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from typing import Any

    from sops_plugin.format.age import Identity


def _identities(identities: Sequence[Identity] | None) -> Sequence[Identity]:
    if identities is not None:
        return identities
    from sops_plugin.identities import from_environment

    return from_environment()


def decrypt_document(
    data: bytes,
    fmt: str,
    identities: Sequence[Identity] | None = None,
    *,
    ignore_mac: bool = False,
    where: str = "",
) -> d.SopsDocument:
    """Parse, unwrap the data key and decrypt (MAC verified unless ``ignore_mac``)."""
    try:
        doc = d.parse_encrypted(data, fmt)
        key = d.data_key(doc.metadata, _identities(identities))
        return d.decrypt(doc, key, ignore_mac=ignore_mac)
    except SopsError as exc:
        raise exc.located(where) from None


def decrypt_bytes(
    data: bytes,
    fmt: str,
    identities: Sequence[Identity] | None = None,
    *,
    output_format: str | None = None,
    ignore_mac: bool = False,
    where: str = "",
    indent: int | None = None,
) -> bytes:
    """Encrypted file bytes → plaintext bytes, as ``sops decrypt`` prints them."""
    doc = decrypt_document(data, fmt, identities, ignore_mac=ignore_mac, where=where)
    try:
        return d.emit_plain(doc.branches, output_format or fmt, indent)
    except SopsError as exc:
        raise exc.located(where) from None


def decrypt_revealing(
    data: bytes, fmt: str, identities: Sequence[Identity] | None = None, *, where: str = ""
) -> tuple[bytes, list[bytes]]:
    """Encrypted file bytes → plaintext bytes (as ``sops decrypt`` prints them) and the plaintext of every
    value that was encrypted: what messages about the plaintext (a Helm error) must never show."""
    try:
        doc = d.parse_encrypted(data, fmt)
        plain = d.decrypt(doc, d.data_key(doc.metadata, _identities(identities)))
        text = d.emit_plain(plain.branches, fmt)
    except SopsError as exc:
        raise exc.located(where) from None
    revealed: list[bytes] = []
    for cipher, clear in zip(doc.branches, plain.branches, strict=True):
        _revealed(cipher, clear, revealed)
    return text, revealed


def _revealed(cipher: Any, clear: Any, out: list[bytes]) -> None:
    """The plaintext leaves of ``clear`` whose counterpart in ``cipher`` is an ``ENC[...]`` value."""
    if isinstance(cipher, Branch) and isinstance(clear, Branch):
        for (_, c), (_, p) in zip(cipher, clear, strict=False):
            _revealed(c, p, out)
    elif isinstance(cipher, list) and isinstance(clear, list):
        for c, p in zip(cipher, clear, strict=False):
            _revealed(c, p, out)
    elif isinstance(cipher, str) and cipher.startswith("ENC[") and clear is not None:
        value = to_plain(clear)
        if isinstance(value, bool):
            value = "true" if value else "false"
        out.append(value if isinstance(value, bytes) else str(value).encode())


def _k8s_value(value: Any) -> Any:
    from datetime import date, datetime

    if isinstance(value, dict):
        return Branch((str(k), _k8s_value(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_k8s_value(v) for v in value]
    if isinstance(value, datetime):
        from gocompat.yaml.v3.rules import parse_timestamp

        text = value.isoformat().replace("+00:00", "Z")
        return GoTime(parse_timestamp(text if value.tzinfo else text + "Z") or text)
    if isinstance(value, date):
        return GoTime(f"{value.isoformat()}T00:00:00Z")
    return value


def decrypt_object(obj: dict[str, Any], identities: Sequence[Identity], *, where: str = "") -> dict[str, Any]:
    """A parsed manifest carrying a ``sops`` block → the decrypted object without it (Flux's route)."""
    try:
        from sops_plugin.format.metadata import from_plain

        meta = from_plain(obj.get("sops"))
        branch = _k8s_value({k: v for k, v in obj.items() if k != "sops"})
        doc = d.SopsDocument("json", [branch], meta)
        key = d.data_key(meta, identities)
        plain = d.decrypt(doc, key)
    except SopsError as exc:
        raise exc.located(where) from None
    result = to_plain(plain.branches[0])
    assert isinstance(result, dict)
    return result


def encrypt_bytes(
    data: bytes,
    fmt: str,
    rules: CryptRules,
    plan: encryption.KeyPlan,
    *,
    previous: bytes | None = None,
    identities: Sequence[Identity] | None = None,
    output_format: str | None = None,
    where: str = "",
    indent: int | None = None,
) -> bytes:
    """Plaintext → encrypted file. With ``previous`` (the file's current encrypted bytes) the data key and
    the IVs of unchanged values are reused, so only changed lines differ."""
    try:
        branches = _parse_plaintext(data, fmt)
        out_fmt = output_format or fmt
        if previous is not None:
            old = decrypt_document(previous, out_fmt, identities)
            key = old.cipher.key if old.cipher else None
            doc = encryption.encrypt(
                branches,
                out_fmt,
                old.metadata.rules,
                key=key,
                groups=old.metadata.key_groups,
                shamir_threshold=old.metadata.shamir_threshold,
                cipher=old.cipher,
            )
        else:
            doc = encryption.encrypt(branches, out_fmt, rules, plan)
        return d.emit_encrypted(doc, indent=indent)
    except SopsError as exc:
        raise exc.located(where) from None


def _parse_plaintext(data: bytes, fmt: str) -> list[Branch]:
    """The plaintext to encrypt; failures exit as sops' do (2: unreadable input, 92: an empty YAML file)."""
    from sops_plugin.errors import COULD_NOT_READ_INPUT, NEED_AT_LEAST_ONE_DOCUMENT

    if fmt == "yaml" and not data:
        raise SopsError(
            "File cannot be completely empty, it must contain at least one document",
            NEED_AT_LEAST_ONE_DOCUMENT,
        )
    try:
        branches = d.parse_plain(data, fmt)
    except SopsError as exc:
        message = (
            exc.message
            if exc.message.startswith("Error unmarshal")
            else f"Error unmarshalling file: {exc.message}"
        )
        raise SopsError(message, COULD_NOT_READ_INPUT) from None
    if fmt in ("yaml", "json") and not branches:
        raise SopsError("Error unmarshalling file: EOF (no document)", COULD_NOT_READ_INPUT)
    return branches


def rotate_bytes(
    data: bytes,
    fmt: str,
    identities: Sequence[Identity] | None = None,
    *,
    add_age: Sequence[str] = (),
    rm_age: Sequence[str] = (),
    where: str = "",
) -> bytes:
    """A new data key: every value, the MAC and every ``enc`` change; recipients optionally edited."""
    try:
        doc = decrypt_document(data, fmt, identities)
        groups = [
            [k for k in g if not (k.kind == "age" and k.recipient in rm_age)] for g in doc.metadata.key_groups
        ]
        if add_age:
            groups[0] += [MasterKey("age", {"recipient": r}) for r in add_age]
        plan = encryption.KeyPlan(groups, doc.metadata.shamir_threshold)
        new = encryption.encrypt(doc.branches, fmt, doc.metadata.rules, plan)
        return d.emit_encrypted(new)
    except SopsError as exc:
        raise exc.located(where) from None


def _recipients(groups: Sequence[Sequence[MasterKey]]) -> list[list[tuple[str, str]]]:
    return [sorted((k.kind, k.recipient or k.describe()) for k in g) for g in groups]


def updatekeys_bytes(
    data: bytes,
    fmt: str,
    plan: encryption.KeyPlan,
    identities: Sequence[Identity] | None = None,
    *,
    where: str = "",
) -> tuple[bytes | None, list[str]]:
    """Re-wrap the same data key for ``plan``'s recipients; values, MAC and lastmodified stay as they are.
    Returns (new bytes or ``None`` if already up to date, the ``+++``/``---`` lines)."""
    try:
        doc = d.parse_encrypted(data, fmt)
        old = _recipients(doc.metadata.key_groups)
        new = _recipients(plan.groups)
        threshold_same = (plan.shamir_threshold or 0) in (0, doc.metadata.shamir_threshold)
        if old == new and threshold_same:
            return None, []
        changes = []
        for n in range(max(len(old), len(new))):
            before = set(old[n]) if n < len(old) else set()
            after = set(new[n]) if n < len(new) else set()
            changes += [f"Group {n + 1}"]
            changes += [f"    +++ {r}" for _, r in sorted(after - before)]
            changes += [f"    --- {r}" for _, r in sorted(before - after)]
        key = d.data_key(doc.metadata, _identities(identities))
        groups, threshold = encryption.wrap_keys(plan, key)
        doc.metadata.key_groups = groups
        doc.metadata.shamir_threshold = threshold
        return d.emit_encrypted(doc), changes
    except SopsError as exc:
        raise exc.located(where) from None


def layout_for(version: str) -> str:
    """The metadata layout (field order) the writer of ``version`` used: "3.9", "3.11" or "3.13"."""
    try:
        major, minor = (int(part) for part in version.removeprefix("v").split(".")[:2])
    except ValueError:
        return "3.11"
    if (major, minor) >= (3, 13):
        return "3.13"
    return "3.9" if (major, minor) <= (3, 9) else "3.11"


def indent_of(data: bytes, fmt: str) -> int | None:
    """The indentation a YAML or JSON file was written with (sops' ``stores`` setting or ``--indent``), from
    its first indented line, so rewriting it changes no layout; ``None``: the store's default."""
    if fmt not in ("yaml", "json"):
        return None
    for line in data.split(b"\n"):
        if fmt == "json" and line.startswith(b"\t"):
            return None
        stripped = line.lstrip(b" ")
        if stripped and len(stripped) < len(line) and not stripped.startswith(b"#"):
            return len(line) - len(stripped)
    return None


def reencrypt(
    old: d.SopsDocument,
    branches: list[Branch],
    *,
    indent: int | None = None,
    output_format: str | None = None,
) -> bytes:
    """Changed plaintext of a decrypted file → the file again, with the smallest diff: the same data key,
    recipients, crypt rules, metadata layout and version, and the IVs of unchanged values (their ``ENC[…]``
    strings stay byte-identical); only changed values, ``lastmodified`` and the MAC differ.

    ``old`` must come from :func:`decrypt_document` (its cipher holds the data key and the IVs);
    ``output_format`` (default: ``old``'s) is the store written (``sops set --output-type``)."""
    if old.cipher is None:
        raise SopsError("the previous version was not decrypted")
    meta = old.metadata
    doc = encryption.encrypt(
        branches,
        output_format or old.fmt,
        meta.rules,
        key=old.cipher.key,
        groups=meta.key_groups,
        shamir_threshold=meta.shamir_threshold,
        cipher=old.cipher,
        version=meta.version or "3.11.0",
    )
    return d.emit_encrypted(doc, layout=layout_for(meta.version), indent=indent)
