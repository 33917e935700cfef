"""The three secret stages inside the engine, end to end: one Application whose repository holds a
SOPS-encrypted Secret, a SealedSecret and an ExternalSecret, synced by the real operator."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pyrage
import yaml

from core_sync.testing import ControlPlane, GitServer
from core_sync.testing.oracles import sops_encrypt
from sealed.format.keygen import generate_key_pair
from tests.core_sync.conftest import Apps, Operator, configmap, live, wait_for

KEYS_NAMESPACE = "lockstep-system"


def _sealing_key(control_plane: ControlPlane, tmp_path: Path) -> Path:
    """An active sealing key in lockstep-system, labelled as Bitnami labels it; returns its cert file."""
    pair = generate_key_pair(2048, common_name="sealed-secret")
    cert_pem, key_pem = pair.cert_pem, pair.key_pem
    client = control_plane.client
    client.apply(
        f"/api/v1/namespaces/{KEYS_NAMESPACE}",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": KEYS_NAMESPACE}},
        field_manager="test",
    )
    client.create(
        f"/api/v1/namespaces/{KEYS_NAMESPACE}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {
                "generateName": "sealed-secrets-key",
                "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"},
            },
            "data": {
                "tls.crt": base64.b64encode(cert_pem).decode(),
                "tls.key": base64.b64encode(key_pem).decode(),
            },
        },
    )
    path = tmp_path / "cert.pem"
    path.write_bytes(cert_pem)
    return path


def _seal(cert: Path, secret: dict) -> str:  # type: ignore[type-arg]
    result = subprocess.run(
        [sys.executable, "-m", "core_sync.cli", "seal", "--cert", str(cert), "--format", "yaml"],
        input=yaml.safe_dump(secret),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout


def _seal_secret(cert: Path, namespace: str, name: str, data: dict[str, bytes]) -> str:
    """A SealedSecret (YAML) for the Secret ``namespace/name`` holding ``data``."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": {key: base64.b64encode(value).decode() for key, value in data.items()},
    }
    return _seal(cert, secret)


def _sops_encrypt(plain: str, recipient: str, tmp_path: Path) -> str:
    source = tmp_path / "secret.yaml"
    source.write_text(plain)
    return sops_encrypt(source, recipient)


def _secret_data(control_plane: ControlPlane, ns: str, name: str) -> dict[str, str]:
    secret = control_plane.client.get(f"/api/v1/namespaces/{ns}/secrets/{name}")
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def test_sops_sealed_and_external_in_one_revision(
    operator: Operator,
    apps: Apps,
    git_server: GitServer,
    control_plane: ControlPlane,
    age_identity: pyrage.x25519.Identity,
    tmp_path: Path,
) -> None:
    ns = apps.namespace
    cert = _sealing_key(control_plane, tmp_path)
    sealed = _seal_secret(cert, ns, "api", {"token": b"t0ken-from-sealed"})
    sops_secret = _sops_encrypt(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2-from-sops\n",
        str(age_identity.to_public()),
        tmp_path,
    )
    external = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "vault-creds"},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "vault", "kind": "SecretStore"},
            "target": {"name": "vault-creds"},
            "data": [{"secretKey": "password", "remoteRef": {"key": "db", "property": "password"}}],
        },
    }
    url = git_server.create_repo(
        "secrets",
        {
            "deploy/api.sealed.yaml": sealed,
            "deploy/db.enc.yaml": sops_secret,
            "deploy/external.yaml": yaml.safe_dump(external),
            "deploy/cm.yaml": configmap("plain", "1"),
        },
    )
    apps.create("secrets", url, interval="1h", decryption={"sops": {"secretRef": {"name": "sops-age"}}})
    app = apps.wait_ready("secrets", timeout=60)
    assert _secret_data(control_plane, ns, "db") == {"password": "hunter2-from-sops"}
    assert _secret_data(control_plane, ns, "api") == {"token": "t0ken-from-sealed"}
    applied_es = control_plane.client.get(
        f"/apis/external-secrets.io/v1/namespaces/{ns}/externalsecrets/vault-creds"
    )
    assert applied_es["spec"] == external["spec"]  # controller mode: the CR is applied as written
    assert live(control_plane.client, f"/apis/bitnami.com/v1alpha1/namespaces/{ns}/sealedsecrets/api") is None
    kinds = sorted((r["kind"], r["name"]) for r in app["status"]["resources"])
    assert kinds == [
        ("ConfigMap", "plain"),
        ("ExternalSecret", "vault-creds"),
        ("Secret", "api"),
        ("Secret", "db"),
    ]
    status_text = yaml.safe_dump(app["status"])
    events = yaml.safe_dump(control_plane.client.get(f"/api/v1/namespaces/{ns}/events")["items"])
    for secret_value in ("hunter2-from-sops", "t0ken-from-sealed"):
        assert secret_value not in status_text and secret_value not in events


def test_wrong_age_key_fails_decryption_and_applies_nothing(
    operator: Operator,
    apps: Apps,
    git_server: GitServer,
    control_plane: ControlPlane,
    age_identity: pyrage.x25519.Identity,
    tmp_path: Path,
) -> None:
    ns = apps.namespace
    stranger = pyrage.x25519.Identity.generate()
    sops_secret = _sops_encrypt(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: never-seen\n",
        str(stranger.to_public()),
        tmp_path,
    )
    url = git_server.create_repo(
        "badkey", {"deploy/db.enc.yaml": sops_secret, "deploy/cm.yaml": configmap("c", "1")}
    )
    apps.create("badkey", url, interval="1h", decryption={"sops": {"secretRef": {"name": "sops-age"}}})
    cond = apps.wait_failed("badkey")
    assert cond["reason"] == "DecryptFailed"
    assert "Secret/db" in cond["message"] and "never-seen" not in cond["message"]
    assert live(control_plane.client, f"/api/v1/namespaces/{ns}/configmaps/c") is None
    wait_for(lambda: apps.events("DecryptFailed"), 10, "DecryptFailed event")
