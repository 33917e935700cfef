"""Key handling against sops: rotate, updatekeys, IV reuse on re-encrypt, Shamir key groups, metadata
layouts of other sops versions, identity sources, and the fallback to the sops binary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from sops_plugin import api, cli, cli_encrypt, cli_keys
from sops_plugin.errors import SopsError
from sops_plugin.format import document as d
from sops_plugin.format import encryption
from sops_plugin.format.config import find_creation_rule
from sops_plugin.format.metadata import MasterKey
from sops_plugin.format.rules import CryptRules
from sops_plugin.identities import from_environment, from_secret_data

from .conftest import AgeKey, Sops, identities
from .samples import YAML

ENC = re.compile(r"ENC\[AES256_GCM,[^\]]*\]")


def plan_for(*keys: AgeKey) -> encryption.KeyPlan:
    return encryption.KeyPlan([[MasterKey("age", {"recipient": k.recipient}) for k in keys]])


def test_rotate_changes_data_key_and_sops_reads_it(
    tmp_path: Path, sops_bin: Sops, key1: AgeKey, key2: AgeKey, lockstep_env: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(api.encrypt_bytes(YAML, "yaml", CryptRules(), plan_for(key1)))
    before = path.read_text()
    lockstep_env.setenv("SOPS_AGE_KEY_FILE", str(key1.file))
    assert cli_keys.rotate(["-i", "--add-age", key2.recipient, str(path)], prog="rotate") == 0
    after = path.read_text()
    assert set(ENC.findall(before)).isdisjoint(ENC.findall(after))
    expected = sops_bin.ok("decrypt", str(path), key_file=key1.file)
    assert sops_bin.ok("decrypt", str(path), key_file=key2.file) == expected
    assert expected == api.decrypt_bytes(before.encode(), "yaml", identities(key1))


def test_updatekeys_rewraps_same_data_key(
    tmp_path: Path, sops_bin: Sops, key1: AgeKey, key2: AgeKey, lockstep_env: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".sops.yaml").write_text(yaml.safe_dump({"creation_rules": [{"age": key1.recipient}]}))
    (tmp_path / "p.yaml").write_bytes(YAML)
    path = tmp_path / "s.yaml"
    path.write_bytes(sops_bin.ok("encrypt", "p.yaml", cwd=tmp_path))
    before = path.read_text()
    (tmp_path / ".sops.yaml").write_text(
        yaml.safe_dump({"creation_rules": [{"age": [key1.recipient, key2.recipient]}]})
    )
    lockstep_env.setenv("SOPS_AGE_KEY_FILE", str(key1.file))
    lockstep_env.chdir(tmp_path)
    assert cli_keys.updatekeys(["-y", str(path)], prog="updatekeys") == 0
    after = path.read_text()
    assert ENC.findall(before) == ENC.findall(after)  # values and MAC untouched
    assert re.findall(r"lastmodified: .*", before) == re.findall(r"lastmodified: .*", after)
    assert sops_bin.ok("decrypt", str(path), key_file=key2.file) == sops_bin.ok(
        "decrypt", str(path), key_file=key1.file
    )
    # A second run has nothing to do.
    assert cli_keys.updatekeys([str(path)], prog="updatekeys") == 0
    assert path.read_text() == after


def test_reencrypt_with_previous_reuses_unchanged_ivs(
    tmp_path: Path, sops_bin: Sops, key1: AgeKey, lockstep_env: pytest.MonkeyPatch
) -> None:
    old = api.encrypt_bytes(YAML, "yaml", CryptRules(encrypted_regex="^(data|stringData)$"), plan_for(key1))
    edited = YAML.replace(b"password: hunter2", b"password: changed!")
    new = api.encrypt_bytes(
        edited, "yaml", CryptRules(), plan_for(key1), previous=old, identities=identities(key1)
    )
    old_lines, new_lines = old.decode().splitlines(), new.decode().splitlines()
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=False) if a != b and "sops:" not in a]
    changed_keys = {a.split(":")[0].strip() for a, _ in changed}
    assert "password" in changed_keys
    assert changed_keys <= {"password", "lastmodified", "mac"}
    assert b"changed!" in sops_bin.decrypt_stdin(new, "yaml", key1.file)


def test_shamir_key_groups_both_ways(
    tmp_path: Path, sops_bin: Sops, key1: AgeKey, key2: AgeKey, both_keys: Path
) -> None:
    config = {
        "creation_rules": [
            {"key_groups": [{"age": [key1.recipient]}, {"age": [key2.recipient]}], "shamir_threshold": 2}
        ]
    }
    (tmp_path / ".sops.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "p.yaml").write_bytes(YAML)
    by_sops = sops_bin.ok("encrypt", "p.yaml", cwd=tmp_path)
    assert b"key_groups:" in by_sops and b"shamir_threshold: 2" in by_sops
    expected = sops_bin.decrypt_stdin(by_sops, "yaml", both_keys)
    assert api.decrypt_bytes(by_sops, "yaml", identities(key1, key2)) == expected
    with pytest.raises(SopsError) as err:
        api.decrypt_bytes(by_sops, "yaml", identities(key1))
    assert err.value.exit_code == 128
    rule = find_creation_rule((tmp_path / ".sops.yaml").read_text(), "p.yaml")
    by_us = api.encrypt_bytes(YAML, "yaml", rule.rules, rule.plan)
    assert sops_bin.decrypt_stdin(by_us, "yaml", both_keys) == expected

    # Layout matches sops' key_groups block.
    def mask(text: bytes) -> str:
        pattern = r"(ENC\[[^\]]*\]|-----BEGIN.*?-----END AGE ENCRYPTED FILE-----|\d{4}-\d\d-\d\dT[\d:]+Z)"
        return re.sub(pattern, "X", text.decode(), flags=re.S)

    assert mask(by_us) == mask(by_sops)


@pytest.mark.parametrize("layout", ["3.7", "3.9", "3.13"])
def test_other_sops_metadata_layouts_are_read(layout: str, sops_bin: Sops, key1: AgeKey) -> None:
    doc = encryption.encrypt(
        d.parse_plain(YAML, "yaml"),
        "yaml",
        CryptRules(encrypted_regex="^data$"),
        plan_for(key1),
        version=layout + ".0",
    )
    data = d.emit_encrypted(doc, layout=layout)
    if layout in ("3.7", "3.9"):
        assert b"    kms: []\n" in data and b"    pgp: []\n" in data
    else:
        meta = data.decode().split("\nsops:\n", 1)[1]
        keys = re.findall(r"^    (\w+):", meta, flags=re.M)
        assert keys == sorted(keys)
    expected = sops_bin.decrypt_stdin(data, "yaml", key1.file)
    assert api.decrypt_bytes(data, "yaml", identities(key1)) == expected


def test_identity_sources(
    tmp_path: Path, key1: AgeKey, key2: AgeKey, lockstep_env: pytest.MonkeyPatch
) -> None:
    default = tmp_path / "xdg" / "sops" / "age" / "keys.txt"
    default.parent.mkdir(parents=True)
    default.write_text(key1.file.read_text())
    assert [str(i.to_public()) for i in from_environment()] == [key1.recipient]
    lockstep_env.setenv("SOPS_AGE_KEY", f"{key2.identity}")
    lockstep_env.setenv("SOPS_AGE_KEY_CMD", f"cat {key1.file}")
    got = [str(i.to_public()) for i in from_environment()]
    assert got == [key2.recipient, key1.recipient, key1.recipient]
    assert [
        str(i.to_public()) for i in from_secret_data({"age.agekey": key2.identity.encode(), "other": b"x"})
    ] == [key2.recipient]


def test_non_age_keys_fall_back_to_the_sops_binary(
    tmp_path: Path,
    key1: AgeKey,
    sops_bin: Sops,
    lockstep_env: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """A file only a PGP key opens: Lockstep hands it to sops (which fails here: no gpg key), or says the
    binary is needed when it is missing."""
    data = api.encrypt_bytes(YAML, "yaml", CryptRules(), plan_for(key1)).decode()
    pgp_only = re.sub(
        r"    age:\n(.*?\n)(?=    lastmodified)",
        '    pgp:\n        - created_at: "2024-01-01T00:00:00Z"\n          enc: x\n          fp: ABCDEF\n',
        data,
        flags=re.S,
    )
    pgp_only = pgp_only.replace("    pgp:\n        - created", "    pgp:\n        - created", 1)
    path = tmp_path / "pgp.yaml"
    path.write_text(pgp_only)
    theirs = sops_bin.run("decrypt", str(path))
    lockstep_env.setenv("SOPS_AGE_KEY_FILE", str(key1.file))
    assert cli.decrypt([str(path)], prog="decrypt") == theirs.returncode != 0
    lockstep_env.setenv("LOCKSTEP_SOPS", str(tmp_path / "missing-sops"))
    capsysbinary.readouterr()
    assert cli.decrypt([str(path)], prog="decrypt") == 1
    err = capsysbinary.readouterr().err.decode()
    assert str(path) in err and "needs the sops binary" in err


def test_ssh_ed25519_recipients_both_ways(
    tmp_path: Path, sops_bin: Sops, lockstep_env: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = tmp_path / "id_ed25519"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    )
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    by_sops = sops_bin.ok(
        "encrypt", "--age", public, "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin", stdin=YAML
    )
    env = {"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(private)}
    proc = sops_bin.run(
        "decrypt", "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin", stdin=by_sops, env=env
    )
    assert proc.returncode == 0, proc.stderr
    lockstep_env.setenv("SOPS_AGE_SSH_PRIVATE_KEY_FILE", str(private))
    assert api.decrypt_bytes(by_sops, "yaml") == proc.stdout
    by_us = api.encrypt_bytes(
        YAML, "yaml", CryptRules(), encryption.KeyPlan([[MasterKey("age", {"recipient": public})]])
    )
    again = sops_bin.run(
        "decrypt", "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin", stdin=by_us, env=env
    )
    assert again.returncode == 0 and again.stdout == proc.stdout


def test_non_age_creation_rule_encrypts_through_sops(
    tmp_path: Path,
    sops_bin: Sops,
    key1: AgeKey,
    lockstep_env: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """A rule naming a PGP key goes to the sops binary; lacking the gpg key, its failure passes through."""
    (tmp_path / ".sops.yaml").write_text(
        yaml.safe_dump({"creation_rules": [{"pgp": "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"}]})
    )
    (tmp_path / "p.yaml").write_bytes(YAML)
    theirs = sops_bin.run("encrypt", "p.yaml", cwd=tmp_path)
    lockstep_env.chdir(tmp_path)
    code = cli_encrypt.encrypt(["p.yaml"], prog="e")
    assert code == theirs.returncode != 0
    assert capsysbinary.readouterr().out == b""
