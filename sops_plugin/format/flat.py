"""Flattened metadata for the dotenv and INI stores: ``age__list_0__map_enc`` and friends."""

from __future__ import annotations

import re

from gocompat.yaml.v3.tree import Branch, GoTime, to_plain

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from typing import Any


MAP_SEP = "__map_"
LIST_SEP = "__list_"
_TOKEN = re.compile(r"(__map_|__list_)")


def flatten(meta: Branch) -> list[tuple[str, str]]:
    """Metadata tree → sorted ``(key, text)`` pairs, newlines escaped, non-strings as sops writes them."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(prefix + MAP_SEP + k if prefix else k, v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(f"{prefix}{LIST_SEP}{i}", v)
        else:
            out[prefix] = value

    walk("", to_plain(meta))
    pairs = []
    for key in sorted(out, key=lambda k: k.encode()):
        value = out[key]
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        pairs.append((key, text.replace("\n", "\\n")))
    return pairs


def unflatten(items: dict[str, str]) -> dict[str, Any]:
    """``(key, text)`` pairs → nested metadata (lists rebuilt from their indices)."""
    root: dict[str, Any] = {}
    for flat_key, raw in items.items():
        value: Any = raw.replace("\\n", "\n")
        parts = _TOKEN.split(flat_key)
        tokens: list[tuple[str, str]] = [("map", parts[0])]
        for i in range(1, len(parts), 2):
            tokens.append(("map" if parts[i] == MAP_SEP else "list", parts[i + 1]))
        node: Any = root
        for n, (kind, name) in enumerate(tokens):
            last = n == len(tokens) - 1
            nxt = None if last else tokens[n + 1][0]
            if kind == "map":
                if last:
                    node[name] = value
                else:
                    node = node.setdefault(name, {} if nxt == "map" else [])
            else:
                index = int(name)
                while len(node) <= index:
                    node.append(None)
                if last:
                    node[index] = value
                else:
                    if node[index] is None:
                        node[index] = {} if nxt == "map" else []
                    node = node[index]
    return root


def value_text(value: Any) -> str:
    """sops' ``ValToString``: how the INI and dotenv stores write a value that is not a string.

    Floats as ``FormatFloat(v, 'G', -1)`` with a ``.0`` added when the text could pass for an integer,
    booleans lower-case, timestamps as RFC 3339 (whole seconds), None as ``%v`` of nil would be: empty here
    (sops writes ``<nil>``, which reads back as a string; see docs/sops-compat.md).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        from gocompat.strconv import format_g

        text = format_g(value).replace("e", "E")
        return text + ".0" if text.lstrip("+-").isdigit() else text
    if isinstance(value, GoTime):
        return _rfc3339(value.text)
    if value is None:
        return ""
    return str(value)


def _rfc3339(nano: str) -> str:
    """Go's ``RFC3339Nano`` text → ``RFC3339`` (the fraction of a second dropped, as ``time.Format`` does)."""
    head, dot, rest = nano.partition(".")
    if not dot:
        return nano
    zone = rest.lstrip("0123456789")
    return head + zone
