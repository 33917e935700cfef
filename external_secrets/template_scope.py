"""ESO's template ``Execute``: render a set of templates in a scope and write them into a target (pure).

The same rules as ESO's ``runtime/template/v2``: ``Values`` renders each template into its own key,
``KeysAndValues`` renders each template to a YAML map whose pairs become keys. The target is matched
case-insensitively for ``Data``/``Annotations``/``Labels``/``Spec``; anything else is a dotted path into
the object (``spec.rules[0].to``), whose segments keep their case (ESO issue #6458). Rendered values are
decoded with ``valuesDecodingStrategy`` before they are written; keys never are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from external_secrets.resolve import ResolveError, decode
from gocompat import limits

SCOPES = ("Values", "KeysAndValues")
WELL_KNOWN_TARGETS = ("data", "annotations", "labels")
MAX_ARRAY_INDEX = 10000
RenderText = Callable[[str, Mapping[str, Any], str], str]  # (template text, context, name) -> Go string
_INDEX = re.compile(r"\[([^\]]*)\]")


def execute(
    templates: Mapping[str, str] | None,
    data: Mapping[str, bytes],
    scope: str,
    target: str,
    obj: dict[str, Any],
    render: RenderText,
    decoding: str | None = None,
) -> None:
    """Render ``templates`` against ``data`` and apply them to ``obj`` (an unstructured object) in place."""
    if templates is None:
        return
    if scope not in SCOPES:
        raise ResolveError(f"unknown scope {scope!r}: expected 'Values' or 'KeysAndValues'")
    context = {k: v.decode("utf-8", "surrogateescape") for k, v in data.items()}
    if scope == "Values":
        for key, text in templates.items():
            value = _decoded(key, _run(render, key, text, context), decoding)
            apply_to_target(key, value, target, obj)
        return
    for text in templates.values():
        rendered = _run(render, text, text, context).decode("utf-8", "surrogateescape")
        if target.lower() in WELL_KNOWN_TARGETS:
            for key, text_value in _yaml_string_map(rendered).items():
                encoded = text_value.encode("utf-8", "surrogateescape")
                apply_to_target(key, _decoded(key, encoded, decoding), target, obj)
        else:
            apply_parsed_to_path(_yaml(rendered, must=True), target, obj)


def _run(render: RenderText, key: str, text: str, context: Mapping[str, str]) -> bytes:
    from gocompat.template.errors import TemplateSyntaxError

    try:
        rendered = render(text, context, key)
    except ResolveError:
        raise
    except TemplateSyntaxError as error:
        raise ResolveError(f"unable to parse template at key {key}: {error}") from None
    except Exception as error:  # the engine's errors name the template and position, never data
        raise ResolveError(f"unable to execute template at key {key}: {error}") from None
    return rendered.encode("utf-8", "surrogateescape")


def _decoded(key: str, value: bytes, decoding: str | None) -> bytes:
    try:
        return decode(value, decoding)
    except ResolveError as error:
        raise ResolveError(f"failed to decode rendered template value for key {key}: {error}") from None


def _yaml(text: str, *, must: bool) -> Any:
    """Parse YAML under the shared limits; ``must=False`` returns the text itself when it is not YAML."""
    try:
        return limits.safe_load(text) if text.strip() else None
    except limits.LimitExceeded as error:
        raise ResolveError(f"rendered template: {error}") from None
    except yaml.YAMLError:
        if must:
            raise ResolveError("could not unmarshal template YAML") from None
        return text


def _yaml_string_map(text: str) -> dict[str, str]:
    loaded = _yaml(text, must=True)
    if loaded is None:
        return {}
    if not isinstance(loaded, Mapping):
        raise ResolveError("could not unmarshal template to 'map[string][]byte': not a YAML map")
    return {str(k): "" if v is None else str(v) for k, v in loaded.items()}


def try_parse_yaml(value: Any) -> Any:
    """ESO's ``tryParseYAML``: a string that is YAML becomes its value, anything else stays as it is."""
    if not isinstance(value, str):
        return value
    return _yaml(value, must=False)


def apply_to_target(key: str, value: bytes, target: str, obj: dict[str, Any]) -> None:
    """Write one rendered value: labels/annotations as text, ``data`` as bytes (Secret) or text."""
    lowered = target.lower()
    meta: dict[str, Any] = obj.setdefault("metadata", {})
    if lowered in ("annotations", "labels"):
        meta[lowered] = {**(meta.get(lowered) or {}), key: value.decode("utf-8", "surrogateescape")}
    elif lowered in ("data", "spec"):
        current = obj.get(lowered)
        field: dict[str, Any] = current if isinstance(current, dict) else {}
        is_secret = obj.get("kind", "Secret") == "Secret" and lowered == "data"
        field[key] = value if is_secret else value.decode("utf-8", "surrogateescape")
        obj[lowered] = field
    else:
        tokens = parse_target_path(target)
        text = value.decode("utf-8", "surrogateescape")
        _set_at_path(obj, tokens, lambda _existing: try_parse_yaml(text))
    meta.setdefault("labels", {})
    meta.setdefault("annotations", {})


def apply_parsed_to_path(parsed: Any, target: str, obj: dict[str, Any]) -> None:
    """Place a parsed YAML value at ``target``: maps merge into an existing map, anything else replaces."""
    tokens = parse_target_path(target)

    def leaf(existing: Any) -> Any:
        if isinstance(existing, dict) and isinstance(parsed, dict):
            return {**existing, **parsed}
        return parsed

    if len(tokens) == 1 and isinstance(tokens[0], str):
        _set_at_path(obj, tokens, lambda _existing: parsed)  # a bare key ("spec") replaces, as in ESO
        return
    _set_at_path(obj, tokens, leaf)


def parse_target_path(target: str) -> list[str | int]:
    """``spec.rules[0].from`` → ``["spec", "rules", 0, "from"]``; errors name the path and the fault."""
    tokens: list[str | int] = []
    for segment in target.split("."):
        if not segment:
            raise ResolveError(f"invalid path {target!r}: empty segment")
        bracket = segment.find("[")
        name, rest = (segment, "") if bracket < 0 else (segment[:bracket], segment[bracket:])
        if name:
            tokens.append(name)
        while rest:
            match = _INDEX.match(rest)
            if not rest.startswith("["):
                raise ResolveError(f"invalid path {target!r}: expected '[' near {rest!r}")
            if match is None:
                raise ResolveError(f"invalid path {target!r}: unterminated '['")
            raw = match.group(1)
            if not re.fullmatch(r"[+-]?[0-9]+", raw):
                raise ResolveError(f"invalid path {target!r}: bad index {raw!r}")
            index = int(raw)
            if index < 0:
                raise ResolveError(f"invalid path {target!r}: negative index {index}")
            if index > MAX_ARRAY_INDEX:
                raise ResolveError(
                    f"invalid path {target!r}: index {index} exceeds maximum ({MAX_ARRAY_INDEX})"
                )
            tokens.append(index)
            rest = rest[match.end() :]
    if not tokens:
        raise ResolveError(f"invalid path: {target}")
    if not isinstance(tokens[0], str):
        raise ResolveError(f"invalid path {target!r}: path must start with a key")
    return tokens


def _set_at_path(node: Any, tokens: list[str | int], leaf: Callable[[Any], Any]) -> Any:
    """Walk (creating maps and lists as needed) and replace the value at the end with ``leaf(existing)``."""
    token, rest = tokens[0], tokens[1:]
    if isinstance(token, int):
        if node is not None and not isinstance(node, list):
            raise ResolveError(f"expected array at index {token} but found {type(node).__name__}")
        items: list[Any] = node if node is not None else []
        items.extend([None] * (token + 1 - len(items)))
        items[token] = leaf(items[token]) if not rest else _set_at_path(items[token], rest, leaf)
        return items
    if node is not None and not isinstance(node, dict):
        raise ResolveError(f"expected map at key {token!r} but found {type(node).__name__}")
    mapping: dict[str, Any] = node if node is not None else {}
    current = mapping.get(token)
    mapping[token] = leaf(current) if not rest else _set_at_path(current, rest, leaf)
    return mapping
