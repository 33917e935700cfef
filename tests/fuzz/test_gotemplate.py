"""Fuzzing the Go-template engine (lexer, parser, executor) that ESO templates and SealedSecret
``spec.template.data`` run through: only :class:`TemplateError`, and every text finishes within its bound.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.bounds import FUZZ, bounded
from tests.fuzz.strategies import json_values, template_text

DATA = {"a": "1", "b": "two", "pem": "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"}


@FUZZ
@given(text=template_text())
def test_lexer_and_parser_raise_only_template_error(text: str) -> None:
    from gocompat.template import Template, TemplateError

    with bounded():
        try:
            Template(text, name="fuzz")
        except TemplateError as error:
            assert "fuzz" in str(error)


@FUZZ
@given(text=template_text(), data=st.one_of(st.just(DATA), json_values()))
def test_executor_raises_only_template_error(text: str, data: Any) -> None:
    from gocompat.template import Template, TemplateError, eso_context

    with bounded():
        try:
            template = Template(text, name="fuzz")
        except TemplateError:
            return
        try:
            out = template.execute_bytes(eso_context(data))
        except TemplateError as error:
            assert "fuzz" in str(error)
            return
    assert isinstance(out, bytes)


@FUZZ
@given(text=template_text(), missingkey=st.sampled_from(["error", "default", "zero", "invalid"]))
def test_eso_render_entry_point_raises_only_template_error(text: str, missingkey: Any) -> None:
    from gocompat.template import TemplateError, render

    with bounded():
        try:
            render(text, DATA, name="fuzz", missingkey=missingkey)
        except TemplateError as error:
            assert "fuzz" in str(error)


@FUZZ
@given(templates=st.dictionaries(st.sampled_from(["t1", "t2", "a"]), template_text(), min_size=1, max_size=2))
def test_sealed_template_data_raises_only_format_error(templates: dict[str, str]) -> None:
    """SealedSecret ``spec.template.data`` as the sealed stage renders it."""
    from sealed.format.convert import render_template_data
    from sealed.format.errors import FormatError

    with bounded():
        try:
            render_template_data(templates, {"a": b"secret", "b": b"\xff\x00"})
        except FormatError as error:
            assert "spec.template.data" in str(error)
