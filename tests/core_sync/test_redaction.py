"""The one sanitiser for tool and server text: known secret values in every spelling, one capped line."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from core_sync.engine import SyncFailed, render_directory
from core_sync.kustomize_secrets import generator_secrets
from core_sync.redaction import MAX_MESSAGE_LEN, REDACTED, Redactor, one_line, secret_values
from core_sync.stages import Diagnostic, KubeObject, StageContext, StageResult
from tests.core_sync.test_engine_cli import lockstep

SECRET = "Pa55-w0rd/with+slashes"


@pytest.mark.parametrize(
    "spelling",
    [
        SECRET,
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
        json.dumps(SECRET + '"quoted"')[1:-1],
    ],
)
def test_every_spelling_of_a_known_value_is_redacted(spelling: str) -> None:
    redactor = Redactor([SECRET, SECRET + '"quoted"'])
    text = redactor.redact(f'invalid value "{spelling}" in field x')
    assert spelling not in text and REDACTED in text
    assert text.startswith("invalid value") and text.endswith("in field x")


def test_each_line_of_a_multi_line_value_is_redacted() -> None:
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END KEY-----\n"
    text = Redactor([key]).redact("could not parse MIIEvQIBADANBgkqhkiG9w0B at line 2")
    assert "MIIEvQ" not in text


def test_short_values_are_not_redacted_and_messages_stay_readable() -> None:
    assert Redactor(["on", "1"]).redact("replicas 1 is on") == "replicas 1 is on"


def test_one_line_flattens_strips_control_characters_and_caps() -> None:
    assert one_line("a\nb\r\n\tc\x1b[31m") == "a b c[31m"
    long = one_line("x" * 10 * MAX_MESSAGE_LEN)
    assert len(long) == MAX_MESSAGE_LEN and long.endswith("(truncated)")


def test_secret_values_of_secrets_and_of_secret_bearing_objects() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"a": base64.b64encode(b"from-data").decode()},
        "stringData": {"b": "from-string-data"},
    }
    assert set(secret_values(secret, secret_bearing=False)) == {b"from-data", b"from-string-data"}
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "labels": {"tier": "label-secret"}},
        "data": {"token": "decrypted-token", "n": 12345},
    }
    assert secret_values(config, secret_bearing=False) == []
    found = set(secret_values(config, secret_bearing=True))
    assert {b"decrypted-token", b"12345", b"label-secret"} <= found
    assert b"settings" not in found and b"ConfigMap" not in found


def test_kustomize_echoing_a_generator_literal_is_redacted(tmp_path: Path) -> None:
    """kubectl kustomize repeats a malformed literal verbatim in its error; the user sees no secret."""
    literal = "password:Sup3r-S3cret-Value"
    (tmp_path / "kustomization.yaml").write_text(
        f"secretGenerator:\n- name: db\n  literals:\n  - {json.dumps(literal)}\n"
    )
    result = lockstep("render", str(tmp_path), "--offline")
    assert result.returncode == 1 and result.stdout == ""
    assert "kubectl kustomize failed" in result.stderr and REDACTED in result.stderr
    assert "Sup3r-S3cret-Value" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_generator_secrets_reads_literals_and_env_files_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "outside.env").write_text("LEAK=outside-the-root\n")
    root = tmp_path / "repo"
    (root / "base").mkdir(parents=True)
    (root / "base" / "kustomization.yaml").write_text(
        "secretGenerator:\n- name: a\n  literals: [user=admin-user, token=t0ken-value]\n"
        "  envs: [db.env, ../../outside.env]\n"
    )
    (root / "base" / "db.env").write_text("DB_PASSWORD=env-secret-value\n")
    found = generator_secrets(root)
    assert {"admin-user", "t0ken-value", "env-secret-value", "user=admin-user"} <= set(found)
    assert not any("outside-the-root" in value for value in found)


class _FailingStage:
    """A stage that produces a decrypted object, then fails quoting the value (as a careless tool does)."""

    name = "sops"

    def render(self, objects: list[KubeObject], context: StageContext) -> StageResult:
        produced = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "decrypted"},
            "data": {"token": "stage-produced-secret"},
        }
        problem = Diagnostic("error", "ConfigMap/x", "saw stage-produced-secret and plain-git-secret")
        return StageResult([*objects, produced], [problem], {id(produced)})


def test_a_stage_error_quoting_a_secret_is_redacted(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  p: plain-git-secret\n"
    )
    with pytest.raises(SyncFailed) as failed:
        render_directory(tmp_path, StageContext(namespace="default"), stages=[_FailingStage()])
    assert "stage-produced-secret" not in failed.value.message
    assert "plain-git-secret" not in failed.value.message
    assert failed.value.message.count(REDACTED) == 2
