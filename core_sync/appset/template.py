"""Argo CD's ``{{param}}`` substitution into an Application template (strings only, no logic)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PARAM = re.compile(r"\{\{\s*([A-Za-z0-9_.\[\]-]+)\s*\}\}")
MAX_TEMPLATE_BYTES = 256 * 1024  # one rendered Application; far above any real one


class AppSetError(ValueError):
    """An ApplicationSet that cannot be expanded; the message names the field and the reason."""


def substitute(value: Any, params: Mapping[str, str], where: str = "template") -> Any:
    """``value`` with every ``{{name}}`` in its strings replaced; an unknown name is an error."""
    if isinstance(value, str):
        return PARAM.sub(lambda m: _lookup(m.group(1), params, where), value)
    if isinstance(value, Mapping):
        return {substitute(k, params, where): substitute(v, params, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, params, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _lookup(name: str, params: Mapping[str, str], where: str) -> str:
    if name not in params:
        known = ", ".join(sorted(params)) or "none"
        raise AppSetError(f"{where}: {{{{{name}}}}} is not a parameter (this element has: {known})")
    return params[name]


def render(template: Mapping[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
    """The Application ``template`` describes for one parameter set."""
    rendered: dict[str, Any] = substitute(dict(template), params)
    if len(repr(rendered)) > MAX_TEMPLATE_BYTES:
        raise AppSetError(f"template: rendered Application over {MAX_TEMPLATE_BYTES} bytes")
    if not (rendered.get("metadata") or {}).get("name"):
        raise AppSetError("template.metadata.name is empty after substitution")
    return rendered
