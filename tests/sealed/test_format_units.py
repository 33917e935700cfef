"""Format-layer facts checked in-process: byte layout, labels, fingerprints, legacy data, empty data."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization

from sealed.format import crypto
from sealed.format.certs import parse_certificate_pem
from sealed.format.convert import unseal
from sealed.format.errors import FormatError
from sealed.format.keys import load_private_keys
from sealed.format.scopes import Scope, label, label_for
from tests.sealed.conftest import SealingKey, mask_ciphertexts, ok, run_kubeseal, run_lockstep


def test_labels() -> None:
    assert label(Scope.STRICT, "ns", "name") == b"ns/name"
    assert label(Scope.NAMESPACE_WIDE, "ns", "name") == b"ns"
    assert label(Scope.CLUSTER_WIDE, "ns", "name") == b""
    wide = {
        "name": "n",
        "namespace": "ns",
        "annotations": {"sealedsecrets.bitnami.com/namespace-wide": "true"},
    }
    assert label_for(wide) == b"ns"
    both = {**wide, "annotations": {**wide["annotations"], "sealedsecrets.bitnami.com/cluster-wide": "true"}}
    assert label_for(both) == b""  # cluster-wide wins
    not_true = {**wide, "annotations": {"sealedsecrets.bitnami.com/cluster-wide": "yes"}}
    assert label_for(not_true) == b"ns/n"  # the value must be exactly "true"


def test_byte_layout(sealing_key: SealingKey) -> None:
    public = crypto.public_key(parse_certificate_pem(sealing_key.cert_pem))
    blob = crypto.hybrid_encrypt(public, b"bar", b"ns/name")
    assert len(blob) == 2 + 512 + 3 + 16  # RSA-4096: 533 bytes for "bar"
    assert blob[:2] == b"\x02\x00"
    assert base64.b64encode(blob).startswith(b"Ag")
    keys = load_private_keys(sealing_key.key_pem)
    assert crypto.hybrid_decrypt(keys, blob, b"ns/name") == b"bar"
    with pytest.raises(FormatError, match="no key could decrypt secret"):
        crypto.hybrid_decrypt(keys, blob, b"ns/other")
    with pytest.raises(FormatError, match="SealedSecret data is too short"):
        crypto.hybrid_decrypt(keys, blob[:100], b"ns/name")


def test_fingerprint_is_ssh_sha256(sealing_key: SealingKey) -> None:
    openssh = sealing_key.key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    wire = base64.b64decode(openssh.split()[1])
    expected = "SHA256:" + base64.b64encode(hashlib.sha256(wire).digest()).decode().rstrip("=")
    assert load_private_keys(sealing_key.key_pem)[0].fingerprint == expected


def _legacy(sealing_key: SealingKey, encrypted: dict[str, str] | None = None) -> dict[str, object]:
    public = crypto.public_key(parse_certificate_pem(sealing_key.cert_pem))
    inner = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "old", "namespace": "ns"},
             "data": {"password": base64.b64encode(b"legacy").decode()}}  # fmt: skip
    blob = crypto.hybrid_encrypt(public, json.dumps(inner).encode(), b"ns/old")
    spec: dict[str, object] = {"data": base64.b64encode(blob).decode(), "template": {"metadata": {}}}
    if encrypted is not None:
        spec["encryptedData"] = encrypted
    return {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
            "metadata": {"name": "old", "namespace": "ns"}, "spec": spec}  # fmt: skip


def test_legacy_spec_data_opens(sealing_key: SealingKey) -> None:
    """The controller accepts v1 ``spec.data`` by default (kubeseal's offline unseal refuses it)."""
    secret = unseal(_legacy(sealing_key), load_private_keys(sealing_key.key_pem))
    assert base64.b64decode(secret["data"]["password"]) == b"legacy"


def test_legacy_and_encrypted_data_together_refused(sealing_key: SealingKey) -> None:
    with pytest.raises(
        FormatError, match="cannot use the field 'encryptedData' and the deprecated field 'data'"
    ):
        unseal(_legacy(sealing_key, {"x": "AgA="}), load_private_keys(sealing_key.key_pem))


def test_allow_empty_data_matches_kubeseal(kubeseal_bin: str, sealing_key: SealingKey) -> None:
    empty = b'{"apiVersion":"v1","kind":"Secret","metadata":{"name":"e","namespace":"n"},"type":"Opaque"}'
    cert = str(sealing_key.cert_path)
    refused = run_lockstep("--cert", cert, stdin=empty)
    assert refused.returncode == 1 and b"--allow-empty-data can be used" in refused.stderr
    assert run_kubeseal(kubeseal_bin, "--cert", cert, stdin=empty).returncode != 0
    for fmt in ("json", "yaml"):
        ours = ok(run_lockstep("--cert", cert, "--allow-empty-data", "-o", fmt, stdin=empty))
        theirs = ok(run_kubeseal(kubeseal_bin, "--cert", cert, "--allow-empty-data", "-o", fmt, stdin=empty))
        assert mask_ciphertexts(ours.decode()) == mask_ciphertexts(theirs.decode())
