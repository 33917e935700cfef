"""The ``stores`` section of ``.sops.yaml`` (sops ≥ 3.9): per store settings, of which Lockstep reads the
indentation (``stores.yaml.indent``, ``stores.json.indent``, ``stores.json_binary.indent``) that sops uses
for every file it writes or prints. Pure: config text in, a number out."""

from __future__ import annotations

from gocompat.yaml.v3.tree import Branch
from sops_plugin.errors import SopsError

_SECTION = {"yaml": "yaml", "json": "json", "binary": "json_binary"}


def stores_indent(config_text: str, fmt: str) -> int | None:
    """The configured indentation for store ``fmt`` (``None``: the store's default)."""
    section_name = _SECTION.get(fmt)
    if section_name is None:
        return None
    from sops_plugin.format.document import load_yaml as load

    try:
        documents = load(config_text)
    except Exception as exc:  # every YAML reader failure: sops' own words
        raise SopsError(f"error loading config: Could not unmarshal config file: {exc}") from None
    config = documents[0] if documents else Branch()
    stores = config.get("stores") if isinstance(config, Branch) else None
    if stores is None:
        return None
    section = stores.get(section_name) if isinstance(stores, Branch) else None
    if not isinstance(stores, Branch) or not isinstance(section, Branch | None):
        raise SopsError("error loading config: Could not unmarshal config file: stores must be a mapping")
    indent = section.get("indent") if section is not None else None
    if indent is None:
        return None
    if not isinstance(indent, int) or isinstance(indent, bool):
        raise SopsError(
            f"error loading config: Could not unmarshal config file: stores.{section_name}.indent "
            f"must be a number, not {indent!r}"
        )
    if fmt == "yaml" and indent == 0:
        return None  # the YAML store treats 0 as its default (4); JSON's 0 means no indentation
    return indent
