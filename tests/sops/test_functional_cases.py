"""Cases from getsops/sops v3.13.2 ``functional-tests/src/lib.rs`` (inputs and expected outputs as data),
run against both sops oracles and Lockstep: each oracle encrypts, Lockstep and the oracle decrypt."""

from __future__ import annotations

from pathlib import Path

import pytest

from sops_plugin import api

from .conftest import AgeKey, Sops, identities

# name: (input file name, input, output type, expected output)
CASES: dict[str, tuple[str, bytes, str, bytes]] = {
    "test_ini_values_as_strings": (
        "test_ini_values_as_strings.yaml",
        b"the_section:\n  int: 123\n  float: 1.23\n  bool: true\n  date: 2025-01-02\n"
        b"  timestamp: 2025-01-02 03:04:05\n  utc_timestamp: 2025-01-02T03:04:05Z\n"
        b"  string: this is a string",
        "ini",
        b"[the_section]\nint           = 123\nfloat         = 1.23\nbool          = true\n"
        b"date          = 2025-01-02T00:00:00Z\ntimestamp     = 2025-01-02T03:04:05Z\n"
        b"utc_timestamp = 2025-01-02T03:04:05Z\nstring        = this is a string\n",
    ),
    "test_yaml_time": (
        "test_time.yaml",
        b"a: 2024-01-01\nb: 2006-01-02T15:04:05+07:06",
        "yaml",
        b"a: 2024-01-01T00:00:00Z\nb: 2006-01-02T15:04:05+07:06\n",
    ),
    "roundtrip_binary": ("binary-file", b"\x00\x01binary\xffdata", "binary", b"\x00\x01binary\xffdata"),
    "encrypt_json_file": (
        "test_encrypt.json",
        b'{\n    "foo": 2,\n    "bar": "baz"\n}',
        "json",
        b'{\n\t"foo": 2,\n\t"bar": "baz"\n}',
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_functional_case(name: str, tmp_path: Path, key1: AgeKey, both_sops: Sops) -> None:
    file_name, text, out_fmt, expected = CASES[name]
    path = tmp_path / file_name
    path.write_bytes(text)
    encrypted = both_sops.ok("encrypt", "--age", key1.recipient, str(path))
    in_fmt = {"yaml": "yaml", "json": "json"}.get(path.suffix.lstrip("."), "binary")
    args = ("decrypt", "--input-type", in_fmt, "--output-type", out_fmt, "/dev/stdin")
    theirs = both_sops.ok(*args, key_file=key1.file, stdin=encrypted)
    assert theirs.rstrip(b"\n") == expected.rstrip(b"\n")  # the functional tests compare JSON unindented
    ours = api.decrypt_bytes(encrypted, in_fmt, identities(key1), output_format=out_fmt)
    assert ours == theirs
