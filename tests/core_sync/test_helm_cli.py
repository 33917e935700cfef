"""`lockstep render/diff/sync` on a path holding a Helm chart, with the real helm and (where the commands
use them) the real API server and a real Git server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyrage
import pytest
import yaml

from core_sync.helm_settings import HelmParameter, HelmSettings, from_spec
from core_sync.testing import ControlPlane, GitServer
from tests.core_sync.conftest import live, run_cli
from tests.core_sync.helm_charts import chart_files, encrypted_values, helm_env, no_files_written, write_chart


def _repo(tmp_path: Path) -> Path:
    """A Git work tree holding the chart in ``web/`` (the source root the CLI confines reads to)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    write_chart(repo / "web")
    return repo


def _encrypted_repo(tmp_path: Path, plain_values: str) -> tuple[Path, pyrage.x25519.Identity]:
    """The chart's repository plus ``secrets.enc.yaml``: ``plain_values`` encrypted by the real sops."""
    repo = _repo(tmp_path)
    identity = pyrage.x25519.Identity.generate()
    encrypted = encrypted_values(tmp_path, str(identity.to_public()), plain_values)
    (repo / "secrets.enc.yaml").write_text(encrypted)
    return repo, identity


def _docs(stdout: str) -> dict[str, dict]:  # type: ignore[type-arg]
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in yaml.safe_load_all(stdout) if d}


def test_render_chart_with_vendored_dependency_crds_and_values_files(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "prod.yaml").write_text("greeting: bonjour\nreplicas: 3\nsub: {color: green}\n")
    (repo / "override.yaml").write_text("greeting: salut\n")
    result = run_cli(
        "render", str(repo / "web"), "--offline", "-n", "shop", "--release-name", "shop",
        "--values", str(repo / "prod.yaml"), "--values", str(repo / "override.yaml"),
        "--kube-version", "v1.30.2",
        env=helm_env(dict(os.environ)),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    docs = _docs(result.stdout)
    assert set(docs) == {
        "CustomResourceDefinition/widgets.demo.lockstep.dev",  # --include-crds
        "ConfigMap/shop-config",
        "ConfigMap/shop-extra",
        "ConfigMap/shop-sub",  # the dependency vendored in charts/
        "Secret/shop-db",
    }
    config = docs["ConfigMap/shop-config"]["data"]
    # later files win, values merge with the chart's values.yaml, the release is placed in the namespace
    assert config == {
        "greeting": "salut",
        "kube": "v1.30.2",
        "namespace": "shop",
        "replicas": "3",
        "lockstepApi": "false",  # no cluster: helm's own API versions only
    }
    assert docs["ConfigMap/shop-sub"]["data"] == {"color": "green"}
    assert docs["Secret/shop-db"]["stringData"]["password"] == "++++++++"  # masked unless --show-secrets


def test_encrypted_values_are_decrypted_in_memory_only(tmp_path: Path) -> None:
    secret = "s3cr3t-from-sops-values"
    repo, identity = _encrypted_repo(tmp_path, f"db:\n  password: {secret}\ngreeting: hi\n")
    assert secret not in (repo / "secrets.enc.yaml").read_text()
    # the config map quotes the secret too: it is then masked like the Secret
    (repo / "web/templates/leak.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n"
        '  dsn: {{ printf "postgres://app:%s@db" .Values.db.password | quote }}\n'
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**helm_env(dict(os.environ)), "SOPS_AGE_KEY": str(identity), "TMPDIR": str(temp)}
    argv = ["render", str(repo / "web"), "--offline", "--values", str(repo / "secrets.enc.yaml")]
    with no_files_written(temp, repo) as written:
        shown = run_cli(*argv, "--show-secrets", env=env)
        masked = run_cli(*argv, env=env)
    assert shown.returncode == 0, shown.stderr
    assert masked.returncode == 0, masked.stderr
    assert written == []  # neither a temp file nor anything in the checkout, not even for a moment
    assert _docs(shown.stdout)["Secret/web-db"]["stringData"]["password"] == secret
    assert _docs(shown.stdout)["ConfigMap/web-config"]["data"]["greeting"] == "hi"
    assert secret not in masked.stdout
    assert _docs(masked.stdout)["ConfigMap/leak"]["data"]["dsn"].startswith("+")
    assert _docs(masked.stdout)["ConfigMap/web-extra"]["data"]["kept"] == "until the template is removed"

    wrong = {**env, "SOPS_AGE_KEY": str(pyrage.x25519.Identity.generate())}
    refused = run_cli(*argv, env=wrong)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "DecryptFailed" in refused.stderr and "secrets.enc.yaml" in refused.stderr, refused.stderr


def test_helm_errors_name_the_chart_and_never_show_decrypted_values(tmp_path: Path) -> None:
    secret = "do-not-print-this-value"
    repo, identity = _encrypted_repo(tmp_path, f"db:\n  password: {secret}\n")
    check = '{{ fail (printf "weak password %s" .Values.db.password) }}\n'
    (repo / "web/templates/check.yaml").write_text(check)
    env = {**helm_env(dict(os.environ)), "SOPS_AGE_KEY": str(identity)}
    result = run_cli(
        "render", str(repo / "web"), "--offline", "--values", str(repo / "secrets.enc.yaml"), env=env
    )
    assert result.returncode == 1 and result.stdout == ""
    assert secret not in result.stderr and "[REDACTED]" in result.stderr, result.stderr
    assert "web/Chart.yaml" in result.stderr and "helm template failed" in result.stderr
    assert "check.yaml" in result.stderr and "Traceback" not in result.stderr


def test_reads_outside_the_source_root_are_refused(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    outside = tmp_path / "outside.yaml"
    outside.write_text("greeting: from-the-host\n")
    env = helm_env(dict(os.environ))
    render = ["render", str(repo / "web"), "--offline"]
    escaped = run_cli(*render, "--values", str(outside), env=env)
    assert escaped.returncode == 1 and "outside the repository" in escaped.stderr, escaped.stderr
    (repo / "link.yaml").symlink_to(outside)
    linked = run_cli(*render, "--values", str(repo / "link.yaml"), env=env)
    assert linked.returncode == 1 and "link.yaml" in linked.stderr and "outside" in linked.stderr
    (repo / "link.yaml").unlink()
    # helm loads hidden files too (.Files.Get): a hidden symlink out of the repository is refused
    (repo / "web/.hostfile").symlink_to(outside)
    hidden = run_cli(*render, env=env)
    assert hidden.returncode == 1 and "web/.hostfile" in hidden.stderr, hidden.stderr
    (repo / "web/.hostfile").unlink()
    # a symlinked directory inside the repository is followed: what it holds is checked as well
    other = repo / "other"
    other.mkdir()
    (other / "escape.yaml").symlink_to("/etc/hostname")
    (repo / "web/templates/shared").symlink_to("../../other")
    followed = run_cli(*render, env=env)
    assert followed.returncode == 1 and "other/escape.yaml" in followed.stderr, followed.stderr
    assert "from-the-host" not in escaped.stdout + linked.stdout + hidden.stdout + followed.stdout


def test_missing_helm_is_a_clear_error(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "LOCKSTEP_HELM"}
    env["PATH"] = str(tmp_path / "empty-bin")
    result = subprocess.run(
        [sys.executable, "-m", "core_sync.cli", "render", str(repo / "web"), "--offline"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1 and result.stdout == ""
    assert "helm: not found beside" in result.stderr and "a Helm chart needs it" in result.stderr, (
        result.stderr
    )
    assert "--helm PATH" in result.stderr
    assert "Traceback" not in result.stderr
    named = run_cli("render", str(repo / "web"), "--offline", "--helm", str(tmp_path / "nope"), env=env)
    assert named.returncode == 1 and f"--helm={tmp_path / 'nope'} does not exist" in named.stderr


def test_values_flag_outside_a_chart_and_bad_flags_are_refused(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "plain").mkdir()
    (repo / "plain/cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (repo / "v.yaml").write_text("a: b\n")
    env = helm_env(dict(os.environ))
    plain = run_cli("render", str(repo / "plain"), "--offline", "--values", str(repo / "v.yaml"), env=env)
    assert plain.returncode == 1 and "no Chart.yaml" in plain.stderr, plain.stderr
    bad = run_cli("render", str(repo / "web"), "--offline", "--release-name", "Not_Valid", env=env)
    assert bad.returncode == 2 and "--release-name 'Not_Valid'" in bad.stderr
    version = run_cli("render", str(repo / "web"), "--offline", "--kube-version", "latest", env=env)
    assert version.returncode == 2 and "--kube-version 'latest'" in version.stderr


def test_cli_values_on_sync_and_diff_against_the_cluster(
    control_plane: ControlPlane, namespace: str, git_server: GitServer, tmp_path: Path
) -> None:
    env = {**helm_env(control_plane.env()), "LOCKSTEP_CACHE": str(tmp_path / "cache")}
    files = {**chart_files("deploy/web/", crds=False), "deploy/prod.yaml": "greeting: prod\n"}
    url = git_server.create_repo("helm-cli", files)
    sync = ["sync", "--repo", url, "--path", "deploy/web", "-n", namespace, "--name", "web", "--prune"]
    first = run_cli(*sync, "--values", "../prod.yaml", env=env)
    assert first.returncode == 0, first.stderr
    assert "4 created" in first.stdout
    config = live(control_plane.client, f"/api/v1/namespaces/{namespace}/configmaps/web-config")
    assert config is not None
    server_version = control_plane.client.get("/version")["gitVersion"]
    assert config["data"] == {
        "greeting": "prod",
        "kube": server_version,  # --kube-version from the destination's API server
        "namespace": namespace,
        "replicas": "1",
        "lockstepApi": "true",  # --api-versions: what the API server serves, CRDs included
    }
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", url, str(checkout)], check=True)
    diff = ["diff", str(checkout / "deploy/web"), "-n", namespace, "--app", f"{namespace}/web"]
    clean = run_cli(*diff, "--values", str(checkout / "deploy/prod.yaml"), env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    changed = run_cli(*diff, env=env)  # without the prod values the greeting goes back to the default
    assert changed.returncode == 1 and "hello" in changed.stdout, changed.stdout + changed.stderr
    escaping = run_cli(*sync, "--values", "https://example.invalid/values.yaml", env=env)
    assert escaping.returncode == 2 and "remote values files are not supported" in escaping.stderr
    outside = run_cli(*sync, "--values", "../../../../etc/hostname", env=env)
    assert outside.returncode == 1 and "outside the repository" in outside.stderr, outside.stderr


def test_spec_parsing_refuses_bad_fields_with_their_name() -> None:
    settings = from_spec(
        {
            "releaseName": "shop",
            "valueFiles": ["a.yaml"],
            "values": "a: 1",
            "valuesObject": {"b": 2},
            "parameters": [{"name": "c", "value": "x,y", "forceString": True}],
            "skipCrds": True,
        },
        "app",
    )
    assert settings is not None
    assert settings.values_files == ("a.yaml",) and settings.inline_values == ("a: 1", '{"b": 2}')
    assert settings.parameters == (HelmParameter("c", "x,y", True),)
    args = settings.arguments("chart", "ns", ["/dev/fd/5"])
    assert "--include-crds" not in args and args[-2:] == ["--set-string", "c=x\\,y"]
    assert from_spec(None, "app") is None
    for bad, field in [
        ({"valuesFiles": ["a"], "valueFiles": ["b"]}, "not both"),
        ({"valuesFiles": ["/etc/passwd"]}, "valuesFiles: '/etc/passwd'"),
        ({"valuesFiles": ["https://x/y.yaml"]}, "remote values files"),
        ({"values": {"a": 1}}, "spec.source.helm.values must be a string"),
        ({"releaseName": "UPPER"}, "spec.source.helm.releaseName 'UPPER'"),
        ({"parameters": [{"value": "x"}]}, "parameters[0] needs a name"),
        ({"kubeVersion": "new"}, "spec.source.helm.kubeVersion 'new'"),
        ({"skipCrds": "yes"}, "skipCrds must be true or false"),
    ]:
        with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
            from_spec(bad, "app")


def test_helm_output_obeys_the_parser_limits(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    env = helm_env(dict(os.environ))
    render = ["render", str(repo / "web"), "--offline"]
    deep = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  x: " + "[" * 300 + "]" * 300
    (repo / "web/templates/deep.yaml").write_text(deep + "\n")
    nested = run_cli(*render, env=env)
    assert nested.returncode == 1 and "web/templates/deep.yaml" in nested.stderr, nested.stderr
    assert "nesting deeper than 256 levels" in nested.stderr
    (repo / "web/templates/deep.yaml").unlink()
    # a chart that prints more than the file limit is stopped, not buffered
    (repo / "web/templates/huge.yaml").write_text(
        "{{- range $i := until 200 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{{ $i }}\n"
        'data:\n  pad: {{ repeat 100000 "x" | quote }}\n{{- end }}\n'
    )
    huge = run_cli(*render, env=env)
    assert huge.returncode == 1 and "printed more than 16777216 bytes" in huge.stderr, huge.stderr[-500:]
    (repo / "web/templates/huge.yaml").unlink()
    # a values file that is a FIFO cannot block the render; helm errors map pipes back to file names
    os.mkfifo(repo / "fifo.yaml")
    fifo = run_cli(*render, "--values", str(repo / "fifo.yaml"), env=env)
    assert fifo.returncode == 1 and "fifo.yaml: is a FIFO" in fifo.stderr, fifo.stderr
    (repo / "fifo.yaml").unlink()
    (repo / "good.yaml").write_text("greeting: fine\n")
    (repo / "bad.yaml").write_text("greeting: [unclosed\n")
    invalid = run_cli(
        *render, "--values", str(repo / "good.yaml"), "--values", str(repo / "bad.yaml"), env=env
    )
    assert invalid.returncode == 1 and "/dev/fd/" not in invalid.stderr, invalid.stderr
    assert "bad.yaml" in invalid.stderr and "good.yaml" not in invalid.stderr


def test_a_chart_that_exhausts_memory_or_time_is_stopped(
    control_plane: ControlPlane, namespace: str, git_server: GitServer, tmp_path: Path
) -> None:
    repo = _repo(tmp_path)
    env = helm_env(dict(os.environ))
    (repo / "web/templates/memory.yaml").write_text("{{- range $i := until 400000000 }}{{- end }}\n")
    memory = run_cli("render", str(repo / "web"), "--offline", env=env)
    assert memory.returncode == 1, memory.stderr
    assert "helm template ran out of memory (limit 2 GiB)" in memory.stderr, memory.stderr[-500:]
    # a long loop (10^10 steps) in little memory: the sync's deadline stops helm, nothing is applied
    loop = "{{- $l := list 1 2 3 4 5 6 7 8 9 10 }}" + "{{- range $l }}" * 10 + "{{- end }}" * 10
    files = {**chart_files("deploy/web/", crds=False), "deploy/web/templates/slow.yaml": loop}
    url = git_server.create_repo("helm-slow", files)
    cli_env = {**helm_env(control_plane.env()), "LOCKSTEP_CACHE": str(tmp_path / "cache")}
    slow = run_cli(
        "sync", "--repo", url, "--path", "deploy/web", "-n", namespace, "--timeout", "3s", env=cli_env
    )
    assert slow.returncode == 1 and "did not finish within" in slow.stderr, slow.stderr
    assert live(control_plane.client, f"/api/v1/namespaces/{namespace}/configmaps/cli-config") is None


def test_encrypted_values_without_a_decrypting_stage_are_refused_not_passed_as_ciphertext(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core_sync.engine import SyncFailed, render_directory
    from core_sync.stages import StageContext

    repo, _ = _encrypted_repo(tmp_path, "db:\n  password: never-as-ciphertext\n")
    monkeypatch.setenv("LOCKSTEP_HELM", str(helm_env({})["LOCKSTEP_HELM"]))
    settings = HelmSettings("web", values_files=(str(repo / "secrets.enc.yaml"),))
    with pytest.raises(SyncFailed) as failed:
        render_directory(repo / "web", StageContext(namespace="default"), stages=[], helm=settings)
    assert failed.value.reason == "DecryptFailed"
    assert "secrets.enc.yaml: is SOPS-encrypted but no render stage decrypts" in failed.value.message
