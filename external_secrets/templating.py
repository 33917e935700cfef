"""The bridge to the Go-template engine (``gocompat.template``), imported when a template runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TemplateUnavailable(RuntimeError):
    """The template engine is not installed in this build."""


def render(text: str, data: Mapping[str, Any], name: str) -> str:
    """Render ``text`` with ``data`` as ``.`` (``missingkey=error``); errors name the template, not data."""
    import importlib

    try:
        engine = importlib.import_module("gocompat.template")
        engine_render = engine.render
    except (ImportError, AttributeError) as error:  # pragma: no cover - depends on the build
        raise TemplateUnavailable(f"template {name}: the template engine is not available") from error
    return str(engine_render(text, data, name=name))
