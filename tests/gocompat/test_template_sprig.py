# ruff: noqa: E501 - the case tables keep one template per line
"""Differential test of the Sprig functions ESO templates use, against real Sprig running on Go.

The reference is ``text/template`` + ``github.com/Masterminds/sprig/v3`` (v3.3.0, the version ESO vendors)
with ``env``, ``expandenv`` and ``getHostByName`` removed, as ESO removes them. It also has ESO's
``toYaml``/``fromYaml`` behaviour over ``sigs.k8s.io/yaml``. The build runs offline from the Go module cache.
On a fresh machine it fetches the pinned modules once through the Go module proxy. If that fails, the test
fails; it never skips.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from gocompat.template import StringMap, Template, TemplateError, TemplateExecError
from tests.gocompat import go_oracle

SECRETS = {
    "username": "admin",
    "password": "p@ss:w0rd!",
    "dburl": "postgres://db:5432/app",
    "my-key": "dashed",
}

# (template, data, stringmap): data defaults to ESO's map[string]string of SECRETS
CASES: list[tuple[str, Any, bool]] = [
    # ESO's documented patterns
    ('{{ printf "%s:%s" .username .password | b64enc }}', SECRETS, True),
    ('{"auths":{"r.io":{"auth":"{{ printf "%s:%s" .username .password | b64enc }}"}}}', SECRETS, True),
    ('{{ .dburl | replace "postgres://" "postgresql://" }}', SECRETS, True),
    ('{{ index . "my-key" | upper }}', SECRETS, True),
    ("{{ .username | toString }} {{ .password | quote }} {{ .password | squote }}", SECRETS, True),
    ("{{ range $k, $v := . }}{{ $k }}={{ $v | b64enc }}\n{{ end }}", SECRETS, True),
    ("password: {{ .password | toJson }}", SECRETS, True),
    ('{{ .nothere | default "x" }}', SECRETS, True),
    # strings
    (
        '{{ upper "aBc" }} {{ lower "AbC" }} {{ title "hello wORLD x-y" }} {{ untitle "Hello World" }}',
        {},
        False,
    ),
    (
        '{{ trim "  x y \\n" }}|{{ trimAll "$" "$$5$" }}|{{ trimPrefix "-" "--a" }}|{{ trimSuffix "-" "a--" }}',
        {},
        False,
    ),
    ('{{ contains "ell" "hello" }} {{ hasPrefix "he" "hello" }} {{ hasSuffix "lo" "hello" }}', {}, False),
    (
        '{{ repeat 3 "ab" }} {{ substr 1 3 "hello" }} {{ substr -1 2 "hello" }} {{ substr 2 99 "hello" }}',
        {},
        False,
    ),
    ('{{ trunc 3 "hello" }} {{ trunc -2 "hello" }} {{ trunc 9 "hi" }} {{ nospace " a b\\tc " }}', {}, False),
    ('{{ quote "a\\"b" 3 nil "x\\n" }}|{{ squote "a" 1 }}|{{ cat "a" 1 nil "b" }}', {}, False),
    ('{{ "a\\nb" | indent 2 }}|{{ "a\\nb" | nindent 4 }}|{{ indent 0 "z" }}', {}, False),
    (
        '{{ split "," "a,b,,c" }} {{ (split "," "a,b")._1 }} {{ splitList "," "a,b" }} {{ splitn "," 2 "a,b,c" }}',
        {},
        False,
    ),
    ('{{ split "" "abc" }} {{ splitList "x" "" }}', {}, False),
    (
        '{{ join "-" (list "a" 1 nil "b" 2.5) }} {{ join "," .l }} {{ join "," "solo" }}',
        {"l": ["x", "y"]},
        False,
    ),
    ('{{ toStrings (list 1 "a" nil) }} {{ sortAlpha (list "b" "a" 3) }}', {}, False),
    ('{{ replace "" "-" "abc" }} {{ replace "a" "" "banana" }}', {}, False),
    ('{{ wrap 5 "hello world foo" }}|{{ wrapWith 5 "<br>" "hello world" }}', {}, False),
    ("{{ .s | upper | trim | b64enc | b64dec | lower }}", {"s": "  MiXeD  "}, False),
    (
        '{{ camelcase "hello_world-foo bar" }} {{ camelcase "_lead" }} {{ camelcase "HTTPServer" }} {{ camelcase "x" }}',
        {},
        False,
    ),
    (
        '{{ swapcase "Hello World" }} {{ initials "Hello big World" }} {{ plural "one" "many" 1 }} {{ plural "one" "many" 2 }}',
        {},
        False,
    ),
    (
        '{{ abbrev 5 "hello world" }} {{ abbrev 3 "hello" }} {{ abbrevboth 5 10 "1234 5678 9123" }} {{ abbrevboth 0 6 "abcdefghij" }}',
        {},
        False,
    ),
    (
        '{{ $u := urlParse "https://user:pw@example.com:8443/p/a?q=1#frag" }}{{ $u.scheme }} {{ $u.host }} {{ $u.hostname }} {{ $u.path }} {{ $u.query }} {{ $u.fragment }} {{ $u.userinfo }}',
        {},
        False,
    ),
    # encodings and digests
    ('{{ b64enc "hello" }} {{ b64dec "aGVsbG8=" }} {{ b32enc "hi" }} {{ b32dec "NBUQ====" }}', {}, False),
    ('{{ b64dec "not base64!" }}|{{ b64dec "YQ" }}', {}, False),
    ('{{ sha1sum "x" }} {{ sha256sum "hello" }} {{ sha512sum "" }} {{ adler32sum "hello" }}', {}, False),
    # JSON and YAML
    ('{{ dict "b" 1 "a" (list 1.5 "x" nil true) "c" (dict "<" ">&") | toJson }}', {}, False),
    (
        "{{ .j | fromJson | toJson }}",
        {"j": '{"z": 1, "a": {"n": 8080, "f": 0.5, "big": 1e21, "small": 1e-7}}'},
        False,
    ),
    ("{{ (fromJson .j).user }}:{{ (fromJson .j).port }}", {"j": '{"user": "u", "port": 5432}'}, False),
    ('{{ fromJson "not json" }}|{{ toJson (fromJson "[1,\\"a\\"]") }}', {}, False),
    (
        '{{ dict "a" (dict "b" 1) | toPrettyJson }}|{{ dict "x" "<y>" | toRawJson }}|{{ list | toPrettyJson }}',
        {},
        False,
    ),
    ('{{ mustFromJson "{bad" }}', {}, False),
    (
        '{{ dict "name" "x" "list" (list 1 2.5 "s") "nested" (dict "k" "multi\\nline") "n" nil | toYaml }}',
        {},
        False,
    ),
    ('{{ toYaml "plain" }}|{{ toYaml (list) }}|{{ toYaml (dict) }}', {}, False),
    (
        "{{ toYaml . }}",
        {
            "e": "",
            "q": "yes",
            "num": "123",
            "f": "1.5",
            "colon": "a: b",
            "lead": " sp",
            "u": "é",
            "t": "true",
            "y": "y",
            "null": "null",
            "tilde": "~",
            "hash": "a #b",
            "dash": "- x",
            "star": "*x",
            "bang": "!x",
            "pct": "%x",
            "at": "@x",
            "quote": "it's",
            "dq": 'say "hi"',
            "date": "2024-01-01",
            "hex": "0x1F",
            "oct": "0o17",
            "inf": ".inf",
            "tab": "a\tb",
            "trail": "x ",
            "merge": "<<",
            "b64": "cm9vdA==",
            "url": "https://a.b/c?d=e&f",
        },
        False,
    ),
    (
        "{{ toYaml . }}",
        {
            "long": "word " * 30,
            "list": [{"a": 1, "b": [1, 2]}, {"c": None}],
            "n": 1e21,
            "m": 0.1,
            "big": 12345678901,
            "neg": -3,
            "t": True,
        },
        False,
    ),
    (
        "{{ .y | fromYaml | toJson }}",
        {"y": "a: yes\nb: off\nc: 0x10\nd: 1_000\ne: ~\nf: 2024-01-01\ng: '07'"},
        False,
    ),
    ("{{ .y | fromYaml | toJson }}", {"y": "- a\n- b"}, False),
    (
        '{{ $m := fromYaml "a: 1\\nb: [x, y]\\nc: {d: true}" }}{{ $m.a }} {{ index $m.b 1 }} {{ $m.c.d }} {{ toJson $m }}',
        {},
        False,
    ),
    # defaults and logic
    (
        '{{ default "d" "" }} {{ default "d" "v" }} {{ default "d" 0 }} {{ default "d" (list) }} {{ default "d" false }}',
        {},
        False,
    ),
    (
        '{{ empty "" }} {{ empty 0 }} {{ empty (dict) }} {{ empty "x" }} {{ empty nil }} {{ empty 0.0 }}',
        {},
        False,
    ),
    (
        '{{ coalesce "" 0 "first" "second" }} {{ coalesce "" }} {{ ternary "y" "n" true }} {{ ternary "y" "n" false }}',
        {},
        False,
    ),
    ('{{ all 1 "a" true }} {{ all 1 "" }} {{ any 0 "" "x" }} {{ any }}', {}, False),
    # dicts
    (
        '{{ $d := dict "a" 1 "b" 2 }}{{ get $d "a" }} {{ get $d "zz" }} {{ hasKey $d "b" }} {{ keys $d | sortAlpha }}',
        {},
        False,
    ),
    ('{{ $d := dict "a" 1 }}{{ $_ := set $d "c" 3 }}{{ toJson $d }} {{ unset $d "a" | toJson }}', {}, False),
    (
        '{{ pick (dict "a" 1 "b" 2 "c" 3) "a" "c" | toJson }} {{ omit (dict "a" 1 "b" 2) "a" | toJson }}',
        {},
        False,
    ),
    ('{{ merge (dict "a" 1 "n" (dict "x" 1)) (dict "a" 2 "b" 3 "n" (dict "y" 2)) | toJson }}', {}, False),
    ('{{ mergeOverwrite (dict "a" 1) (dict "a" 2 "b" 3) | toJson }}', {}, False),
    (
        '{{ dig "a" "b" "def" (dict "a" (dict "b" "found")) }} {{ dig "a" "x" "def" (dict "a" (dict "b" 1)) }}',
        {},
        False,
    ),
    ('{{ pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" 3) }} {{ values (dict "a" 1) }}', {}, False),
    ('{{ dict "odd" }}|{{ dict 1 2 | toJson }}', {}, False),
    # lists
    (
        "{{ $l := list 1 2 3 }}{{ first $l }} {{ last $l }} {{ rest $l }} {{ initial $l }} {{ reverse $l }}",
        {},
        False,
    ),
    (
        "{{ append (list 1) 2 }} {{ prepend (list 1) 0 }} {{ concat (list 1) (list 2 3) }} {{ uniq (list 1 1 2) }}",
        {},
        False,
    ),
    (
        '{{ has 2 (list 1 2) }} {{ has "x" (list 1 2) }} {{ without (list 1 2 3 2) 2 }} {{ compact (list 1 "" 0 "a") }}',
        {},
        False,
    ),
    ("{{ until 3 }} {{ first (list) }} {{ last .l }}", {"l": ["a", "b"]}, False),
    (
        "{{ seq 3 }}|{{ seq 2 5 }}|{{ seq 0 2 10 }}|{{ seq 5 2 }}|{{ seq -2 }}|{{ seq 10 2 0 }}|{{ seq 10 -3 0 }}",
        {},
        False,
    ),
    (
        '{{ untilStep 0 10 3 }} {{ chunk 2 (list 1 2 3 4 5) }} {{ deepCopy (dict "a" (list 1)) | toJson }}',
        {},
        False,
    ),
    ("{{ mustFirst (list 1 2) }} {{ mustLast (list 1 2) }} {{ mustUniq (list 1 1) }}", {}, False),
    # regex
    (
        '{{ regexMatch "^a.c$" "abc" }} {{ regexFind "[0-9]+" "ab123cd45" }} {{ regexFindAll "[0-9]" "a1b2c3" 2 }}',
        {},
        False,
    ),
    (
        '{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }} {{ regexReplaceAll "(?P<n>[0-9]+)" "a12b" "<$n>" }}',
        {},
        False,
    ),
    (
        '{{ regexReplaceAllLiteral "a(x*)b" "-axxb-" "${1}" }} {{ regexSplit "[,;]" "a,b;c" -1 }} {{ regexQuoteMeta "a.b*c" }}',
        {},
        False,
    ),
    (
        '{{ regexReplaceAll "^/(.*)$" "/grafana/user" "$1" }} {{ regexReplaceAll "a" "banana" "$$" }}',
        {},
        False,
    ),
    ('{{ regexFind "[" "x" }}', {}, False),
    # math and conversions
    (
        "{{ add 1 2 3 }} {{ add1 5 }} {{ sub 10 4 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ div -7 2 }} {{ mod -7 3 }}",
        {},
        False,
    ),
    (
        '{{ max 1 5 3 }} {{ min 4 2 8 }} {{ int "42" }} {{ int 3.9 }} {{ atoi "12" }} {{ atoi "x" }} {{ int64 "7" }}',
        {},
        False,
    ),
    ('{{ add "3" 4.7 }} {{ float64 "2.5" }} {{ add1 .n }}', {"n": 41}, False),
    ("{{ div 1 0 }}", {}, False),
    (
        '{{ typeOf 1 }} {{ typeOf "s" }} {{ typeOf .f }} {{ typeOf (list) }} {{ typeOf (dict) }} {{ kindOf (list) }}',
        {"f": 1.5},
        False,
    ),
    ('{{ typeIs "string" "x" }} {{ kindIs "map" (dict) }} {{ kindOf nil }}', {}, False),
    # random values: only their shape can be compared
    (
        '{{ randAlphaNum 12 | len }} {{ randNumeric 5 | regexMatch "^[0-9]{5}$" }} {{ uuidv4 | len }}',
        {},
        False,
    ),
    # argument errors surface like Go's
    ("{{ upper 5 }}", {}, False),
    ("{{ .n | upper }}", {"n": 1}, False),
    ('{{ indent "x" "y" }}', {}, False),
    ("{{ b64enc }}", {}, False),
    ('{{ nosuchfunc "x" }}', {}, False),
    ('{{ env "HOME" }}', {}, False),
    ('{{ first "str" }}', {}, False),
]


def _case_id(case: tuple[str, Any, bool]) -> str:
    return case[0][:48].replace("\n", "\\n")


@pytest.fixture(scope="session")
def sprig_reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[str]]:
    with go_oracle.running(tmp_path_factory.mktemp("spriggold"), "sprig") as proc:
        yield proc


def reference(proc: subprocess.Popen[str], text: str, data: Any, stringmap: bool) -> dict[str, Any]:
    return go_oracle.render(proc, text, data, stringmap=stringmap)


def ours(text: str, data: Any, stringmap: bool) -> str:
    value = StringMap(data) if stringmap else json.loads(json.dumps(data), parse_int=float)
    return Template(text, name="t").execute(value)


@pytest.mark.parametrize(("text", "data", "stringmap"), CASES, ids=[_case_id(c) for c in CASES])
def test_matches_sprig(sprig_reference: subprocess.Popen[str], text: str, data: Any, stringmap: bool) -> None:
    expected = reference(sprig_reference, text, data, stringmap)
    try:
        out = ours(text, data, stringmap)
    except TemplateExecError as error:
        assert expected["err"] and not expected["parse_err"], f"we failed where Sprig rendered: {error}"
        # Go's recovered panics carry Go-internal text; the position, node and function must agree
        ours_head, _, _ = str(error).partition(": error calling ")
        go_head, _, _ = expected["err"].partition(": error calling ")
        assert ours_head == go_head
        return
    except TemplateError as error:
        assert expected["parse_err"], f"we refused a template Sprig accepts: {error}"
        return
    assert not expected["err"], f"Sprig failed with {expected['err']!r}, we rendered {out!r}"
    assert out == expected["out"]
