"""ESO's own ``runtime/template/v2`` tests, run against Lockstep (the cases are data in eso_template_v2/).

Every case of ESO's template, PEM, PKCS#12 and decrypt tests is listed in ``cases.yaml`` with ESO's inputs
and expected outputs; the cases that cannot apply to Lockstep are listed there too, each with its reason.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from external_secrets.resolve import ResolveError
from external_secrets.template_scope import execute, try_parse_yaml
from gocompat.template import FUNCS, Template, go_bytes, go_string

HERE = Path(__file__).resolve().parent / "eso_template_v2"
CASES = yaml.safe_load((HERE / "cases.yaml").read_text())
CONSTANTS: dict[str, str] = yaml.safe_load((HERE / "constants.yaml").read_text())


@functools.cache
def _rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _rsa_key_pem(form: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = _rsa_key()
    if form == "public":
        return (
            key.public_key()
            .public_bytes(  # type: ignore[no-any-return]
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
    pkcs1 = serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM, pkcs1, serialization.NoEncryption()
    ).decode()


def _oaep_encrypt(spec: Mapping[str, Any]) -> str:
    """Ciphertext as a Go string (ESO's test encrypts at run time with the public key, as here)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    public = serialization.load_pem_public_key(go_bytes(value(spec["public_key"])))
    algorithm = {"SHA1": hashes.SHA1(), "SHA256": hashes.SHA256()}[spec["hash"]]  # noqa: S303
    cipher = public.encrypt(  # type: ignore[union-attr]
        spec["plaintext"].encode(), padding.OAEP(padding.MGF1(algorithm), algorithm, None)
    )
    return go_string(cipher)


def value(spec: Any) -> Any:
    """Resolve the notation in cases.yaml: ``$constant``, concatenation lists, files, generated keys."""
    if isinstance(spec, str):
        return CONSTANTS[spec[1:]] if spec.startswith("$") else spec
    if isinstance(spec, list):
        return "".join(value(item) for item in spec)
    if isinstance(spec, Mapping):
        if "file" in spec:
            return go_string((HERE / "testdata" / spec["file"]).read_bytes())
        if "oaep_encrypt" in spec:
            return _oaep_encrypt(spec["oaep_encrypt"])
        if "rsa_key" in spec:
            return _rsa_key_pem(spec["rsa_key"])
        return {k: value(v) for k, v in spec.items()}
    return spec


def _renderer(delims: list[str] | None) -> Any:
    left, right = delims or ("{{", "}}")

    def render(text: str, context: Mapping[str, Any], name: str) -> str:
        from gocompat.template import eso_context

        return Template(text, name=name, delims=(left, right)).execute(eso_context(dict(context)))

    return render


def _new_object(case: Mapping[str, Any]) -> dict[str, Any]:
    if "object" in case:
        return copy.deepcopy(case["object"])
    return {"kind": "Secret", "metadata": {"labels": {}, "annotations": {}}, "data": {}}


def _check(obj: Mapping[str, Any], expect: Mapping[str, Any]) -> None:
    meta = obj.get("metadata") or {}
    for field, want in expect.items():
        got = meta.get(field) if field in ("labels", "annotations") else obj.get(field)
        if want is None:
            assert not got, f"{field} should be empty, is {got!r}"
        elif field == "data" and obj.get("kind", "Secret") == "Secret":
            assert got == {k: go_bytes(value(v)) for k, v in want.items()}
        else:
            assert got == want


@pytest.mark.parametrize("case", CASES["execute"], ids=[c["name"] for c in CASES["execute"]])
def test_eso_execute_case(case: Mapping[str, Any]) -> None:
    render = _renderer(case.get("delims"))
    data = {k: go_bytes(value(v)) for k, v in (case.get("data") or {}).items()}
    obj = _new_object(case)
    snapshot: dict[str, Any] | None = None
    for round_ in range(int(case.get("repeat", 1))):
        for step in case["steps"]:
            templates = step["templates"]
            templates = None if templates is None else {k: value(v) for k, v in templates.items()}
            run = functools.partial(
                execute,
                templates,
                data,
                step.get("scope", "Values"),
                step["target"],
                obj,
                render,
                step.get("decoding"),
            )
            if "error" in step:
                with pytest.raises(ResolveError, match=None) as caught:
                    run()
                assert step["error"] in str(caught.value)
            else:
                run()
        if round_ == 0:
            snapshot = copy.deepcopy(obj)
        else:
            assert obj == snapshot, f"apply #{round_ + 1} diverged from the first apply"
    _check(obj, case.get("expect") or {})


@pytest.mark.parametrize("case", CASES["functions"], ids=[c["name"] for c in CASES["functions"]])
def test_eso_function_case(case: Mapping[str, Any]) -> None:
    if "absent" in case:
        assert case["absent"] not in FUNCS
        return
    fn = FUNCS[case["call"]].fn
    args = [value(arg) for arg in case["args"]]
    if "error" in case:
        with pytest.raises(Exception) as caught:  # ESO's cases name only some messages
            fn(*args)
        if isinstance(case["error"], str):
            assert case["error"] in str(caught.value)
        return
    got = fn(*args)
    if "want_list" in case:
        assert list(got) == case["want_list"]
    else:
        assert got == value(case["want"])


@pytest.mark.parametrize("case", CASES["try_parse_yaml"], ids=[c["name"] for c in CASES["try_parse_yaml"]])
def test_eso_try_parse_yaml_case(case: Mapping[str, Any]) -> None:
    if "input_bytes" in case:
        raw = case["input_bytes"].encode()
        assert try_parse_yaml(raw) == case["want_bytes"].encode()
        return
    assert try_parse_yaml(case["input"]) == case["want"]


def test_every_eso_template_test_is_ported_or_listed_with_a_reason() -> None:
    names = [c["name"] for section in ("execute", "functions", "try_parse_yaml") for c in CASES[section]]
    assert len(names) == len(set(names))
    for skipped in CASES["not_applicable"]:
        assert skipped["reason"].strip() and skipped["name"] not in names
