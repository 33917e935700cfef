"""The other real peers: OpenBao (hvac), moto server (boto3), git daemon (git), sops with an age key."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from core_sync.testing import GitServer, MotoServer, OpenBao, binaries, git


def test_openbao_kv2_round_trip_and_restart(openbao: OpenBao) -> None:
    import hvac

    client = hvac.Client(url=openbao.url, token=openbao.token)
    client.secrets.kv.v2.create_or_update_secret(path="harness/db", secret={"password": "hunter2"})
    read = client.secrets.kv.v2.read_secret_version(path="harness/db", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"password": "hunter2"}

    openbao.stop()
    with pytest.raises(Exception):  # noqa: B017 - any connection error: the server is down
        hvac.Client(url=openbao.url, token=openbao.token, timeout=2).sys.read_health_status(method="GET")
    openbao.start()
    assert hvac.Client(url=openbao.url, token=openbao.token).is_authenticated()


def _secrets_manager(url: str):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(
        "secretsmanager",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_moto_server_secrets_manager(moto_server: MotoServer) -> None:
    sm = _secrets_manager(moto_server.url)
    sm.create_secret(Name="harness/api", SecretString='{"token":"abc"}')
    assert sm.get_secret_value(SecretId="harness/api")["SecretString"] == '{"token":"abc"}'
    moto_server.reset()
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.get_secret_value(SecretId="harness/api")


def test_git_server_clone_change_push(git_server: GitServer, tmp_path: Path) -> None:
    url = git_server.create_repo("app", {"deploy/cm.yaml": "kind: ConfigMap\n"})
    checkout = tmp_path / "checkout"
    git("clone", "--quiet", url, str(checkout))
    assert (checkout / "deploy" / "cm.yaml").read_text() == "kind: ConfigMap\n"
    (checkout / "deploy" / "extra.yaml").write_text("kind: Secret\n")
    git("add", "-A", cwd=checkout)
    git("commit", "--quiet", "-m", "add extra", cwd=checkout)
    git("push", "--quiet", "origin", "HEAD:main", cwd=checkout)
    pushed = git("rev-parse", "HEAD", cwd=checkout)
    assert git("ls-remote", url, "refs/heads/main").split()[0] == pushed
    # the helper used by engine tests commits and pushes over the same protocol
    sha = git_server.commit("app", {"deploy/more.yaml": "kind: ConfigMap\n"}, remove=("deploy/extra.yaml",))
    assert git("ls-remote", url, "refs/heads/main").split()[0] == sha


def test_sops_binary_with_a_pyrage_age_key(tmp_path: Path) -> None:
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    key_file = tmp_path / "keys.txt"
    key_file.write_text(str(identity) + "\n")
    plain = tmp_path / "secret.yaml"
    plain.write_text("password: hunter2\nport: 5432\n")
    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(key_file), "SOPS_DISABLE_VERSION_CHECK": "1"}
    sops = str(binaries.sops())
    encrypted = subprocess.run(
        [sops, "encrypt", "--age", str(identity.to_public()), str(plain)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert "hunter2" not in encrypted and "ENC[AES256_GCM," in encrypted
    enc_file = tmp_path / "secret.enc.yaml"
    enc_file.write_text(encrypted)
    decrypted = subprocess.run(
        [sops, "decrypt", str(enc_file)], env=env, capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert decrypted == "password: hunter2\nport: 5432\n"


def test_kubeseal_binary_is_the_pinned_oracle() -> None:
    out = subprocess.run([str(binaries.kubeseal()), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"kubeseal version: {binaries.pinned_versions()['KUBESEAL_VERSION']}"
