"""Interop with the real kubeseal binary, both directions, every scope, awkward values."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from tests.sealed.conftest import (
    SealingKey,
    kubeseal_unseal,
    mask_ciphertexts,
    ok,
    run_kubeseal,
    run_lockstep,
)

SCOPES = ["strict", "namespace-wide", "cluster-wide"]
BINARY = bytes(range(256)) + b"\xff\xfe\x00"
DOCKER_CONFIG = json.dumps({"auths": {"registry.example": {"auth": base64.b64encode(b"u:p").decode()}}})


def secret_yaml(name: str = "app-secret", namespace: str | None = "apps", **extra: object) -> bytes:
    meta: dict[str, object] = {"name": name, "labels": {"app": "web", "tier": "backend"}}
    if namespace:
        meta["namespace"] = namespace
    meta["annotations"] = {
        "team": "payments <core> & ops",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
        "long": "a long annotation value with spaces that certainly runs past the 80 column limit of go-yaml",
        "multi": "first line\nsecond line\n",
        "looks-like-bool": "true",
        "looks-like-date": "2024-01-02",
    }
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "data": {
            "binary": base64.b64encode(BINARY).decode(),
            "empty": "",
            "password": base64.b64encode(b"s3cr3t!").decode(),
        },
        "stringData": {"password": "from-stringData", "url": "https://user:pw@db.example:5432/x?y=1&z=<2>"},
    }
    doc.update(extra)
    return yaml.safe_dump(doc).encode()


EXPECTED = {
    "binary": BINARY,
    "empty": b"",
    "password": b"from-stringData",  # stringData is sealed after data and wins
    "url": b"https://user:pw@db.example:5432/x?y=1&z=<2>",
}


def decoded(secret_output: bytes) -> dict[str, bytes]:
    docs = [d for d in yaml.safe_load_all(secret_output) if d]
    assert len(docs) == 1
    return {k: base64.b64decode(v) if v else b"" for k, v in (docs[0].get("data") or {}).items()}


@pytest.mark.parametrize("scope", SCOPES)
def test_kubeseal_sealed_opens_with_lockstep(kubeseal_bin: str, sealing_key: SealingKey, scope: str) -> None:
    sealed = ok(
        run_kubeseal(
            kubeseal_bin, "--cert", str(sealing_key.cert_path), "--scope", scope, stdin=secret_yaml()
        )
    )
    for fmt in ("json", "yaml"):
        ours = ok(
            run_lockstep(
                "--recovery-unseal",
                "--recovery-private-key",
                str(sealing_key.key_path),
                "-o",
                fmt,
                stdin=sealed,
            )
        )
        theirs = ok(
            run_kubeseal(
                kubeseal_bin,
                "--recovery-unseal",
                "--recovery-private-key",
                str(sealing_key.key_path),
                "-o",
                fmt,
                stdin=sealed,
            )
        )
        assert decoded(ours) == EXPECTED
        assert ours == theirs  # the whole recovered Secret, byte for byte


@pytest.mark.parametrize("scope", SCOPES)
def test_lockstep_sealed_opens_with_kubeseal(kubeseal_bin: str, sealing_key: SealingKey, scope: str) -> None:
    for fmt in ("json", "yaml"):
        sealed = ok(
            run_lockstep(
                "--cert", str(sealing_key.cert_path), "--scope", scope, "-o", fmt, stdin=secret_yaml()
            )
        )
        opened = kubeseal_unseal(kubeseal_bin, sealing_key, sealed)
        assert decoded(opened) == EXPECTED


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_same_output_as_kubeseal_apart_from_ciphertexts(
    kubeseal_bin: str, sealing_key: SealingKey, scope: str, fmt: str
) -> None:
    cert = str(sealing_key.cert_path)
    for document in (secret_yaml(), secret_yaml(immutable=True, type="kubernetes.io/basic-auth")):
        ours = ok(run_lockstep("--cert", cert, "--scope", scope, "-o", fmt, stdin=document)).decode()
        theirs = ok(
            run_kubeseal(kubeseal_bin, "--cert", cert, "--scope", scope, "-o", fmt, stdin=document)
        ).decode()
        assert "<CIPHERTEXT>" in mask_ciphertexts(theirs)
        assert mask_ciphertexts(ours) == mask_ciphertexts(theirs)
        assert ours.endswith("\n") and theirs.endswith("\n")


def test_scope_annotation_on_input_is_honoured(kubeseal_bin: str, sealing_key: SealingKey) -> None:
    doc = yaml.safe_load(secret_yaml())
    doc["metadata"]["annotations"]["sealedsecrets.bitnami.com/namespace-wide"] = "true"
    data = yaml.safe_dump(doc).encode()
    cert = str(sealing_key.cert_path)
    ours = ok(run_lockstep("--cert", cert, stdin=data)).decode()
    theirs = ok(run_kubeseal(kubeseal_bin, "--cert", cert, stdin=data)).decode()
    assert mask_ciphertexts(ours) == mask_ciphertexts(theirs)
    assert json.loads(ours)["metadata"]["annotations"] == {"sealedsecrets.bitnami.com/namespace-wide": "true"}


def test_dockerconfigjson_both_ways(kubeseal_bin: str, sealing_key: SealingKey) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "regcred", "namespace": "apps"},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(DOCKER_CONFIG.encode()).decode()},
    }
    data = json.dumps(doc).encode()
    cert, key = str(sealing_key.cert_path), str(sealing_key.key_path)
    for sealer, opener in ((run_lockstep, "kubeseal"), (None, "lockstep")):
        if sealer is None:
            sealed = ok(run_kubeseal(kubeseal_bin, "--cert", cert, stdin=data))
            opened = ok(run_lockstep("--recovery-unseal", "--recovery-private-key", key, stdin=sealed))
        else:
            sealed = ok(sealer("--cert", cert, stdin=data))
            opened = ok(
                run_kubeseal(kubeseal_bin, "--recovery-unseal", "--recovery-private-key", key, stdin=sealed)
            )
        secret = json.loads(opened)
        assert secret["type"] == "kubernetes.io/dockerconfigjson", opener
        assert base64.b64decode(secret["data"][".dockerconfigjson"]).decode() == DOCKER_CONFIG


@pytest.mark.parametrize("scope", SCOPES)
def test_raw_values_interoperate(kubeseal_bin: str, sealing_key: SealingKey, scope: str) -> None:
    cert, key = str(sealing_key.cert_path), str(sealing_key.key_path)
    flags = ["--raw", "--scope", scope, "--namespace", "apps", "--name", "db"]
    ours = ok(run_lockstep("--cert", cert, *flags, stdin=b"raw\x00value"))
    theirs = ok(run_kubeseal(kubeseal_bin, "--cert", cert, *flags, stdin=b"raw\x00value"))
    assert not ours.endswith(b"\n") and not theirs.endswith(b"\n")
    annotations = {}
    if scope != "strict":
        annotations = {f"sealedsecrets.bitnami.com/{scope}": "true"}
    for blob, opener in ((ours, "kubeseal"), (theirs, "lockstep")):
        sealed = {
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "metadata": {"name": "db", "namespace": "apps", "annotations": annotations},
            "spec": {"encryptedData": {"value": blob.decode()}, "template": {"metadata": {}}},
        }
        args = ("--recovery-unseal", "--recovery-private-key", key)
        body = json.dumps(sealed).encode()
        opened = ok(
            run_kubeseal(kubeseal_bin, *args, stdin=body)
            if opener == "kubeseal"
            else run_lockstep(*args, stdin=body)
        )
        assert base64.b64decode(json.loads(opened)["data"]["value"]) == b"raw\x00value"


def test_several_keys_and_key_backup_list(
    kubeseal_bin: str, sealing_key: SealingKey, other_key: SealingKey, tmp_path: object
) -> None:
    """A key backup (a v1 List of the controller's TLS Secrets) opens values sealed with any of its keys."""
    from pathlib import Path

    def tls_secret(key: SealingKey, name: str) -> dict[str, object]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": "lockstep-system",
                "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"},
            },
            "type": "kubernetes.io/tls",
            "data": {
                "tls.crt": base64.b64encode(key.cert_pem).decode(),
                "tls.key": base64.b64encode(key.key_pem).decode(),
            },
        }

    backup = Path(str(tmp_path)) / "backup.yaml"
    backup.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [tls_secret(other_key, "k1"), tls_secret(sealing_key, "k2")],
            }
        )
    )
    sealed = ok(run_kubeseal(kubeseal_bin, "--cert", str(sealing_key.cert_path), stdin=secret_yaml()))
    ours = ok(run_lockstep("--recovery-unseal", "--recovery-private-key", str(backup), stdin=sealed))
    theirs = ok(
        run_kubeseal(kubeseal_bin, "--recovery-unseal", "--recovery-private-key", str(backup), stdin=sealed)
    )
    assert ours == theirs
    # Comma-separated PEM keys, the matching one last.
    keys = f"{other_key.key_path},{sealing_key.key_path}"
    assert (
        decoded(ok(run_lockstep("--recovery-unseal", "--recovery-private-key", keys, stdin=sealed)))
        == EXPECTED
    )
