"""One lookup of age identity sources for the SOPS stage and ``lockstep keys`` (age-encrypted backups):
both now see the same sources, including ``SOPS_AGE_KEY_CMD``, which the keys commands used to miss."""

from __future__ import annotations

import sys
from pathlib import Path

import pyrage
import pytest

from core_sync.age_keys import AgeKeyError, default_key_file, identity_texts
from sealed.keys_cli.backup import identity_sources
from sealed.keys_cli.common import CommandError
from sops_plugin.errors import NoUsableKey
from sops_plugin.identities import from_environment


def test_every_source_in_sops_order(tmp_path: Path) -> None:
    keys = [str(pyrage.x25519.Identity.generate()) for _ in range(4)]
    key_file, config = tmp_path / "keys.txt", tmp_path / "config"
    key_file.write_text(keys[1] + "\n")
    default = default_key_file({"XDG_CONFIG_HOME": str(config)})
    default.parent.mkdir(parents=True)
    default.write_text(keys[3] + "\n")
    env = {
        "SOPS_AGE_KEY": keys[0],
        "SOPS_AGE_KEY_FILE": str(key_file),
        "SOPS_AGE_KEY_CMD": f"{sys.executable} -c 'print(\"{keys[2]}\")'",
        "XDG_CONFIG_HOME": str(config),
    }
    texts = identity_texts(env)
    assert [source for source, _ in texts] == [
        "SOPS_AGE_KEY",
        str(key_file),
        "SOPS_AGE_KEY_CMD",
        str(default),
    ]
    assert [text.strip() for _, text in texts] == keys
    assert len(from_environment(env)) == 4


def test_an_unreadable_source_is_named_by_every_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"SOPS_AGE_KEY_FILE": str(tmp_path / "missing.txt"), "XDG_CONFIG_HOME": str(tmp_path)}
    with pytest.raises(AgeKeyError, match=r"missing\.txt"):
        identity_texts(env)
    with pytest.raises(NoUsableKey, match=r"missing\.txt"):
        from_environment(env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CommandError, match=r"missing\.txt"):
        identity_sources([])
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", "")
    monkeypatch.setenv("SOPS_AGE_KEY_CMD", "false")
    with pytest.raises(CommandError, match="SOPS_AGE_KEY_CMD exited with status 1"):
        identity_sources([])
