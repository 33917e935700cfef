"""Flattened metadata for the dotenv and INI stores: ``age__list_0__map_enc`` and friends."""

from __future__ import annotations

import re

from gocompat.yaml.v3.tree import Branch, Comment, GoTime

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


MAP_SEP = "__map_"
LIST_SEP = "__list_"
_TOKEN = re.compile(r"(__map_|__list_)")
_INDEX = re.compile(r"[0-9]+")


class FlatError(ValueError):
    """Flattened metadata that cannot be rebuilt (or a tree that cannot be flattened), in sops' words."""


class _Indexed(dict[int, object]):
    """A list being rebuilt: index → value (a dict, so a huge index costs nothing before it is refused)."""


def flatten(meta: Branch, prefix: str = "") -> list[tuple[str, str]]:
    """Metadata tree → ``(key, text)`` pairs sorted as the stores write them, each top-level key behind
    ``prefix``, newlines escaped, non-strings as sops writes them. Two paths that flatten to the same key
    are an error (sops' "Found key collision"), never one silently dropped."""
    out: dict[str, Any] = {}

    def walk(key: str, value: Any) -> None:
        if isinstance(value, (Branch, dict)):
            for k, v in value.items() if isinstance(value, dict) else value:
                if not isinstance(k, Comment):
                    walk(key + MAP_SEP + k if key else prefix + k, v)
        elif isinstance(value, list):
            for i, v in enumerate(x for x in value if not isinstance(x, Comment)):
                walk(f"{key}{LIST_SEP}{i}", v)
        elif key in out:
            raise FlatError(f"Found key collision {_go_quote(key)} while flattening")
        else:
            out[key] = value.text if isinstance(value, GoTime) else value

    walk("", meta)
    pairs = []
    for key in sorted(out, key=lambda k: k.encode()):
        value = out[key]
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        pairs.append((key, text.replace("\n", "\\n")))
    return pairs


def unflatten(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``(key, text)`` pairs → nested metadata, with sops' errors: a key given twice ("Duplicate value"),
    a list with a gap ("Incomplete list"), a key used both as a map, a list or a value ("Type mismatch")."""
    root: dict[str, Any] = {}
    for flat_key, raw in items:
        tokens = _tokens(flat_key)
        node: Any = root
        for n, token in enumerate(tokens):
            if n + 1 == len(tokens):
                if token in node:
                    mismatch = isinstance(node[token], dict)
                    raise FlatError(
                        _MISMATCH if mismatch else f"{_UNFLATTEN} {_go_quote(flat_key)}: Duplicate value"
                    )
                node[token] = raw.replace("\\n", "\n")
                break
            want = _Indexed if isinstance(tokens[n + 1], int) else dict
            child = node.setdefault(token, want())
            if type(child) is not want:
                raise FlatError(_MISMATCH)
            node = child
    result: dict[str, Any] = _rebuilt(root)
    return result


_UNFLATTEN = "Error while unflattening"
_MISMATCH = f"{_UNFLATTEN}: Type mismatch"


def _tokens(flat_key: str) -> list[str | int]:
    parts = _TOKEN.split(flat_key)
    tokens: list[str | int] = [parts[0]]
    for i in range(1, len(parts), 2):
        name = parts[i + 1]
        if parts[i] == MAP_SEP:
            tokens.append(name)
        elif _INDEX.fullmatch(name) and len(name) <= 18:
            tokens.append(int(name))
        else:
            raise FlatError(f"{_UNFLATTEN} {_go_quote(flat_key)}: invalid list index {name!r}")
    return tokens


def _rebuilt(node: Any) -> Any:
    """Indexed lists → lists (every index from 0 present, or "Incomplete list")."""
    if isinstance(node, _Indexed):
        if sorted(node) != list(range(len(node))):
            raise FlatError(f"{_UNFLATTEN}: Incomplete list")
        return [_rebuilt(node[i]) for i in range(len(node))]
    if isinstance(node, dict):
        return {k: _rebuilt(v) for k, v in node.items()}
    return node


def _go_quote(text: str) -> str:
    """Go's ``%q`` for the keys in messages (printable ASCII as is, the rest escaped)."""
    import json

    return json.dumps(text, ensure_ascii=False)


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
