"""The one sanitiser for tool and server text: known secret values in every spelling, one capped line."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pyrage
import pytest

from core_sync.engine import SyncFailed, render_directory
from core_sync.kustomize_secrets import generator_secrets
from core_sync.redaction import MAX_MESSAGE_LEN, REDACTED, Redactor, one_line, secret_values
from core_sync.stages import Diagnostic, KubeObject, Pipeline, StageContext, StageResult
from core_sync.testing import ControlPlane, GitServer
from core_sync.testing.oracles import sops_encrypt
from core_sync.testing.processes import free_port
from tests.core_sync.conftest import Apps, Operator, live, wait_for
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


def test_credentials_in_urls_never_reach_a_message() -> None:
    text = one_line("fatal: could not read https://deploy:gh-t0ken@git.example/r.git and ssh://u@h/x")
    assert "gh-t0ken" not in text and "deploy:" not in text
    assert f"https://{REDACTED}@git.example/r.git" in text and f"ssh://{REDACTED}@h/x" in text


def test_sync_with_credentials_in_the_repo_url_does_not_print_them(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    url = f"http://deploy:gh-t0ken-value@127.0.0.1:{free_port()}/app.git"
    env = {**control_plane.env(), "LOCKSTEP_CACHE": str(tmp_path / "cache")}
    result = lockstep("sync", "--repo", url, "-n", "default", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "gh-t0ken-value" not in result.stderr and "127.0.0.1" in result.stderr, result.stderr


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


class _Decrypting:
    name = "sops"

    def render(self, objects: list[KubeObject], context: StageContext) -> StageResult:
        out = [{**o, "data": {"token": "now-plaintext"}} for o in objects]
        return StageResult(out, secret_ids={id(o) for o in out})


class _Copying:
    """A plugin stage that returns copies: the marks must follow the objects anyway."""

    name = "zz-plugin"

    def render(self, objects: list[KubeObject], context: StageContext) -> StageResult:
        return StageResult([copy.deepcopy(o) for o in objects])


def test_secret_marks_survive_a_later_stage_that_copies_objects() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"token": "x"}}
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain"}, "data": {"a": "b"}}
    result = Pipeline([_Decrypting()]).run([config], StageContext(namespace="default"))
    copied = Pipeline([_Decrypting(), _Copying()]).run([config], StageContext(namespace="default"))
    assert len(result.secret_ids) == 1 and {id(o) for o in copied.objects} == copied.secret_ids
    untouched = Pipeline([_Copying()]).run([other], StageContext(namespace="default"))
    assert untouched.secret_ids == set()


def _leaky_repo(tmp_path: Path, identity: pyrage.x25519.Identity) -> str:
    """A SOPS-encrypted ConfigMap whose decrypted label value the API server will refuse and repeat."""
    plain = tmp_path / "cm.yaml"
    plain.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaky\n  labels:\n"
        "    tier: 'Sekrit Label Value!!'\ndata:\n  token: decrypted-token\n"
    )
    encrypted = sops_encrypt(plain, str(identity.to_public()), encrypted_regex="^(labels|data)$")
    assert "Sekrit" not in encrypted
    return encrypted


def test_an_api_server_error_echoing_a_decrypted_value_is_redacted(
    control_plane: ControlPlane, namespace: str, git_server: GitServer, tmp_path: Path
) -> None:
    """The API server repeats an invalid label value in its 422; that value came out of a SOPS file."""
    identity = pyrage.x25519.Identity.generate()
    encrypted = _leaky_repo(tmp_path, identity)
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "cm.yaml").write_text(encrypted)
    env = {**control_plane.env(), "SOPS_AGE_KEY": str(identity), "LOCKSTEP_CACHE": str(tmp_path / "c")}
    diff = lockstep("diff", str(deploy), "-n", namespace, env=env)
    url = git_server.create_repo("leaky", {"deploy/cm.yaml": encrypted})
    sync = lockstep("sync", "--repo", url, "--path", "deploy", "-n", namespace, env=env)
    for result in (diff, sync):
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert "ValidationFailed" in result.stderr and "labels" in result.stderr, result.stderr
        assert "Sekrit" not in result.stderr and REDACTED in result.stderr
    assert live(control_plane.client, f"/api/v1/namespaces/{namespace}/configmaps/leaky") is None


def test_the_operator_redacts_status_and_events(
    operator: Operator,
    apps: Apps,
    git_server: GitServer,
    age_identity: pyrage.x25519.Identity,
    tmp_path: Path,
) -> None:
    url = git_server.create_repo("leaky-app", {"deploy/cm.yaml": _leaky_repo(tmp_path, age_identity)})
    apps.create("leaky", url, interval="1h", decryption={"sops": {"secretRef": {"name": "sops-age"}}})
    failed = apps.wait_failed("leaky", timeout=60)
    assert failed["reason"] == "ValidationFailed" and REDACTED in failed["message"], failed
    assert "Sekrit" not in str(apps.get("leaky"))
    events = wait_for(lambda: apps.events("SyncFailed"), 30, "a SyncFailed event")
    assert all("Sekrit" not in event["message"] for event in events)
    assert any(REDACTED in event["message"] for event in events)
    assert "Sekrit" not in operator.log_path.read_text()
