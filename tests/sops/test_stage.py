"""The ``sops`` render stage, instantiated directly with a real StageContext."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from core_sync.stages import Stage, StageContext
from sops_plugin.stage import SopsStage

from .conftest import AgeKey, Sops
from .samples import YAML

CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "plain", "namespace": "ns"},
    "data": {"a": "b"},
}


def encrypted_objects(tmp_path: Path, sops_bin: Sops, key: AgeKey, source: bytes = YAML) -> tuple[dict, dict]:
    (tmp_path / "s.yaml").write_bytes(source)
    enc = sops_bin.ok(
        "encrypt", "--age", key.recipient, "--encrypted-regex", "^(data|stringData)$", "s.yaml", cwd=tmp_path
    )
    # sops' JSON output carries Go's types (PyYAML would read 1e+20 as a string).
    plain = json.loads(
        sops_bin.ok(
            "decrypt",
            "--input-type",
            "yaml",
            "--output-type",
            "json",
            "/dev/stdin",
            key_file=key.file,
            stdin=enc,
        )
    )
    return yaml.safe_load(enc), plain


def context(secret: dict[str, bytes] | None) -> StageContext:
    def read(name: str) -> dict[str, bytes]:
        assert name == "sops-age"
        if secret is None:
            raise LookupError(name)
        return secret

    return StageContext(
        namespace="apps", decryption={"sops": {"secretRef": {"name": "sops-age"}}}, read_secret=read
    )


def test_stage_decrypts_any_kind_in_memory(tmp_path: Path, sops_bin: Sops, key1: AgeKey) -> None:
    enc, plain = encrypted_objects(tmp_path, sops_bin, key1)
    custom, custom_plain = encrypted_objects(
        tmp_path, sops_bin, key1, YAML.replace(b"kind: Secret", b"kind: Whatever")
    )
    stage = SopsStage()
    assert isinstance(stage, Stage) and stage.name == "sops"
    result = stage.render([CONFIGMAP, enc, custom], context({"age.agekey": key1.file.read_bytes()}))
    assert result.errors == []
    assert result.objects[0] is CONFIGMAP
    assert result.objects[1] == plain
    assert result.objects[2] == custom_plain and custom_plain["kind"] == "Whatever"


def test_stage_reports_failures_per_object(
    tmp_path: Path, sops_bin: Sops, key1: AgeKey, key2: AgeKey
) -> None:
    enc, _ = encrypted_objects(tmp_path, sops_bin, key1)
    stage = SopsStage()
    wrong = stage.render([enc], context({"age.agekey": key2.file.read_bytes()}))
    assert len(wrong.errors) == 1 and wrong.objects == []
    err = wrong.errors[0]
    assert (
        err.object == "Secret/ns/demo"
        and err.reason == "DecryptFailed"
        and "no identity matched" in err.message
    )

    tampered = dict(enc, metadata={"name": "demo", "namespace": "elsewhere"})
    mac = stage.render([tampered], context({"age.agekey": key1.file.read_bytes()}))
    assert "MAC mismatch" in mac.errors[0].message and "hunter2" not in mac.errors[0].message

    for secret, text in ((None, "cannot read"), ({"other": b"x"}, "no *.agekey")):
        missing = stage.render([enc], context(secret))
        assert text in missing.errors[0].message
    no_ref = stage.render([enc], StageContext(namespace="apps"))
    assert "secretRef" in no_ref.errors[0].message
    assert stage.render([CONFIGMAP], StageContext(namespace="apps")).objects == [CONFIGMAP]
