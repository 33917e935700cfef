"""Key generation and the cluster key store: certificates shaped like Bitnami's, Secrets named and labelled
like Bitnami's, states read back from the real API server, and a Lockstep-made key opening in kubeseal."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core_sync.testing import ControlPlane
from sealed.format.keygen import generate_key_pair
from sealed.keys import (
    ACTIVE,
    COMPROMISED,
    KEY_LABEL,
    create_key_secret,
    list_keys,
    newest_active,
    read_sealing_keys,
    set_key_state,
    store_new_key,
)
from tests.sealed.conftest import SealingKey, ok, run_kubeseal


def test_certificate_has_bitnamis_properties() -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    pair = generate_key_pair(2048)
    cert = x509.load_pem_x509_certificate(pair.cert_pem)
    assert cert.version is x509.Version.v3
    assert cert.subject == cert.issuer == x509.Name([])  # --my-cn defaults to ""
    assert 0 < cert.serial_number < 1 << 128
    assert cert.signature_hash_algorithm is not None and cert.signature_hash_algorithm.name == "sha256"
    assert cert.not_valid_before_utc >= before
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(hours=87600)
    # cryptography refuses to parse a KeyUsage of encipherOnly alone, so check the DER and openssl's view
    der = cert.public_bytes(serialization.Encoding.DER)
    assert bytes.fromhex("300e0603551d0f0101ff040403020001") in der  # critical, encipherOnly only
    assert bytes.fromhex("300f0603551d130101ff040530030101ff") in der  # critical, CA:TRUE, no path length
    text = openssl_text(pair.cert_pem)
    extensions = text.split("X509v3 extensions:")[1].split("Signature Algorithm")[0]
    assert [line.strip() for line in extensions.splitlines() if "X509v3" in line] == [
        "X509v3 Key Usage: critical",
        "X509v3 Basic Constraints: critical",
        "X509v3 Subject Key Identifier:",
    ]
    assert "Encipher Only" in extensions and "Key Agreement" not in extensions
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey) and public.public_numbers().e == 65537
    assert pair.key_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")  # PKCS#1, as Bitnami's tls.key


def test_default_key_is_rsa_4096_with_common_name() -> None:
    pair = generate_key_pair(common_name="sealed-secret", ttl=dt.timedelta(hours=1))
    cert = x509.load_pem_x509_certificate(pair.cert_pem)
    assert pair.key.key_size == 4096
    assert cert.subject.rfc4514_string() == "CN=sealed-secret"
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(hours=1)


def test_small_keys_refused() -> None:
    with pytest.raises(ValueError, match="at least 2048"):
        generate_key_pair(1024)


def test_store_lists_creates_and_relabels(control_plane: ControlPlane, namespace: str) -> None:
    client = control_plane.client
    assert list_keys(client, namespace) == []
    first = create_key_secret(client, generate_key_pair(2048), namespace)
    second = store_new_key(client, namespace, bits=2048)
    raw = client.get(f"/api/v1/namespaces/{namespace}/secrets/{second.name}")
    assert raw["type"] == "kubernetes.io/tls"
    assert raw["metadata"]["labels"] == {KEY_LABEL: ACTIVE}
    assert second.name.startswith("sealed-secrets-key") and len(second.name) == len("sealed-secrets-key") + 5
    assert {"tls.crt", "tls.key"} == set(raw["data"])
    listed = list_keys(client, namespace)
    assert {k.name for k in listed} == {first.name, second.name}
    assert all(k.state == ACTIVE and k.fingerprint.startswith("SHA256:") and k.created for k in listed)
    assert second.fingerprint != first.fingerprint

    set_key_state(client, first.name, COMPROMISED, namespace)
    states = {k.name: k.state for k in list_keys(client, namespace)}
    assert states == {first.name: COMPROMISED, second.name: ACTIVE}
    keys, problems = read_sealing_keys(client, namespace)
    assert [k.fingerprint for k in keys] == [second.fingerprint] and problems == []
    newest = newest_active(list_keys(client, namespace))
    assert newest is not None and newest.name == second.name


def test_broken_key_secret_is_listed_with_its_problem(control_plane: ControlPlane, namespace: str) -> None:
    client = control_plane.client
    client.create(
        f"/api/v1/namespaces/{namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "sealed-secrets-keybroke", "labels": {KEY_LABEL: ACTIVE}},
            "data": {"tls.crt": base64.b64encode(b"nope").decode()},
        },
    )
    (broken,) = list_keys(client, namespace)
    assert broken.key is None and not broken.active
    assert "no tls.key" in broken.problem and f"{namespace}/sealed-secrets-keybroke" in broken.problem
    assert read_sealing_keys(client, namespace) == ([], [broken.problem])


def test_lockstep_key_opens_in_kubeseal_recovery_unseal(
    kubeseal_bin: str, tmp_path: Path, control_plane: ControlPlane, namespace: str
) -> None:
    """A key Secret written by the store is a backup kubeseal --recovery-unseal accepts as is."""
    client = control_plane.client
    stored = store_new_key(client, namespace, bits=2048)
    raw = client.get(f"/api/v1/namespaces/{namespace}/secrets/{stored.name}")
    backup = tmp_path / "backup.json"
    backup.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [raw]}))
    cert = tmp_path / "cert.pem"
    cert.write_bytes(stored.cert_pem)
    secret = (
        b'{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"n"},"data":{"k":"dg=="}}'
    )
    sealed = ok(run_kubeseal(kubeseal_bin, "--cert", str(cert), stdin=secret))
    opened = ok(
        run_kubeseal(kubeseal_bin, "--recovery-unseal", "--recovery-private-key", str(backup), stdin=sealed)
    )
    assert json.loads(opened)["data"] == {"k": "dg=="}


def openssl_text(cert_pem: bytes) -> str:
    done = subprocess.run(
        ["openssl", "x509", "-noout", "-text"], input=cert_pem, capture_output=True, check=True
    )
    return done.stdout.decode()


def test_sealing_key_fixture_is_the_product_generator(sealing_key: SealingKey) -> None:
    text = openssl_text(sealing_key.cert_pem)
    assert "Encipher Only" in text and "Key Agreement" not in text
