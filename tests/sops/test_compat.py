"""Byte compatibility with the real sops binary, per format, recipients and crypt rule.

sops encrypts → Lockstep decrypts to exactly what ``sops decrypt`` prints; Lockstep encrypts (through the
CLI, from a .sops.yaml rule) → ``sops decrypt`` gives the same plaintext as for sops' own encryption.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sops_plugin import api, cli_encrypt
from sops_plugin.format.document import format_for

from .conftest import AgeKey, Sops, identities
from .samples import COMMENT_FORMATS, RULES, SAMPLES

CASES = [
    (fmt, rule, n)
    for fmt in SAMPLES
    for rule in RULES
    for n in (1, 2)
    if (fmt != "binary" or rule == "default") and ("comment" not in rule or fmt in COMMENT_FORMATS)
]


def write_config(directory: Path, recipients: list[str], rule: dict[str, object]) -> None:
    config = {"creation_rules": [{"path_regex": ".*", "age": ",".join(recipients), **rule}]}
    (directory / ".sops.yaml").write_text(yaml.safe_dump(config))


@pytest.mark.parametrize(("fmt", "rule", "recipients"), CASES, ids=[f"{f}-{r}-{n}" for f, r, n in CASES])
def test_round_trips_with_sops(
    fmt: str,
    rule: str,
    recipients: int,
    tmp_path: Path,
    sops_bin: Sops,
    key1: AgeKey,
    key2: AgeKey,
    lockstep_env: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    data, ext = SAMPLES[fmt]
    keys = [key1, key2][:recipients]
    write_config(tmp_path, [k.recipient for k in keys], RULES[rule])
    plain = tmp_path / f"plain.{ext}"
    plain.write_bytes(data)

    # sops encrypts, Lockstep decrypts (with the last recipient's identity only).
    by_sops = sops_bin.ok("encrypt", plain.name, cwd=tmp_path)
    expected = sops_bin.decrypt_stdin(by_sops, fmt, keys[-1].file)
    ours = api.decrypt_bytes(by_sops, fmt, identities(keys[-1]), where="by-sops")
    assert ours == expected
    if fmt == "binary":
        assert ours == data

    # Lockstep encrypts via the CLI (same .sops.yaml rule), sops decrypts to the same plaintext.
    lockstep_env.chdir(tmp_path)
    assert cli_encrypt.encrypt([plain.name], prog="lockstep sops encrypt") == 0
    by_us = capsysbinary.readouterr().out
    assert b"ENC[AES256_GCM," in by_us
    back = sops_bin.decrypt_stdin(by_us, fmt, keys[0].file)
    assert back == expected
    # And the metadata carries the rule as sops writes it.
    doc_rules = api.decrypt_document(by_us, fmt, identities(keys[0])).metadata.rules
    for name, value in RULES[rule].items():
        assert getattr(doc_rules, name) == value


@pytest.mark.parametrize("rule", ["default", "encrypted_regex", "mac_only_encrypted"])
@pytest.mark.parametrize("fmt", ["yaml", "json", "dotenv", "ini"])
def test_encrypted_layout_matches_sops(
    rule: str, fmt: str, tmp_path: Path, sops_bin: Sops, key1: AgeKey
) -> None:
    """Same input and rule: Lockstep's file has sops' exact shape (masking ciphertext, armor and time)."""
    import re

    data, ext = SAMPLES[fmt]
    write_config(tmp_path, [key1.recipient], RULES[rule])
    (tmp_path / f"p.{ext}").write_bytes(data)
    by_sops = sops_bin.ok("encrypt", f"p.{ext}", cwd=tmp_path).decode()
    from sops_plugin.format.config import find_creation_rule

    rule = find_creation_rule((tmp_path / ".sops.yaml").read_text(), f"p.{ext}")
    by_us = api.encrypt_bytes(data, fmt, rule.rules, rule.plan).decode()

    def mask(text: str) -> list[str]:
        text = re.sub(r"ENC\[AES256_GCM,[^\]]*\]", "ENC", text)
        text = re.sub(
            r"-----BEGIN AGE ENCRYPTED FILE-----.*?-----END AGE ENCRYPTED FILE-----",
            "ARMOR",
            text,
            flags=re.S,
        )
        text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "TS", text)
        lines = text.splitlines()
        return sorted(lines) if fmt == "ini" else lines  # sops writes [sops] in Go map order

    assert mask(by_us) == mask(by_sops)


def test_format_from_extension() -> None:
    assert [format_for(p) for p in ("a.yaml", "b.yml", "c.json", "d.env", "e.ini", "f.txt")] == [
        "yaml",
        "yaml",
        "json",
        "dotenv",
        "ini",
        "binary",
    ]


MULTI = b"""---
# first
a: 1
# between keys
b: {c: [x, "y"], d: ""}
---
# head of the second document
e: 2024-05-06
f: |
  text
# tail
"""


def test_yaml_stream_with_comments(tmp_path: Path, sops_bin: Sops, key1: AgeKey) -> None:
    """Several documents, comments encrypted as sops does; one MAC over all, metadata on each."""
    plain = tmp_path / "m.yaml"
    plain.write_bytes(MULTI)
    by_sops = sops_bin.ok("encrypt", "--age", key1.recipient, "m.yaml", cwd=tmp_path)
    expected = sops_bin.decrypt_stdin(by_sops, "yaml", key1.file)
    assert b"# head of the second document" in expected
    assert api.decrypt_bytes(by_sops, "yaml", identities(key1)) == expected
    from sops_plugin.format.encryption import KeyPlan
    from sops_plugin.format.metadata import MasterKey
    from sops_plugin.format.rules import CryptRules

    by_us = api.encrypt_bytes(
        MULTI, "yaml", CryptRules(), KeyPlan([[MasterKey("age", {"recipient": key1.recipient})]])
    )
    assert by_us.count(b"\nsops:\n") == 2 and b"type:comment]" in by_us
    assert sops_bin.decrypt_stdin(by_us, "yaml", key1.file) == expected


def test_yaml_comments_placed_as_sops_places_them(tmp_path: Path, sops_bin: Sops, key1: AgeKey) -> None:
    """Head, inline and foot comments at several depths: same tree as go-yaml builds for sops."""
    from sops_plugin.format import document as d

    source = (Path(__file__).with_name("data") / "comments.yaml").read_bytes()
    by_sops = sops_bin.ok(
        "encrypt",
        "--age",
        key1.recipient,
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        "/dev/stdin",
        stdin=source,
    )
    expected = sops_bin.decrypt_stdin(by_sops, "yaml", key1.file)
    assert expected.count(b"#") == source.count(b"#")
    assert d.emit_plain(d.parse_plain(source, "yaml"), "yaml") == expected
    assert api.decrypt_bytes(by_sops, "yaml", identities(key1)) == expected
    from sops_plugin.format.encryption import KeyPlan
    from sops_plugin.format.metadata import MasterKey
    from sops_plugin.format.rules import CryptRules

    by_us = api.encrypt_bytes(
        source, "yaml", CryptRules(), KeyPlan([[MasterKey("age", {"recipient": key1.recipient})]])
    )
    assert sops_bin.decrypt_stdin(by_us, "yaml", key1.file) == expected
