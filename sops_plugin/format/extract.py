"""``--extract``: one key or branch of a decrypted document, printed as sops prints it (pure).

A string prints raw (no newline), a mapping as a whole document of the output store, any other value by
the store's ``EmitValue``: YAML a block node, JSON an indented value without a newline, INI compact JSON;
dotenv only takes strings and binary nothing (sops' ErrorDumpingTree, 4).
"""

from __future__ import annotations

from gocompat.yaml.v3.tree import Branch
from sops_plugin.errors import ERROR_DUMPING_TREE, GENERIC, SopsError

TYPE_CHECKING = False  # typing is not imported at run time (start-up speed)
if TYPE_CHECKING:
    from typing import Any


def extract_bytes(branch: Branch, path: list[str | int], fmt: str, indent: int | None = None) -> bytes:
    from sops_plugin.format.document import emit_plain
    from sops_plugin.format.treepath import TreePathError, truncate

    try:
        value = truncate(branch, path)
    except TreePathError as exc:
        raise SopsError(f"error truncating tree: {exc}", GENERIC) from None
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, Branch):
        return emit_plain([value], fmt, indent)
    return emit_value(value, fmt, indent)


def emit_value(value: Any, fmt: str, indent: int | None = None) -> bytes:
    """A non-string, non-mapping value in ``fmt`` (sops' ``Store.EmitValue``)."""
    from sops_plugin.format import json_store
    from sops_plugin.format.treepath import go_type

    if fmt == "yaml":
        from gocompat.yaml.v3.writer import emit_documents

        return emit_documents([value], indent or 4).encode("utf-8", "surrogateescape")
    if fmt == "json":
        text = json_store.emit_value(value, "\t" if indent is None or indent < 0 else " " * indent)
        return text.encode("utf-8", "surrogateescape")
    if fmt == "ini":
        return _go_marshal(value).encode("utf-8", "surrogateescape")
    if fmt == "dotenv":
        message = f"the dotenv store only supports emitting strings, got {go_type(value)}"
    else:
        message = "Binary files are not structured and extracting a single value is not possible"
    raise SopsError(f"Error dumping tree: {message}", ERROR_DUMPING_TREE)


def _go_marshal(value: Any) -> str:
    """Go's compact ``json.Marshal`` of a tree value, as sops' INI ``EmitValue`` prints it: a mapping is a
    Go slice of items there, so it prints as ``[{"Key":…,"Value":…}]`` (comments left out)."""
    from gocompat.jsonenc import quote
    from gocompat.yaml.v3.tree import Comment
    from sops_plugin.format import json_store

    if isinstance(value, Branch):
        items = [
            f'{{"Key":{quote(k)},"Value":{_go_marshal(v)}}}' for k, v in value if not isinstance(k, Comment)
        ]
        return "[" + ",".join(items) + "]"
    if isinstance(value, list):
        return "[" + ",".join(_go_marshal(v) for v in value if not isinstance(v, Comment)) + "]"
    return json_store.emit_value(value, "")
