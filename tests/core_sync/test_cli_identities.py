"""`lockstep render` reads age identities where sops does, and masks everything a secret stage decrypted.

Files are encrypted by the real sops binary (the oracle); identities come from SOPS_AGE_KEY_FILE,
SOPS_AGE_KEY or the default keys file under XDG_CONFIG_HOME, as sops itself reads them.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pyrage
import pytest
import yaml

from core_sync.testing import ControlPlane, GitServer
from core_sync.testing.oracles import sops_encrypt
from tests.core_sync.test_engine_cli import lockstep

PASSWORD = "Zq8-unguessable-passphrase"
CONFIGMAP = f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  api_token: {PASSWORD}
  mode: strict-mode
"""


def _encrypted_repo(tmp_path: Path) -> tuple[Path, pyrage.x25519.Identity]:
    identity = pyrage.x25519.Identity.generate()
    repo = tmp_path / "repo"
    repo.mkdir()
    source = repo / "settings.yaml"
    source.write_text(CONFIGMAP)
    source.write_text(sops_encrypt(source, str(identity.to_public()), encrypted_regex="^data$"))
    assert PASSWORD not in source.read_text()
    return repo, identity


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_AGE")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "empty-config")  # no default key file unless a test adds one
    env["HOME"] = str(tmp_path / "home")
    return {**env, **extra}


@pytest.mark.parametrize("source", ["SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY", "default keys file"])
def test_render_offline_uses_the_users_own_identity(tmp_path: Path, source: str) -> None:
    repo, identity = _encrypted_repo(tmp_path)
    env = _env(tmp_path)
    if source == "SOPS_AGE_KEY_FILE":
        key_file = tmp_path / "keys.txt"
        key_file.write_text(f"# test key\n{identity}\n")
        env["SOPS_AGE_KEY_FILE"] = str(key_file)
    elif source == "SOPS_AGE_KEY":
        env["SOPS_AGE_KEY"] = str(identity)
    else:
        default = tmp_path / "xdg" / "sops" / "age" / "keys.txt"
        default.parent.mkdir(parents=True)
        default.write_text(f"{identity}\n")
        env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")

    shown = lockstep("render", str(repo), "--offline", "--show-secrets", env=env)
    assert shown.returncode == 0, shown.stderr
    (doc,) = yaml.safe_load_all(shown.stdout)
    assert doc["data"] == {"api_token": PASSWORD, "mode": "strict-mode"}
    assert "sops" not in doc


def test_render_masks_a_decrypted_configmap_unless_asked(tmp_path: Path) -> None:
    repo, identity = _encrypted_repo(tmp_path)
    env = _env(tmp_path, SOPS_AGE_KEY=str(identity))
    masked = lockstep("render", str(repo), "--offline", env=env)
    assert masked.returncode == 0, masked.stderr
    assert PASSWORD not in masked.stdout and "strict-mode" not in masked.stdout
    assert base64.b64encode(PASSWORD.encode()).decode() not in masked.stdout
    (doc,) = yaml.safe_load_all(masked.stdout)
    assert doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "settings"
    assert set(doc["data"]) == {"api_token", "mode"}
    assert all(set(value) == {"+"} for value in doc["data"].values())


def test_render_without_any_identity_names_every_source(tmp_path: Path) -> None:
    repo, _ = _encrypted_repo(tmp_path)
    failed = lockstep("render", str(repo), "--offline", env=_env(tmp_path))
    assert failed.returncode == 1 and failed.stdout == ""
    assert "SOPS_AGE_KEY_FILE" in failed.stderr and "--sops-secret" in failed.stderr
    assert "Traceback" not in failed.stderr and len(failed.stderr.strip().splitlines()) == 1


def test_render_with_the_wrong_identity_fails_without_output(tmp_path: Path) -> None:
    repo, _ = _encrypted_repo(tmp_path)
    other = pyrage.x25519.Identity.generate()
    failed = lockstep("render", str(repo), "--offline", env=_env(tmp_path, SOPS_AGE_KEY=str(other)))
    assert failed.returncode == 1 and failed.stdout == ""
    assert "settings.yaml" in failed.stderr and "Traceback" not in failed.stderr


def test_render_reports_a_broken_kubeconfig_instead_of_hiding_it(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    broken = tmp_path / "kubeconfig"
    broken.write_text("apiVersion: v1\nkind: Config\ncurrent-context: nowhere\ncontexts: []\n")
    result = lockstep("render", str(tmp_path), env={**_env(tmp_path), "KUBECONFIG": str(broken)})
    assert result.returncode == 0, result.stderr  # plain manifests still render
    assert "no cluster access" in result.stderr and "'nowhere' not found" in result.stderr
    sealed = tmp_path / "sealed.yaml"
    sealed.write_text(
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: s\n"
        "spec:\n  encryptedData:\n    a: AgBy\n"
    )
    failed = lockstep("render", str(tmp_path), env={**_env(tmp_path), "KUBECONFIG": str(broken)})
    assert failed.returncode == 1
    assert "'nowhere' not found" in failed.stderr.splitlines()[-1]


def test_diff_and_sync_take_identities_from_sops_secret(
    control_plane: ControlPlane, namespace: str, git_server: GitServer, tmp_path: Path
) -> None:
    """--sops-secret names a Secret in the target namespace whose *.agekey entries decrypt the repo."""
    repo, identity = _encrypted_repo(tmp_path)
    control_plane.client.create(
        f"/api/v1/namespaces/{namespace}/secrets",
        {"metadata": {"name": "age-keys"}, "stringData": {"identity.agekey": str(identity)}},
    )
    env = {
        **_env(tmp_path),
        "KUBECONFIG": str(control_plane.kubeconfig),
        "LOCKSTEP_CACHE": str(tmp_path / "c"),
    }
    without = lockstep("diff", str(repo), "-n", namespace, env=env)
    assert without.returncode == 2 and "--sops-secret" in without.stderr
    diff = lockstep("diff", str(repo), "-n", namespace, "--sops-secret", "age-keys", env=env)
    assert diff.returncode == 1, diff.stderr
    assert "settings" in diff.stdout and PASSWORD not in diff.stdout
    url = git_server.create_repo(
        "sops-secret", {"deploy/settings.yaml": (repo / "settings.yaml").read_text()}
    )
    sync = ["sync", "--repo", url, "--path", "deploy", "-n", namespace, "--sops-secret", "age-keys"]
    synced = lockstep(*sync, env=env)
    assert synced.returncode == 0, synced.stderr
    live_cm = control_plane.client.get(f"/api/v1/namespaces/{namespace}/configmaps/settings")
    assert live_cm["data"] == {"api_token": PASSWORD, "mode": "strict-mode"}
