"""sops' own store test cases (getsops/sops v3.13.2 ``stores/ini``, ``stores/dotenv``, ``stores/json``
binary store) as data, and the store gaps found against sops 3.13, each checked against both oracles
(the 3.11.0 wheel and the newest sops built by scripts/build-control-plane) where they can differ.

Deliberate differences are named here and in docs/sops-compat.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gocompat.yaml.v3.tree import Branch, Comment
from sops_plugin import api
from sops_plugin.errors import SopsError
from sops_plugin.format import dotenv_store, ini_store, json_store
from sops_plugin.format.document import emit_plain

from .conftest import AgeKey, Sops, identities

DATA = Path(__file__).with_name("data")

# --- stores/ini/store_test.go ---------------------------------------------------------------------------

INI_DECODE_IN = b"""
; last modified 1 April 2001 by John Doe
[owner]
name=John Doe
organization=Acme Widgets Inc.

[database]
; use IP address in case network name resolution is not working
server=192.0.2.62\x20\x20\x20\x20\x20
port=143
file="payroll.dat"
"""
# sops' expected tree, less its empty DEFAULT section (go-ini always has one; Lockstep keeps only a
# non-empty one, and neither writes an empty DEFAULT, so no output differs).
INI_DECODE_OUT = Branch(
    [
        (
            "owner",
            Branch(
                [
                    (Comment("last modified 1 April 2001 by John Doe"), None),
                    ("name", "John Doe"),
                    ("organization", "Acme Widgets Inc."),
                ]
            ),
        ),
        (
            "database",
            Branch(
                [
                    ("server", "192.0.2.62"),
                    (Comment("use IP address in case network name resolution is not working"), None),
                    ("port", "143"),
                    ("file", "payroll.dat"),
                ]
            ),
        ),
    ]
)

INI_ROUND_TRIPS = {
    "TestEncodeSimpleIni": Branch([("DEFAULT", Branch([("foo", "bar"), ("baz", "3.0"), ("qux", "false")]))]),
    "TestEncodeIniWithEscaping": Branch(
        [("DEFAULT", Branch([("foo\\bar", "value"), ('a_key_with"quotes"', "4.0"), ("baz\\\\foo", "2.0")]))]
    ),
    "TestEncodeIniWithDuplicateSections": Branch(
        [
            ("foo", Branch([("foo", "bar"), ("baz", "3.0"), ("qux", "false")])),
            ("foo", Branch([("foo", "bar"), ("baz", "3.0"), ("qux", "false")])),
        ]
    ),
}


def test_ini_decode() -> None:
    assert ini_store.load(INI_DECODE_IN) == INI_DECODE_OUT


@pytest.mark.parametrize("name", sorted(INI_ROUND_TRIPS))
def test_ini_encode_round_trips(name: str) -> None:
    branch = INI_ROUND_TRIPS[name]
    assert ini_store.load(ini_store.emit(branch)) == branch


def test_ini_without_metadata_is_not_a_sops_file() -> None:  # TestUnmarshalMetadataFromNonSOPSFile
    with pytest.raises(SopsError, match="sops metadata not found"):
        api.decrypt_bytes(b"hello=2", "ini", [])


# --- stores/dotenv/store_test.go ------------------------------------------------------------------------

DOTENV_PLAIN = b"VAR1=val1\nVAR2=val2\n#comment\nVAR3_unencrypted=val3\nVAR4=val4\\nval4\n"
DOTENV_BRANCH = Branch(
    [
        ("VAR1", "val1"),
        ("VAR2", "val2"),
        (Comment("comment"), None),
        ("VAR3_unencrypted", "val3"),
        ("VAR4", "val4\nval4"),
    ]
)


def test_dotenv_load_plain_file() -> None:
    assert dotenv_store.load(DOTENV_PLAIN) == DOTENV_BRANCH


def test_dotenv_emit_plain_file() -> None:
    assert dotenv_store.emit(DOTENV_BRANCH) == DOTENV_PLAIN


def test_dotenv_without_metadata_is_not_a_sops_file() -> None:  # TestLoadEncryptedFileNoMetadata
    with pytest.raises(SopsError, match="sops metadata not found"):
        api.decrypt_bytes(DOTENV_PLAIN, "dotenv", [])


def test_dotenv_refuses_complex_values() -> None:  # TestEmitValueNonstring
    message = "cannot use complex value in dotenv file; offending key x"
    with pytest.raises(dotenv_store.DotenvError, match=message):
        dotenv_store.emit(Branch([("x", Branch([("y", "z")]))]))


def test_dotenv_sops_top_level_key_is_the_prefix() -> None:  # TestHasSopsTopLevelKey
    assert dotenv_store.split_metadata(Branch([("sops", "value")]))[1] is None
    assert dotenv_store.split_metadata(Branch([("sops_version", "3.11.0")]))[1] == {"version": "3.11.0"}


# --- stores/json binary store (EmitPlainFile) -------------------------------------------------------------


def test_binary_store_cases() -> None:
    assert emit_plain([Branch([("data", "bytes")])], "binary") == b"bytes"
    with pytest.raises(SopsError, match="there must be exactly one tree branch"):
        emit_plain([Branch([("data", "a")]), Branch([("data", "b")])], "binary")
    with pytest.raises(SopsError, match="no binary data found in tree"):
        emit_plain([Branch([("other", "a")])], "binary")
    with pytest.raises(SopsError, match="'data' key in tree does not have a string value"):
        emit_plain([Branch([("data", 1)])], "binary")


# --- gap: INI values in go-ini's """ multi-line form ------------------------------------------------------


def test_ini_reads_triple_quoted_values() -> None:
    text = b'[a]\nx = """one\n\n  two"""\ny = 2\n[b]\nz = """single"""\n'
    assert ini_store.load(text) == Branch(
        [("a", Branch([("x", "one\n\n  two"), ("y", "2")])), ("b", Branch([("z", "single")]))]
    )


def test_ini_unclosed_triple_quote_names_the_line() -> None:
    with pytest.raises(ini_store.IniError, match='unclosed """ value starting on line 2'):
        ini_store.load(b'[a]\nx = """one\ntwo\n')


def test_ini_metadata_of_sops_3_13_1_reads_like_3_13_2s() -> None:
    """sops' functional-test resources: the same file by 3.13.1 (\"\"\" blocks) and 3.13.2 (escaped)."""
    metas = []
    for name in ("sops-3.13.1-format.enc.ini", "sops-3.13.2-format.enc.ini"):
        _, meta = ini_store.split_metadata(ini_store.load((DATA / name).read_bytes()))
        assert meta is not None
        metas.append(meta)
    old, new = metas
    assert (old["version"], new["version"]) == ("3.13.1", "3.13.2")
    for meta in metas:
        enc = meta["pgp"][0]["enc"]
        assert enc.startswith("-----BEGIN PGP MESSAGE-----\n\n") and enc.endswith("-----END PGP MESSAGE-----")
        assert "\\n" not in enc
    assert old["pgp"][0]["fp"] == new["pgp"][0]["fp"]


def _as_sops_3_13_1(encrypted: bytes) -> bytes:
    """An INI file re-written the way sops 3.13.0/3.13.1 wrote metadata: blocks in \"\"\" form."""

    def block(m: re.Match[bytes]) -> bytes:
        return m.group(1) + b'"""' + m.group(2).replace(b"\\n", b"\n").rstrip(b"\n") + b'"""'

    out, count = re.subn(rb"^(age__list_\d+__map_enc\s*= )(.*)$", block, encrypted, flags=re.M)
    assert count == 1
    return out


def test_ini_in_sops_3_13_1_form_decrypts(
    tmp_path: Path, key1: AgeKey, sops_bin: Sops, sops_latest_bin: Sops
) -> None:
    plain = tmp_path / "app.ini"
    plain.write_bytes(b"[db]\nuser = admin\npassword = s3cret\n")
    encrypted = sops_latest_bin.ok("encrypt", "--age", key1.recipient, str(plain))
    old_form = _as_sops_3_13_1(encrypted)
    assert b'"""-----BEGIN AGE ENCRYPTED FILE-----\n' in old_form
    expected = sops_latest_bin.decrypt_stdin(encrypted, "ini", key1.file)
    assert sops_latest_bin.decrypt_stdin(old_form, "ini", key1.file) == expected  # 3.13.2 reads both
    assert api.decrypt_bytes(old_form, "ini", identities(key1)) == expected
    assert api.decrypt_bytes(encrypted, "ini", identities(key1)) == expected
    # 3.11.0 does not read the multi-line form; Lockstep follows 3.13.2 here.
    assert sops_bin.run("decrypt", "--input-type", "ini", "/dev/stdin", key_file=key1.file,
                        stdin=old_form).returncode != 0  # fmt: skip


# --- gap: YAML → INI / dotenv value text (sops' ValToString) ---------------------------------------------

TYPED_YAML = (
    b"sec:\n  t: 2024-01-02T03:04:05.123Z\n  tz: 2024-01-02T03:04:05+02:00\n  d: 2024-01-02\n"
    b"  f: 1.0\n  g: 1e21\n  h: 0.000001\n  i: 42\n  neg: -2.0\n  b: true\n  z: 1.5\n  s: 'x'\n"
)


@pytest.mark.parametrize("out_fmt", ["ini", "dotenv"])
def test_typed_yaml_values_written_as_sops_writes_them(
    out_fmt: str, tmp_path: Path, key1: AgeKey, both_sops: Sops
) -> None:
    source = (
        TYPED_YAML if out_fmt == "ini" else b"".join(line[2:] + b"\n" for line in TYPED_YAML.splitlines()[1:])
    )
    plain = tmp_path / "typed.yaml"
    plain.write_bytes(source)
    encrypted = both_sops.ok("encrypt", "--age", key1.recipient, str(plain))
    expected = both_sops.ok(
        "decrypt", "--input-type", "yaml", "--output-type", out_fmt, "/dev/stdin",
        key_file=key1.file, stdin=encrypted,
    )  # fmt: skip
    assert b"GoTime" not in expected and b"2024-01-02T03:04:05Z" in expected
    assert api.decrypt_bytes(encrypted, "yaml", identities(key1), output_format=out_fmt) == expected


def test_null_to_ini_is_empty_not_nil(tmp_path: Path, key1: AgeKey, both_sops: Sops) -> None:
    """Deliberate difference: sops writes Go's ``<nil>``, which reads back as the string "<nil>"."""
    plain = tmp_path / "null.yaml"
    plain.write_bytes(b"sec:\n  n: null\n")
    encrypted = both_sops.ok("encrypt", "--age", key1.recipient, str(plain))
    theirs = both_sops.ok(
        "decrypt", "--output-type", "ini", "/dev/stdin", "--input-type", "yaml",
        key_file=key1.file, stdin=encrypted,
    )  # fmt: skip
    assert theirs == b"[sec]\nn = <nil>\n"
    assert api.decrypt_bytes(encrypted, "yaml", identities(key1), output_format="ini") == b"[sec]\nn = \n"


# --- gap: several YAML documents into a single-document store ---------------------------------------------


def _two_documents(tmp_path: Path, key: AgeKey, oracle: Sops) -> bytes:
    plain = tmp_path / "two.yaml"
    plain.write_bytes(b"data: first\n---\ndata: second\n")
    return oracle.ok("encrypt", "--age", key.recipient, str(plain))


def test_binary_output_of_several_documents_errors(tmp_path: Path, key1: AgeKey, both_sops: Sops) -> None:
    encrypted = _two_documents(tmp_path, key1, both_sops)
    theirs = both_sops.run(
        "decrypt", "--input-type", "yaml", "--output-type", "binary", "/dev/stdin",
        key_file=key1.file, stdin=encrypted,
    )  # fmt: skip
    assert theirs.returncode != 0 and b"there must be exactly one tree branch" in theirs.stderr
    with pytest.raises(SopsError, match="error emitting binary store: there must be exactly one tree branch"):
        api.decrypt_bytes(encrypted, "yaml", identities(key1), output_format="binary")


@pytest.mark.parametrize("out_fmt", ["json", "dotenv", "ini"])
def test_other_single_document_stores_refuse_several_documents(
    out_fmt: str, tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops
) -> None:
    """Deliberate difference: sops writes the first document and drops the rest without a word."""
    encrypted = _two_documents(tmp_path, key1, sops_latest_bin)
    if out_fmt == "json":
        theirs = sops_latest_bin.ok(
            "decrypt", "--input-type", "yaml", "--output-type", "json", "/dev/stdin",
            key_file=key1.file, stdin=encrypted,
        )  # fmt: skip
        assert b"first" in theirs and b"second" not in theirs
    with pytest.raises(SopsError, match=f"cannot write 2 YAML documents as {out_fmt}"):
        api.decrypt_bytes(encrypted, "yaml", identities(key1), output_format=out_fmt)


@pytest.mark.parametrize("out_fmt", ["json", "binary", "dotenv", "ini"])
def test_encrypting_several_documents_into_a_single_document_store_errors(out_fmt: str, key1: AgeKey) -> None:
    from sops_plugin.format.encryption import KeyPlan
    from sops_plugin.format.metadata import MasterKey
    from sops_plugin.format.rules import CryptRules

    plan = KeyPlan([[MasterKey("age", {"recipient": key1.recipient})]])
    with pytest.raises(SopsError, match=f"cannot write 2 YAML documents as {out_fmt}"):
        api.encrypt_bytes(b"a: '1'\n---\nb: '2'\n", "yaml", CryptRules(), plan, output_format=out_fmt)


# --- stores/json/store_test.go ----------------------------------------------------------------------------


def test_json_decode_simple_object() -> None:  # TestDecodeSimpleJSONObject
    assert json_store.load(b'{"foo": "bar", "baz": 2}') == Branch([("foo", "bar"), ("baz", 2)])


@pytest.mark.parametrize(
    "literal",
    ["1234567890123456789", "-1234567890123456789", "-9223372036854775808", "9223372036854775807", "0"],
)
def test_json_integers_round_trip_exactly(literal: str) -> None:  # TestLargeIntegerRoundtrip, ...Boundaries
    text = ("{\n\t" + f'"v": {literal}' + "\n}\n").encode()
    branch = json_store.load(text)
    assert type(branch.get("v")) is int
    assert json_store.emit(branch, "\t") == text


JSON_NOT_AN_OBJECT = {  # TestDecodeNumber, TestDecodeArray, and the other JSON types
    b"42": "not other JSON types. Got 42 of type int instead",
    b" [42] ": "not arrays or other types. Got delimiter [ instead. To encrypt this file, wrap it in an "
    'object, e.g., {"data": [...]}',
    b'"x"': 'not other JSON types. Got "x" of type string instead',
    b"null": "not other JSON types. Got <nil> of type <nil> instead",
    b"4.5": "not other JSON types. Got 4.5 of type float64 instead",
}


@pytest.mark.parametrize("text", sorted(JSON_NOT_AN_OBJECT))
def test_json_document_must_be_an_object(text: bytes) -> None:
    with pytest.raises(json_store.JsonError) as caught:
        json_store.load(text)
    prefix = "SOPS only supports JSON files with a top-level object (starting with '{'), "
    assert str(caught.value) == prefix + JSON_NOT_AN_OBJECT[text]


def test_json_duplicate_keys_are_accepted() -> None:  # TestConflictingAttributes
    data = b'{"hello": "a", "hello": "b", "hello": ["r"], "hello": 3.14}'
    assert len(json_store.load(data)) == 4


def test_json_comments_are_not_written() -> None:  # TestComments
    tree = Branch(
        [
            (
                "foo",
                [
                    Comment(" comment 0"),
                    Branch(
                        [
                            (Comment(" comment 1"), None),
                            ("foo", 3),
                            (Comment(" comment 2"), None),
                            ("bar", False),
                        ]
                    ),
                    Comment(" comment 6"),
                    2,
                    Comment(" comment 8"),
                ],
            )
        ]
    )
    expected = b'{\n  "foo": [\n    {\n      "foo": 3,\n      "bar": false\n    },\n    2\n  ]\n}\n'
    assert json_store.emit(tree, "  ") == expected


# The rest of stores/json/store_test.go (v3.13.2), as data: decoded trees, encoded bytes per indentation.

GLOSSARY = b"""
{
   "glossary":{
      "title":"example glossary",
      "GlossDiv":{
         "title":"S",
         "GlossList":{
            "GlossEntry":{
               "ID":"SGML",
               "SortAs":"SGML",
               "GlossTerm":"Standard Generalized Markup Language",
               "Acronym":"SGML",
               "Abbrev":"ISO 8879:1986",
               "GlossDef":{
                  "para":"A meta-markup language, used to create markup languages such as DocBook.",
                  "GlossSeeAlso":[
                     "GML",
                     "XML"
                  ]
               },
               "GlossSee":"markup"
            }
         }
      }
   }
}
"""
GLOSS_ENTRY = {
    "ID": "SGML",
    "SortAs": "SGML",
    "GlossTerm": "Standard Generalized Markup Language",
    "Acronym": "SGML",
    "Abbrev": "ISO 8879:1986",
    "GlossDef": {
        "para": "A meta-markup language, used to create markup languages such as DocBook.",
        "GlossSeeAlso": ["GML", "XML"],
    },
    "GlossSee": "markup",
}
JSON_DECODE_CASES = {  # input → the tree (dicts keep their order, as sops' TreeBranch does)
    "TestDecodeJSON": (
        GLOSSARY,
        {
            "glossary": {
                "title": "example glossary",
                "GlossDiv": {"title": "S", "GlossList": {"GlossEntry": GLOSS_ENTRY}},
            }
        },
    ),
    "TestDecodeNestedJSONObject": (b'{"foo": {"foo": "bar"}}', {"foo": {"foo": "bar"}}),
    "TestDecodeJSONWithArray": (
        b'{"foo": {"foo": [1, 2, 3]}, "bar": "baz"}',
        {"foo": {"foo": [1, 2, 3]}, "bar": "baz"},
    ),
    "TestDecodeJSONArrayOfObjects": (
        b'{"foo": [{"bar": "foo"}, {"foo": "bar"}]}',
        {"foo": [{"bar": "foo"}, {"foo": "bar"}]},
    ),
    "TestDecodeJSONArrayOfArrays": (
        b'{"foo": [[["foo", {"bar": "foo"}]]]}',
        {"foo": [[["foo", {"bar": "foo"}]]]},
    ),
}


@pytest.mark.parametrize("case", sorted(JSON_DECODE_CASES))
def test_json_decode_cases(case: str) -> None:
    from gocompat.yaml.v3.tree import from_plain

    text, expected = JSON_DECODE_CASES[case]
    assert json_store.load(text) == from_plain(expected)


def test_json_decode_empty_is_eof() -> None:  # TestDecodeEmpty
    with pytest.raises(json_store.JsonError, match=r"EOF$"):
        json_store.load(b"")


@pytest.mark.parametrize(
    "branch",
    [
        Branch([("foo", "bar"), ("foo", 3), ("bar", False)]),  # TestEncodeSimpleJSON (a repeated key)
        Branch([("foo\\bar", "value"), ('a_key_with"quotes"', 4), ("baz\\\\foo", 2)]),  # ...WithEscaping
    ],
)
def test_json_encode_round_trips(branch: Branch) -> None:
    assert json_store.load(json_store.emit(branch, "\t")) == branch


ARRAY_OF_OBJECTS = Branch([("foo", [Branch([("foo", 3), ("bar", False)]), 2])])
# TestEncodeJSONArrayOfObjects and TestIndentDefault (-1), TestIndentTwoSpaces (2), TestNoIndent (0)
JSON_INDENT_CASES = {
    -1: b'{\n\t"foo": [\n\t\t{\n\t\t\t"foo": 3,\n\t\t\t"bar": false\n\t\t},\n\t\t2\n\t]\n}\n',
    2: b'{\n  "foo": [\n    {\n      "foo": 3,\n      "bar": false\n    },\n    2\n  ]\n}\n',
    0: b'{\n"foo": [\n{\n"foo": 3,\n"bar": false\n},\n2\n]\n}\n',
}


@pytest.mark.parametrize("indent", sorted(JSON_INDENT_CASES))
def test_json_emit_plain_indentation(indent: int) -> None:
    assert emit_plain([ARRAY_OF_OBJECTS], "json", indent) == JSON_INDENT_CASES[indent]


def test_json_file_without_metadata() -> None:  # TestUnmarshalMetadataFromNonSOPSFile
    from sops_plugin.errors import MetadataNotFound
    from sops_plugin.format.document import parse_encrypted

    with pytest.raises(MetadataNotFound):
        parse_encrypted(b'{"hello": 2}', "json")


def test_binary_store_takes_json_as_bytes() -> None:  # TestLoadJSONFormattedBinaryFile
    branch = json_store.load_binary(b'{"hello": 2}')
    assert branch[0][0] == "data"


def test_json_emit_value_of_a_string() -> None:  # TestEmitValueString
    assert json_store.emit_value("hello") == '"hello"'
