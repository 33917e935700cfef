"""A SOPS document, still pure: parse any store, get the data key, decrypt and verify, and emit plaintext or
sops' layout (encrypting is :mod:`~sops_plugin.format.encryption`). I/O (files, env, subprocess) lives
outside ``format``."""

from __future__ import annotations

from pathlib import PurePath

from gocompat.yaml.v3.tree import Branch, to_plain
from sops_plugin.errors import (
    ERROR_DUMPING_TREE,
    GENERIC,
    MAC_MISMATCH,
    MacMismatch,
    MetadataNotFound,
    NoUsableKey,
    SopsError,
)
from sops_plugin.format import age
from sops_plugin.format.crypt import decrypt_branches
from sops_plugin.format.metadata import MasterKey, Metadata, decryption_order, from_plain, rfc3339, to_tree
from sops_plugin.format.values import Cipher, CipherError

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


FORMATS = ("yaml", "json", "dotenv", "ini", "binary")
_EXT = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".env": "dotenv", ".ini": "ini"}


def format_for(path: str, explicit: str | None = None) -> str:
    """sops' choice of store: ``--input-type``/``--output-type`` or the extension, else binary."""
    if explicit:
        if explicit not in FORMATS:
            raise SopsError(f"unknown format {explicit!r}: use one of {', '.join(FORMATS)}")
        return explicit
    return _EXT.get(PurePath(path).suffix.lower(), "binary")


class SopsDocument:
    """Branches (ciphertext or plaintext) plus the metadata that goes with them."""

    def __init__(
        self, fmt: str, branches: list[Branch], metadata: Metadata, cipher: Cipher | None = None
    ) -> None:
        self.fmt = fmt
        self.branches = branches
        self.metadata = metadata
        self.cipher = cipher


def _store_error(exc: Exception) -> SopsError:
    """A parser's failure as a clear message (never a Python-internal one)."""
    if isinstance(exc, RecursionError):
        return SopsError("Error unmarshalling input: the document is nested too deeply")
    if isinstance(exc, UnicodeError):
        return SopsError("Error unmarshalling input: the file is not valid UTF-8")
    return SopsError(str(exc))


def _dump_error(exc: SopsError) -> SopsError:
    """A store that cannot write the tree (a nested value in dotenv, a flat value in INI): sops' exit 4."""
    if exc.exit_code == GENERIC:
        exc.exit_code = ERROR_DUMPING_TREE
    return exc


def load_yaml(text: str) -> list[Branch]:
    """Every document of a YAML stream: go-yaml v3's fast reader when it can (no PyYAML import), else the
    full PyYAML-based one."""
    from gocompat.yaml.v3.reader import read

    documents = read(text)
    if documents is None:
        from sops_plugin.format.yaml_load import load_documents

        documents = load_documents(text)
    return documents


def parse_plain(data: bytes, fmt: str) -> list[Branch]:
    """Plaintext in ``fmt`` → branches (the input of encrypt)."""
    try:
        if fmt == "yaml":
            return load_yaml(data.decode("utf-8", "surrogateescape"))
        if fmt == "json":
            from sops_plugin.format import json_store

            return [json_store.load(data)]
        if fmt == "binary":
            from sops_plugin.format import json_store

            return [json_store.load_binary(data)]
        if fmt == "dotenv":
            from sops_plugin.format import dotenv_store

            return [dotenv_store.load(data)]
        if fmt == "ini":
            from sops_plugin.format import ini_store

            return [ini_store.load(data)]
    except SopsError:
        raise
    except Exception as exc:
        raise _store_error(exc) from None
    raise SopsError(f"unknown format {fmt!r}")


def _meta_from_branch(branch: Branch) -> Any:
    meta = branch.get("sops")
    return None if meta is None else to_plain(meta)


def parse_encrypted(data: bytes, fmt: str) -> SopsDocument:
    """An encrypted file → ciphertext branches and metadata (``MetadataNotFound`` if it has none)."""
    branches, raw = split_stored(data, fmt)
    if raw is None:
        raise MetadataNotFound()
    return SopsDocument(fmt, branches, from_plain(raw))


def split_stored(data: bytes, fmt: str) -> tuple[list[Branch], Any]:
    """A stored file → its branches without metadata, and the plain ``sops`` metadata (``None``: none)."""
    try:
        if fmt in ("yaml", "json", "binary"):
            if fmt == "yaml":
                docs = load_yaml(data.decode("utf-8", "surrogateescape"))
            else:
                from sops_plugin.format import json_store

                docs = [json_store.load(data)]
            raw = _meta_from_branch(docs[0]) if docs else None
            branches = [d.without("sops") for d in docs]
        elif fmt == "dotenv":
            from sops_plugin.format import dotenv_store

            branch, raw = dotenv_store.split_metadata(dotenv_store.load(data))
            branches = [branch]
        elif fmt == "ini":
            from sops_plugin.format import ini_store

            branch, raw = ini_store.split_metadata(ini_store.load(data))
            branches = [branch]
        else:
            raise SopsError(f"unknown format {fmt!r}")
    except SopsError:
        raise
    except Exception as exc:
        raise _store_error(exc) from None
    return branches, raw


def is_encrypted(data: bytes, fmt: str) -> bool:
    """``sops filestatus``: the file carries sops metadata with a version and a MAC. No metadata is "not
    encrypted"; a store that does not parse, a ``sops`` entry that is no mapping or a bad ``lastmodified``
    is an error, as in sops."""
    _, raw = split_stored(data, fmt)
    if raw is None:
        return False
    if not isinstance(raw, dict):
        raise SopsError("Found sops entry that is not a mapping")
    rfc3339(str(raw.get("lastmodified") or ""))
    return bool(raw.get("version")) and bool(raw.get("mac"))


# -- data key -----------------------------------------------------------------------------------------


def _group_key(
    group: list[MasterKey], identities: Sequence[age.Identity], failures: list[str]
) -> bytes | None:
    for key in decryption_order(group):
        if key.kind != "age":
            failures.append(f"{key.describe()}: not handled natively (needs the sops binary)")
            continue
        try:
            return age.unwrap(key.enc, identities)
        except age.AgeError as exc:
            failures.append(f"{key.describe()}: {exc}")
    return None


def data_key(meta: Metadata, identities: Sequence[age.Identity]) -> bytes:
    """Unwrap the data key (combining Shamir shares when there are several groups)."""
    report: list[str] = []
    parts: list[bytes] = []
    for n, group in enumerate(meta.key_groups):
        failures: list[str] = []
        part = _group_key(group, identities, failures)
        if part is None:
            report.append(f"group {n}: FAILED ({'; '.join(failures) or 'no keys'})")
        else:
            parts.append(part)
    if len(meta.key_groups) <= 1:
        if parts:
            return parts[0]
    else:
        threshold = meta.shamir_threshold or len(meta.key_groups)
        if len(parts) >= threshold:
            from sops_plugin.format import shamir

            try:
                return shamir.combine(parts[:threshold] if threshold >= 2 else parts)
            except ValueError as exc:
                raise NoUsableKey(f"could not combine key shares: {exc}") from None
    if not identities and not report:
        report.append("no age identities found")
    raise NoUsableKey(
        "Failed to get the data key required to decrypt the SOPS file: "
        + "; ".join(report or ["no key groups"])
    )


# -- decrypt ------------------------------------------------------------------------------------------


def decrypt(doc: SopsDocument, key: bytes, ignore_mac: bool = False) -> SopsDocument:
    """Plaintext branches (IVs stashed in the returned cipher for a later re-encrypt), MAC verified."""
    cipher = Cipher(key)
    plain, computed = decrypt_branches(doc.branches, doc.metadata.rules, cipher)
    if not ignore_mac:
        if not doc.metadata.mac:
            raise MacMismatch("MAC mismatch: the file has no MAC")
        try:
            stored = cipher.decrypt(doc.metadata.mac, doc.metadata.mac_aad)
        except CipherError as exc:
            raise SopsError(f"Cannot decrypt MAC: {exc}", MAC_MISMATCH) from None  # sops exits 51 here
        if stored != computed:
            raise MacMismatch(
                "MAC mismatch: the file's MAC does not match its contents (tampered or edited by hand)"
            )
    return SopsDocument(doc.fmt, plain, doc.metadata, cipher)


def _single_document(branches: Sequence[Branch], fmt: str, *, plain: bool) -> None:
    """Only YAML holds several documents. sops' binary store refuses more than one when writing plaintext;
    its other stores write the first and drop the rest silently, which Lockstep refuses too (data would be
    lost)."""
    if len(branches) == 1:
        return
    if fmt == "binary" and plain:
        raise SopsError("error emitting binary store: there must be exactly one tree branch")
    raise SopsError(
        f"cannot write {len(branches)} YAML documents as {fmt}: a {fmt} file holds exactly one document"
    )


def emit_plain(branches: Sequence[Branch], fmt: str, indent: int | None = None) -> bytes:
    if fmt != "yaml":
        _single_document(branches, fmt, plain=True)
    try:
        if fmt == "yaml":
            from gocompat.yaml.v3.writer import emit_documents

            return emit_documents(branches, indent or 4).encode("utf-8", "surrogateescape")
        if fmt == "json":
            from sops_plugin.format import json_store

            return json_store.emit(branches[0], _json_indent(indent))
        if fmt == "binary":
            from sops_plugin.format import json_store

            return json_store.emit_binary_plain(branches[0])
        if fmt == "dotenv":
            from sops_plugin.format import dotenv_store

            return dotenv_store.emit(branches[0])
        if fmt == "ini":
            from sops_plugin.format import ini_store

            return ini_store.emit(branches[0])
    except SopsError as exc:
        raise _dump_error(exc) from None
    except Exception as exc:
        raise _dump_error(_store_error(exc)) from None
    raise SopsError(f"unknown format {fmt!r}")


def _json_indent(indent: int | None) -> str:
    return "\t" if indent is None or indent < 0 else " " * indent


# -- emit encrypted ------------------------------------------------------------------------------------------


def emit_encrypted(doc: SopsDocument, layout: str = "3.11", indent: int | None = None) -> bytes:
    meta = to_tree(doc.metadata, layout)
    fmt = doc.fmt
    if fmt != "yaml":
        _single_document(doc.branches, fmt, plain=False)
    try:
        if fmt == "yaml":
            from gocompat.yaml.v3.writer import emit_documents

            docs = [Branch([*b, ("sops", meta)]) for b in doc.branches] or [Branch([("sops", meta)])]
            return emit_documents(docs, indent or 4).encode("utf-8", "surrogateescape")
        if fmt in ("json", "binary"):
            from sops_plugin.format import json_store

            return json_store.emit(Branch([*doc.branches[0], ("sops", meta)]), _json_indent(indent))
        if fmt == "dotenv":
            from sops_plugin.format import dotenv_store

            return dotenv_store.emit(doc.branches[0], meta)
        if fmt == "ini":
            from sops_plugin.format import ini_store

            return ini_store.emit(doc.branches[0], meta)
    except SopsError as exc:
        raise _dump_error(exc) from None
    except Exception as exc:
        raise _dump_error(_store_error(exc)) from None
    raise SopsError(f"unknown format {fmt!r}")
