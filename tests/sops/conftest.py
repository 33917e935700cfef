"""Fixtures for the SOPS tests: age keys in a temp dir and a runner for the real sops binary."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest

from core_sync.testing.binaries import sops, sops_latest


@dataclass
class AgeKey:
    identity: str
    recipient: str
    file: Path


@dataclass
class Sops:
    """The real sops binary, run with SOPS_DISABLE_VERSION_CHECK=1 and a given key file."""

    binary: Path
    workdir: Path

    def run(
        self,
        *args: str,
        key_file: Path | None = None,
        cwd: Path | None = None,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        extra = env or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
        env.update(extra)
        env["SOPS_DISABLE_VERSION_CHECK"] = "1"
        env["HOME"] = str(self.workdir)  # no default key file from the real home
        env["XDG_CONFIG_HOME"] = str(self.workdir / "xdg")
        if key_file is not None:
            env["SOPS_AGE_KEY_FILE"] = str(key_file)
        return subprocess.run(
            [str(self.binary), *args],
            capture_output=True,
            env=env,
            cwd=cwd or self.workdir,
            input=stdin,
            check=False,
        )

    def ok(self, *args: str, **kw: object) -> bytes:
        proc = self.run(*args, **kw)  # type: ignore[arg-type]
        assert proc.returncode == 0, proc.stderr.decode()
        return proc.stdout

    def decrypt_stdin(self, data: bytes, fmt: str, key_file: Path) -> bytes:
        """``sops decrypt`` of ``data`` (format ``fmt``) read from stdin: what sops makes of it."""
        return self.ok(
            "decrypt", "--input-type", fmt, "--output-type", fmt, "/dev/stdin", key_file=key_file, stdin=data
        )


def make_key(directory: Path, name: str) -> AgeKey:
    ident = pyrage.x25519.Identity.generate()
    path = directory / f"{name}.txt"
    path.write_text(f"# public key: {ident.to_public()}\n{ident}\n")
    return AgeKey(str(ident), str(ident.to_public()), path)


@pytest.fixture(scope="session")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("agekeys")


@pytest.fixture(scope="session")
def key1(keydir: Path) -> AgeKey:
    return make_key(keydir, "k1")


@pytest.fixture(scope="session")
def key2(keydir: Path) -> AgeKey:
    return make_key(keydir, "k2")


@pytest.fixture(scope="session")
def both_keys(keydir: Path, key1: AgeKey, key2: AgeKey) -> Path:
    path = keydir / "both.txt"
    path.write_text(key1.file.read_text() + key2.file.read_text())
    return path


@pytest.fixture(scope="session")
def sops_bin(tmp_path_factory: pytest.TempPathFactory) -> Sops:
    return Sops(sops(), tmp_path_factory.mktemp("sopshome"))


@pytest.fixture(scope="session")
def sops_latest_bin(tmp_path_factory: pytest.TempPathFactory) -> Sops:
    """The newest sops (SOPS_VERSION in versions.env, built by scripts/build-control-plane)."""
    return Sops(sops_latest(), tmp_path_factory.mktemp("sopslatesthome"))


@pytest.fixture(params=["3.11", "latest"])
def both_sops(request: pytest.FixtureRequest) -> Sops:
    """Each oracle in turn: the 3.11.0 wheel and the newest sops."""
    name = "sops_bin" if request.param == "3.11" else "sops_latest_bin"
    oracle: Sops = request.getfixturevalue(name)
    return oracle


@pytest.fixture
def lockstep_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean identity environment for in-process Lockstep calls (no real ~/.config keys)."""
    for name in list(os.environ):
        if name.startswith("SOPS_") and name != "SOPS_DISABLE_VERSION_CHECK":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return monkeypatch


def identities(*keys: AgeKey) -> Sequence[object]:
    from sops_plugin.format.age import parse_identities

    return parse_identities("\n".join(k.identity for k in keys))
