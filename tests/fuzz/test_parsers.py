"""Fuzzing every parser that reads user files: each either returns or raises its module's declared error.

Anything else (KeyError, TypeError, RecursionError, a hang) is a traceback waiting for a user, so it fails
here. The budget is fixed (see ``bounds``); the token soups are in ``strategies``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.bounds import FUZZ, bounded
from tests.fuzz.strategies import ini_dotenv_bytes, json_bytes, json_values, sealed_objects, yaml_text


@FUZZ
@given(text=yaml_text())
def test_sealed_fast_yaml_returns_documents_or_declines(text: str) -> None:
    """sealed's fast reader has no error type: it answers or declines (None) and PyYAML takes over."""
    from gocompat.yaml.v2 import reader

    with bounded():
        result = reader.read(text)
    assert result is None or isinstance(result, list)


@FUZZ
@given(data=st.one_of(yaml_text().map(lambda s: s.encode("utf-8", "surrogatepass")), json_bytes()))
def test_sealed_document_splitting_raises_only_format_error(data: bytes) -> None:
    from sealed.format.documents import load_documents
    from sealed.format.errors import FormatError

    with bounded():
        try:
            documents = load_documents(data)
        except FormatError as error:
            assert str(error)
            return
    assert isinstance(documents, list)


@FUZZ
@given(text=yaml_text())
def test_sops_fast_yaml_answers_or_declines(text: str) -> None:
    from gocompat.yaml.v3 import reader

    with bounded(), contextlib.suppress(reader.Unsupported):
        reader.load_documents(text)


@FUZZ
@given(text=yaml_text())
def test_sops_yaml_reader_raises_only_yaml_error(text: str) -> None:
    from sops_plugin.format.document import load_yaml
    from sops_plugin.format.yaml_load import YamlError

    with bounded():
        try:
            load_yaml(text)
        except YamlError as error:
            assert str(error)


@FUZZ
@given(data=json_bytes())
def test_sops_json_store_raises_only_json_error(data: bytes) -> None:
    from sops_plugin.format import json_store

    with bounded():
        try:
            json_store.load(data)
        except json_store.JsonError as error:
            assert str(error)


@FUZZ
@given(data=ini_dotenv_bytes())
def test_sops_dotenv_store_raises_only_dotenv_error(data: bytes) -> None:
    from sops_plugin.format import dotenv_store

    with bounded():
        try:
            dotenv_store.split_metadata(dotenv_store.load(data))
        except dotenv_store.DotenvError as error:
            assert str(error)


@FUZZ
@given(data=ini_dotenv_bytes())
def test_sops_ini_store_raises_only_ini_error(data: bytes) -> None:
    from sops_plugin.format import ini_store

    with bounded():
        try:
            ini_store.split_metadata(ini_store.load(data))
        except ini_store.IniError as error:
            assert str(error)


@FUZZ
@given(
    data=st.one_of(
        yaml_text().map(lambda s: s.encode("utf-8", "surrogatepass")), json_bytes(), ini_dotenv_bytes()
    ),
    fmt=st.sampled_from(["yaml", "json", "dotenv", "ini", "binary"]),
)
def test_sops_documents_raise_only_sops_error(data: bytes, fmt: str) -> None:
    """Whole-file parsing, plaintext and encrypted, in every store: the CLI's exit codes come from here."""
    from sops_plugin.errors import SopsError
    from sops_plugin.format.document import parse_encrypted, parse_plain

    for parse in (parse_plain, parse_encrypted):
        with bounded():
            try:
                parse(data, fmt)
            except SopsError as error:
                assert str(error) and error.exit_code > 0


@FUZZ
@given(raw=json_values())
def test_sops_metadata_raises_only_sops_error(raw: Any) -> None:
    from sops_plugin.errors import SopsError
    from sops_plugin.format.metadata import from_plain

    with bounded():
        try:
            from_plain(raw)
        except SopsError as error:
            assert str(error)


@FUZZ
@given(raw=json_values())
def test_sops_metadata_inside_a_document_raises_only_sops_error(raw: Any) -> None:
    """The ``sops`` block as a file carries it: every key of metadata reachable from a real document."""
    import json

    from sops_plugin.errors import SopsError
    from sops_plugin.format.document import parse_encrypted

    data = json.dumps({"data": "ENC[AES256_GCM,data:eA==,iv:,tag:,type:str]", "sops": raw}).encode()
    with bounded():
        try:
            parse_encrypted(data, "json")
        except SopsError as error:
            assert str(error)


@FUZZ
@given(obj=sealed_objects())
def test_sealed_secret_conversion_raises_only_format_error(obj: Any) -> None:
    """Validating and opening arbitrary SealedSecret-shaped objects (no key opens them: the error path)."""
    from sealed.format.convert import parse_secret, sealed_parts, unseal
    from sealed.format.errors import FormatError

    for convert in (sealed_parts, lambda o: unseal(o, []), parse_secret):
        with bounded():
            try:
                convert(obj)
            except FormatError as error:
                assert str(error)


@FUZZ
@given(obj=json_values())
def test_secret_to_seal_raises_only_format_error(obj: Any) -> None:
    from sealed.format.convert import SealOptions, parse_secret, seal
    from sealed.format.errors import FormatError

    def encrypt(plaintext: bytes, label: bytes) -> bytes:
        return b"\x00\x02" + label + plaintext

    secret = obj if not isinstance(obj, dict) else {"apiVersion": "v1", "kind": "Secret", **obj}
    with bounded():
        try:
            seal(parse_secret(secret), encrypt, SealOptions())
        except FormatError as error:
            assert str(error)


@FUZZ
@given(path=st.text(max_size=30), document=json_values())
def test_gjson_raises_only_path_error(path: str, document: Any) -> None:
    from external_secrets import gjson

    with bounded():
        try:
            found, value = gjson.get(document, path)
            if found:
                gjson.to_bytes(value)
        except gjson.PathError as error:
            assert str(error)


@FUZZ
@given(
    text=st.one_of(
        st.text(max_size=20),
        st.lists(
            st.sampled_from(["1", "1.5", ".5", "h", "m", "s", "ms", "µs", "ns", "-", "+", "0", " "])
        ).map("".join),
    )
)
def test_duration_raises_only_value_error(text: str) -> None:
    from gocompat.duration import parse_lenient

    with bounded():
        try:
            seconds = parse_lenient(text)
        except ValueError as error:
            assert text in str(error) or repr(text) in str(error)
            return
    assert isinstance(seconds, float)


@FUZZ
@given(data=json_values())
def test_kubeconfig_raises_only_kubeconfig_error(data: Any) -> None:
    from core_sync.kube.config import KubeConfig, KubeConfigError

    with bounded():
        try:
            KubeConfig.from_dict(data, source="fuzz-kubeconfig")
        except KubeConfigError as error:
            assert "fuzz-kubeconfig" in str(error)


@FUZZ
@given(
    files=st.lists(
        st.tuples(
            st.sampled_from(["a.yaml", "b.yml", "c.json", "d/e.yaml", "f.txt", "kustomization.yaml"]),
            st.one_of(yaml_text().map(lambda s: s.encode("utf-8", "surrogatepass")), json_bytes()),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_build_of_a_yaml_dir_raises_only_build_error(
    files: list[tuple[str, bytes]], tmp_path_factory: Any
) -> None:
    """``core_sync.build`` over directories of hostile files (kustomizations left out: they run kubectl)."""
    from core_sync.build import BuildError, build

    root: Path = tmp_path_factory.mktemp("build")
    for name, data in files:
        if name == "kustomization.yaml":
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    with bounded(5):
        try:
            build(root)
        except BuildError as error:
            assert str(error)
