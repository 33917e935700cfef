# ruff: noqa: E501 - the case tables keep one template per line
"""Differential test: each case is rendered by Go's own ``text/template`` and by ours; output and errors
must match.

A small Go program (``go_oracle/``, standard library only), built once per session with the local Go
toolchain, reads cases as JSON lines. Data is decoded the way ESO sees it: JSON into ``interface{}``
(numbers become float64), or into ``map[string]string`` for ESO's secret-data context.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from gocompat.template import StringMap, Template, TemplateError, TemplateExecError
from tests.gocompat import go_oracle

# (template, data, options): data is JSON-shaped; options: missingkey (default "error"), stringmap
CASES: list[tuple[str, Any, dict[str, Any]]] = [
    # text, trim markers, comments
    ("plain text", {}, {}),
    ("a  {{- 1 -}}  b", {}, {}),
    ("a \n\t{{- 1}} \n b", {}, {}),
    ("a {{1 -}}\n\n b", {}, {}),
    ("{{- 3}}", {}, {}),
    ("{{-3}}", {}, {}),
    ("x {{/* a comment */}} y", {}, {}),
    ("x {{- /* trimmed comment */ -}} y", {}, {}),
    ("x {{/* multi\nline */}}y", {}, {}),
    # fields, dot, variables
    ("{{.a}} {{.b.c}} {{ .b }}", {"a": "A", "b": {"c": 1.5}}, {}),
    ("{{.}}", {"k": "v", "a": [1, "x", None, True]}, {}),
    ("{{.missing}}", {"a": 1}, {}),
    ("{{.missing}}", {"a": 1}, {"missingkey": "default"}),
    ("{{.missing}}", {"a": 1}, {"missingkey": "zero"}),
    ("{{.missing}}", {"a": "x"}, {"missingkey": "zero", "stringmap": True}),
    ("{{.missing.deeper}}", {"a": 1}, {"missingkey": "default"}),
    ("{{.a.b}}", {"a": None}, {}),
    ("{{.a.b}}", {"a": "str"}, {}),
    ("{{.a}}", {"a": None}, {}),
    ("{{ $x := .a }}{{ $x }}-{{ $ }}", {"a": "v"}, {}),
    ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", {}, {}),
    ("{{ if true }}{{ $y := 3 }}{{ $y }}{{ end }}", {}, {}),
    ("{{ $y }}", {}, {}),
    ("{{ $x.a }}", {}, {}),
    ("{{ $.a }}{{ with .b }}{{ $.a }}{{ . }}{{ end }}", {"a": "1", "b": "2"}, {}),
    # if / else if / with / else with
    ("{{if .a}}yes{{else}}no{{end}}", {"a": ""}, {}),
    ("{{if .a}}yes{{else if .b}}b{{else}}no{{end}}", {"a": 0, "b": [1]}, {}),
    ("{{if .a}}yes{{else if .b}}b{{else}}no{{end}}", {"a": 0, "b": {}}, {}),
    ("{{with .a}}{{.}}{{else}}none{{end}}", {"a": "x"}, {}),
    ("{{with .a}}{{.}}{{else with .b}}B{{.}}{{else}}none{{end}}", {"a": False, "b": "bb"}, {}),
    ("{{if $v := .a}}{{$v}}{{end}}", {"a": "z"}, {}),
    # range
    ("{{range .l}}[{{.}}]{{end}}", {"l": ["a", 1, 2.5, None, True]}, {}),
    ("{{range $i, $v := .l}}{{$i}}={{$v}};{{end}}", {"l": ["a", "b"]}, {}),
    ("{{range $v := .l}}{{$v}}{{end}}", {"l": ["a", "b"]}, {}),
    ("{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}", {"m": {"b": 2, "a": 1, "c": {"x": 1}}}, {}),
    ("{{range .l}}x{{else}}empty{{end}}", {"l": []}, {}),
    ("{{range .m}}x{{else}}empty{{end}}", {"m": {}}, {}),
    ("{{range .n}}x{{else}}nil{{end}}", {"n": None}, {}),
    ("{{range .s}}x{{end}}", {"s": "abc"}, {}),
    ("{{range 3}}{{.}}{{end}}", {}, {}),
    (
        "{{range $i, $e := .l}}{{if eq $i 1}}{{continue}}{{end}}{{if eq $i 3}}{{break}}{{end}}{{$e}}{{end}}",
        {"l": ["a", "b", "c", "d", "e"]},
        {},
    ),
    ('{{ $v := "x" }}{{ range .l }}{{ $v = . }}{{ end }}{{ $v }}', {"l": ["1", "2"]}, {}),
    ("{{range .l}}{{ $inner := . }}{{ end }}{{ $inner }}", {"l": [1]}, {}),
    ("{{break}}", {}, {}),
    # define / template / block
    ('{{define "T"}}[{{.}}]{{end}}{{template "T" .a}}{{template "T"}}', {"a": "q"}, {}),
    ('{{block "B" .a}}<{{.}}>{{end}}|', {"a": "q"}, {}),
    ('{{define "a"}}A{{template "b" .}}{{end}}{{define "b"}}B{{.}}{{end}}{{template "a" 1}}', {}, {}),
    ('{{template "nope"}}', {}, {}),
    ('{{define "T"}}{{$}}{{end}}{{template "T" .x}}', {"x": "inner"}, {}),
    # pipelines, parentheses, builtins
    ('{{ "a" | printf "%s-%s" "b" }}', {}, {}),
    ('{{ printf "%s:%s" .u .p | len }}', {"u": "user", "p": "pass"}, {"stringmap": True}),
    ('{{ (index .m "k").x }}', {"m": {"k": {"x": "deep"}}}, {}),
    (
        '{{ index .m "nokey" }}|{{ index .l 1 }}|{{ index .n "a" "b" }}',
        {"m": {"a": 1}, "l": [1, 2], "n": {"a": {"b": 3}}},
        {},
    ),
    ('{{ index . "nokey" }}|', {"k": "v"}, {"stringmap": True}),
    ("{{ index .l 5 }}", {"l": [1]}, {}),
    ('{{ index . "my-key" }}', {"my-key": "dash"}, {"stringmap": True}),
    ("{{ len .s }} {{ len .l }} {{ len .m }}", {"s": "héllo", "l": [1, 2], "m": {"a": 1}}, {}),
    ("{{ len 3 }}", {}, {}),
    ('{{ slice "abcdef" 1 3 }} {{ slice .l 1 }}', {"l": [1, 2, 3]}, {}),
    ('{{ and 1 0 }} {{ and 1 2 }} {{ or 0 "" }} {{ or 0 "z" }} {{ not 0 }} {{ not .a }}', {"a": [1]}, {}),
    ("{{ and .a .missing }}", {"a": ""}, {}),
    ("{{ or .a .missing }}", {"a": "set"}, {}),
    (
        '{{ eq 1 2 3 1 }} {{ eq "a" "a" }} {{ ne 1 2 }} {{ eq .x nil }} {{ eq .b true }}',
        {"x": None, "b": True},
        {},
    ),
    ('{{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }}', {}, {}),
    ("{{ lt 1 2.0 }}", {}, {}),
    ("{{ eq .l .l }}", {"l": [1]}, {}),
    ("{{ eq .n 3 }}", {"n": 3}, {}),
    ('{{ print 1 2 "a" 3 nil }}|{{ println "a" 1 2 }}|{{ print }}', {}, {}),
    ('{{ html "<a href=\'x\'>&</a>" }} {{ urlquery "a b&c=d/é" }} {{ js "it\'s <b>" }}', {}, {}),
    # numbers and printing
    (
        "{{ 1 }} {{ 1.0 }} {{ 1.5 }} {{ 1e6 }} {{ 1e5 }} {{ 1234567.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ -2.5e-7 }}",
        {},
        {},
    ),
    ("{{ 0x1F }} {{ 1_000 }} {{ -5 }} {{ 017 }} {{ 0o17 }} {{ 0b101 }} {{ 'a' }} {{ '\\n' }}", {}, {}),
    ("{{ .f }} {{ .g }} {{ .h }} {{ .i }}", {"f": 8080, "g": 3.25, "h": 1e21, "i": 123456789}, {}),
    ('{{ `raw\\n` }} {{ "esc\\t\\u00e9\\x41" }}', {}, {}),
    ("{{ true }} {{ false }} {{ .t }}", {"t": False}, {}),
    # printf verbs
    ('{{ printf "%d %5d %-5d| %05d %+d %x %X %o %b %c %U %q" 42 42 42 42 42 255 255 8 5 65 65 65 }}', {}, {}),
    (
        '{{ printf "%s %q %x %X % x %v %10s|%-10s|%.2s" "hi" "a\\"b\\n" "hi" "hi" "hi" "v" "r" "l" "trunc" }}',
        {},
        {},
    ),
    (
        '{{ printf "%v %v %v %v %v" .f .m .l .n .b }}',
        {"f": 2.5, "m": {"b": [1], "a": None}, "l": ["x", 2], "n": None, "b": True},
        {},
    ),
    (
        '{{ printf "%f %.2f %e %g %G %8.3f %v" 3.14159 3.14159 1234.5678 0.000012 1e21 2.5 100000000.0 }}',
        {},
        {},
    ),
    ('{{ printf "%t %t %v" true false true }}', {}, {}),
    (
        '{{ printf "%s %d" "a" }}|{{ printf "%s" "a" "b" }}|{{ printf "%d" "x" }}|{{ printf "%s" 5 }}|{{ printf "%%" }}',
        {},
        {},
    ),
    ('{{ printf "%s" nil }}|{{ printf "%d" nil }}|{{ printf "%v" .missing }}', {}, {"missingkey": "default"}),
    ('{{ printf "%x" .s }}|{{ printf "%q" 0x1F600 }}', {"s": "\u00e9"}, {}),
    # errors during execution
    ("{{ .a 1 }}", {"a": {}}, {}),
    ('{{ "x" 1 }}', {}, {}),
    ("{{ nil }}", {}, {}),
    ("{{ printf 1 }}", {}, {}),
    ("{{ index 1 1 }}", {}, {}),
    ("line1\nline2 {{ .a.b.c }}", {"a": {"b": None}}, {}),
    ("x\n  y {{ .nothere }}", {}, {}),
    ("{{ range $i, $v := 3 }}{{ end }}", {}, {}),
    ('{{ template "x" }}{{ define "x" }}{{ template "x" }}{{ end }}', {}, {"missingkey": "default"}),
    # actions spanning lines, nesting and scoping
    ("{{ if\n  .a\n}}multi{{\nend }}", {"a": 1}, {}),
    ("{{ range .l }}{{ if . }}{{ break }}{{ end }}x{{ end }}", {"l": [0, 0, 1, 0]}, {}),
    ("{{ range $k := .m }}{{ $k }}{{ end }}", {"m": {"b": 1, "a": 2}}, {}),
    ("{{ with $x := .a }}{{ $x }}{{ else }}{{ $x }}{{ end }}", {"a": ""}, {}),
    (
        '{{ define "row" }}{{ .k }}={{ .v }}{{ end }}{{ range .rows }}{{ template "row" . }};{{ end }}',
        {"rows": [{"k": "a", "v": 1}, {"k": "b", "v": "x"}]},
        {},
    ),
    ('{{ printf "%6.2f|%-8v|%#x|%#o|%x|% d" 3.14159 "ab" 255 8 -255 5 }}', {}, {}),
    ('{{ printf "%v %d" (len .s) (index .l 0) }}', {"s": "abc", "l": [7]}, {}),
    ("{{ .a }}{{ .b }}", {"a": "1", "b": "2"}, {"stringmap": True}),
    ('{{ .a | printf "%q" }}', {"a": "tab\there\u0001\u00ff\U0001f600"}, {}),
    # parse errors (both sides must refuse the template)
    ("{{ if }}", {}, {}),
    ("{{ end }}", {}, {}),
    ("{{ if .a }}x", {}, {}),
    ("{{ .a ", {}, {}),
    ("{{ nosuch .a }}", {}, {}),
    ('{{ "unterminated }}', {}, {}),
    ("{{ 1 | 2 }}", {}, {}),
    ("{{ .a | }}", {}, {}),
    ('{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}', {}, {}),
    ("{{ else }}", {}, {}),
    ("{{ range $a, $b, $c := .l }}{{ end }}", {}, {}),
    ("{{ $x := 1, 2 }}", {}, {}),
    ("{{ (1).a }}", {}, {}),
    ("{{ /* bad comment */ }}", {}, {}),
]


# Go puts the offending *value* in these messages; ours name only its type, because template data is
# secret. Both sides must still fail.
VALUE_BEARING = {"{{range .s}}x{{end}}": "abc", "{{ eq .l .l }}": "float64=1"}


def _case_id(case: tuple[str, Any, dict[str, Any]]) -> str:
    return case[0][:40].replace("\n", "\\n")


@pytest.fixture(scope="session")
def go_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[str]]:
    """The Go reference renderer: a long-running process answering one JSON line per case."""
    with go_oracle.running(tmp_path_factory.mktemp("gotemplate"), "plain") as proc:
        yield proc


def go_render(proc: subprocess.Popen[str], text: str, data: Any, options: dict[str, Any]) -> dict[str, Any]:
    missingkey = options.get("missingkey", "error")
    return go_oracle.render(proc, text, data, missingkey=missingkey, stringmap=bool(options.get("stringmap")))


def python_data(data: Any, stringmap: bool) -> Any:
    """JSON as Go's decoder sees it: numbers are float64 (or a map[string]string for ESO's context)."""
    if stringmap:
        return StringMap(data)
    return json.loads(json.dumps(data), parse_int=float)


def strip_position(message: str) -> str:
    """Go's parse errors say ``t:LINE:``; ours say ``t:LINE:COL:`` — compare what follows."""
    return message.split(": ", 2)[-1] if message.startswith("template: ") else message


@pytest.mark.parametrize(("text", "data", "options"), CASES, ids=[_case_id(c) for c in CASES])
def test_matches_go_text_template(
    go_template: subprocess.Popen[str], text: str, data: Any, options: dict[str, Any]
) -> None:
    expected = go_render(go_template, text, data, options)
    missingkey = options.get("missingkey", "error")
    try:
        template = Template(text, name="t", missingkey=missingkey)
    except TemplateError as error:
        assert expected["parse_err"], f"we refused a template Go accepts: {error}"
        return
    assert not expected["parse_err"], f"Go refused the template: {expected['err']}"
    try:
        out = template.execute(python_data(data, bool(options.get("stringmap"))))
    except TemplateExecError as error:
        assert expected["err"], f"we failed where Go rendered {expected['out']!r}: {error}"
        if text in VALUE_BEARING:
            assert VALUE_BEARING[text] not in str(error)
        elif "exceeded maximum template depth" in expected["err"]:
            # our limit is lower than Go's 100000 (Python's stack); the error is the same otherwise
            assert str(error).split(" (")[0] == expected["err"].split(" (")[0]
        else:
            assert str(error) == expected["err"]
        return
    assert not expected["err"], f"Go failed with {expected['err']!r}, we rendered {out!r}"
    assert out == expected["out"]


def test_parse_error_messages_match_go_after_the_position(go_template: subprocess.Popen[str]) -> None:
    """Our parse errors add a column; the message after the position is Go's."""
    for text in ("{{ if }}", "{{ nosuch .a }}", "{{ $y }}", "{{ end }}", "{{ 1 | 2 }}"):
        expected = go_render(go_template, text, {}, {})
        assert expected["parse_err"]
        with pytest.raises(TemplateError) as caught:
            Template(text, name="t")
        assert strip_position(str(caught.value)) == strip_position(expected["err"]), text
        go_line = expected["err"].split(":")[2]
        assert caught.value.line == int(go_line)
