"""ESO's Password generator: the rules (pure) and an ExternalSecret using it through the real operator."""

from __future__ import annotations

import base64
import string
from typing import Any

import pytest
from es_helpers import create, decoded, read_secret, wait_ready

from external_secrets.generators import DEFAULT_SYMBOLS, GeneratorError, generate, password

GENERATOR_REF = {
    "apiVersion": "generators.external-secrets.io/v1alpha1",
    "kind": "Password",
    "name": "db-password",
}


def test_password_defaults_follow_eso() -> None:
    value = password({})
    assert len(value) == 24
    assert sum(c in string.digits for c in value) == 6  # 25% of 24
    assert sum(c in DEFAULT_SYMBOLS for c in value) == 6
    assert len(set(value)) == len(value)  # no repeats by default
    assert generate("Password", {}).keys() == {"password"}


@pytest.mark.parametrize("length", [1, 4, 12, 28])  # 26 letters + 2 digits: the most without repeats
def test_password_counts_and_alphabets(length: int) -> None:
    spec = {"length": length, "digits": min(2, length), "symbols": 0, "noUpper": True}
    value = password(spec)
    assert len(value) == length
    assert sum(c in string.digits for c in value) == min(2, length)
    assert all(c in string.ascii_lowercase + string.digits for c in value)


def test_password_custom_symbols_repeats_keys_and_encodings() -> None:
    value = password(
        {"length": 30, "digits": 0, "symbols": 30, "symbolCharacters": "ab", "allowRepeat": True}
    )
    assert set(value) <= {"a", "b"}
    out = generate("Password", {"length": 16, "secretKeys": ["a", "b"], "encoding": "base64"})
    assert out.keys() == {"a", "b"} and out["a"] != out["b"]
    assert len(base64.b64decode(out["a"])) == 16
    assert len(generate("Password", {"length": 16, "encoding": "hex"})["password"]) == 32


@pytest.mark.parametrize(
    ("kind", "spec", "message"),
    [
        ("Password", {"length": 4, "digits": 3, "symbols": 2}, "digits and symbols must be less"),
        ("Password", {"length": 20, "digits": 11, "symbols": 0}, "number of digits exceeds available"),
        ("Password", {"length": 60, "digits": 0, "symbols": 0, "noUpper": True}, "letters exceeds available"),
        ("Password", {"secretKeys": ["a", "a"]}, "secretKeys must be non-empty and unique"),
        ("Password", {"encoding": "rot13"}, "spec.encoding"),
        ("Password", {"length": 10**6}, "spec.length"),
        ("UUID", {}, "not supported"),
    ],
)
def test_password_errors_name_the_field(kind: str, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        generate(kind, spec)


def test_external_secret_from_password_generator(operator: Any, kube: Any, namespace: str) -> None:
    kube.create(
        f"/apis/generators.external-secrets.io/v1alpha1/namespaces/{namespace}/passwords",
        {
            "apiVersion": "generators.external-secrets.io/v1alpha1",
            "kind": "Password",
            "metadata": {"name": "db-password"},
            "spec": {"length": 32, "digits": 5, "symbols": 0, "secretKeys": ["password", "admin"]},
        },
    )
    create(
        kube,
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": "generated"},
            "spec": {
                "refreshInterval": "0",
                "target": {"name": "generated"},
                "dataFrom": [{"sourceRef": {"generatorRef": GENERATOR_REF}}],
            },
        },
        namespace,
    )
    assert wait_ready(kube, namespace, "generated")["reason"] == "SecretSynced"
    secret = read_secret(kube, namespace, "generated")
    assert secret is not None
    data = decoded(secret)
    assert data.keys() == {"password", "admin"}
    assert all(len(v) == 32 and sum(chr(c) in string.digits for c in v) == 5 for v in data.values())
    assert data["password"] != data["admin"]

    create(
        kube,
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": "missing-generator"},
            "spec": {
                "target": {"name": "missing-generator"},
                "dataFrom": [{"sourceRef": {"generatorRef": {"kind": "Password", "name": "nope"}}}],
            },
        },
        namespace,
    )
    condition = wait_ready(kube, namespace, "missing-generator", status="False")
    assert condition["reason"] == "SecretSyncedError"
