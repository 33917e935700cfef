"""A Go ``text/template``-compatible engine with Sprig and ESO's functions, shared by the secret packages.

ESO renders ``spec.target.template`` with Go's ``text/template`` and ``missingkey=error``; existing
ExternalSecrets only work unchanged if the same text renders to the same bytes here. Usage::

    render('{{ printf "%s:%s" .user .pass | b64enc }}', {"user": "u", "pass": "p"}, name="auth")

``Template`` compiles once for reuse and takes data as Go would see it decoded from JSON. ``render`` is
the ESO entry point: a mapping of strings becomes ESO's ``map[string]string`` context (a missing key's
zero value is ``""`` for ``index``), as ``Template.execute`` does when given a :class:`StringMap`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gocompat.template.errors import FuncError, TemplateError, TemplateExecError, TemplateSyntaxError
from gocompat.template.executor import Executor, MissingKey
from gocompat.template.functions import FUNCS
from gocompat.template.functions.convert import go_bytes, go_string
from gocompat.template.parser import parse
from gocompat.template.signature import GoFunc
from gocompat.template.values import StringMap

__all__ = [
    "FUNCS",
    "FuncError",
    "GoFunc",
    "StringMap",
    "Template",
    "TemplateError",
    "TemplateExecError",
    "TemplateSyntaxError",
    "eso_context",
    "go_bytes",
    "go_string",
    "render",
]


def eso_context(data: Any) -> Any:
    """ESO's context is ``map[string]string``: wrap a mapping of strings so Go's zero-value rules apply."""
    if (
        isinstance(data, Mapping)
        and not isinstance(data, StringMap)
        and data
        and all(isinstance(k, str) and isinstance(v, str) for k, v in data.items())
    ):
        return StringMap(data)
    return data


class Template:
    """One parsed template text (its ``define``/``block`` templates included), safe to execute repeatedly."""

    def __init__(
        self,
        text: str,
        *,
        name: str = "template",
        funcs: Mapping[str, GoFunc] | None = None,
        missingkey: MissingKey = "error",
        delims: tuple[str, str] = ("{{", "}}"),
    ) -> None:
        self.name = name
        self.text = text
        self.funcs: Mapping[str, GoFunc] = {**FUNCS, **(funcs or {})}
        self.missingkey: MissingKey = missingkey
        self.trees = parse(text, name, self.funcs, delims[0], delims[1])

    def execute(self, data: Any, *, template: str | None = None) -> str:
        """Render the main template (or the named ``define``) against ``data``."""
        executor = Executor(self.text, self.name, self.trees, self.funcs, self.missingkey)
        return executor.execute(template or self.name, data)

    def execute_bytes(self, data: Any, *, template: str | None = None) -> bytes:
        """Render to the exact bytes Go would write (binary from ``b64dec`` survives)."""
        return go_bytes(self.execute(data, template=template))

    @property
    def defined(self) -> list[str]:
        """Names of all templates in this text, the main one included."""
        return sorted(self.trees)


def render(
    template_text: str,
    data: Mapping[str, Any],
    *,
    name: str,
    missingkey: MissingKey = "error",
    funcs: Mapping[str, GoFunc] | None = None,
) -> str:
    """Parse and execute in one go; raises :class:`TemplateError` naming ``name`` and ``line:col``."""
    return Template(template_text, name=name, missingkey=missingkey, funcs=funcs).execute(eso_context(data))
