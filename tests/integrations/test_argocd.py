"""The Argo CD plugin run exactly as Argo CD's cmp-server runs it.

The commands come from ``deploy/argocd/plugin.yaml`` itself; each runs with the app directory as its
working directory, the sidecar's environment plus the build environment the cmp-server adds
(``ARGOCD_APP_*``, ``ARGOCD_ENV_*``, ``ARGOCD_APP_PARAMETERS``, ``PARAM_*``, ``KUBE_VERSION``) and the
cmp-server's timeout. Secrets are encrypted by the real sops binary; SealedSecrets are opened by the real
kubeseal and, end to end, by Lockstep's controller on a real API server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from core_sync.testing import ControlPlane, kubeseal
from core_sync.testing.processes import free_port
from tests.integrations.conftest import (
    PASSWORD,
    TOKEN,
    CertServer,
    encrypt_in_place,
    sealed_secret_yaml,
    secret,
    write_yaml,
)
from tests.sealed.conftest import SealingKey
from tests.sops.conftest import AgeKey, Sops

ROOT = Path(__file__).parents[2]
PLUGIN = yaml.safe_load((ROOT / "deploy" / "argocd" / "plugin.yaml").read_text())
BIN = Path(sys.executable).parent
EXEC_TIMEOUT = 90  # the cmp-server's ARGOCD_EXEC_TIMEOUT default
APP_PATH = "apps/shop/overlays/prod"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def objects(self) -> list[dict[str, Any]]:
        docs = [d for d in yaml.safe_load_all(self.stdout) if d is not None]
        for doc in docs:  # what Argo CD's kube.SplitYAML accepts: objects with apiVersion, kind, metadata
            assert isinstance(doc, dict) and doc.get("apiVersion") and doc.get("kind") and doc.get("metadata")
        return docs


def cmp_env(repo: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The sidecar's environment (no secrets but those a test adds) plus the cmp-server's build variables."""
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(repo.parent / "home"),  # uid 999's home: no default age key file there
        "ARGOCD_APP_NAME": "shop",
        "ARGOCD_APP_NAMESPACE": "shop",
        "ARGOCD_APP_PROJECT_NAME": "default",
        "ARGOCD_APP_REVISION": "0123456789abcdef0123456789abcdef01234567",
        "ARGOCD_APP_REVISION_SHORT": "0123456",
        "ARGOCD_APP_SOURCE_PATH": APP_PATH,
        "ARGOCD_APP_SOURCE_REPO_URL": "https://git.example/shop.git",
        "ARGOCD_APP_SOURCE_TARGET_REVISION": "main",
        "KUBE_VERSION": "1.36.3",
        "KUBE_API_VERSIONS": "v1,apps/v1,bitnami.com/v1alpha1",
        "ARGOCD_ENV_TEAM": "payments",
        "ARGOCD_EXEC_TIMEOUT": f"{EXEC_TIMEOUT}s",
    }
    env.update(extra or {})
    return env


def run_cmp(step: str, app_dir: Path, env: dict[str, str], kill_after: float = EXEC_TIMEOUT) -> Run:
    """``generate`` or ``discover``'s command from plugin.yaml, as the cmp-server runs it (and kills it
    after ``kill_after`` seconds: its ARGOCD_EXEC_TIMEOUT)."""
    spec = PLUGIN["spec"]
    command = spec["discover"]["find"]["command"] if step == "discover" else spec[step]["command"]
    command = [*command, *spec.get(step, {}).get("args", [])] if step != "discover" else command
    executable = shutil.which(command[0], path=env["PATH"])
    assert executable, f"{command[0]} not on the sidecar's PATH"
    proc = subprocess.run(
        [executable, *command[1:]],
        cwd=app_dir,
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=kill_after,
        check=False,
    )
    return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def assert_failed(run: Run, *words: str) -> None:
    """Argo CD's failure contract: non-zero exit, nothing on stdout, an error line naming the problem."""
    assert run.returncode != 0
    assert run.stdout == ""
    assert run.stderr.startswith("error: "), run.stderr
    assert "Traceback" not in run.stderr
    for word in words:
        assert word in run.stderr, run.stderr
    assert PASSWORD not in run.stderr and TOKEN not in run.stderr


def make_repo(tmp_path: Path, sops_bin: Sops, age_key: AgeKey, sealing_key: SealingKey) -> Path:
    """A repository as teams keep it: a base and an overlay; the overlay holds a SOPS-encrypted Secret, a
    SealedSecret and an ExternalSecret. Returns the app directory (the overlay)."""
    repo = tmp_path / "repo"
    base = repo / "apps/shop/base"
    write_yaml(
        base / "deployment.yaml",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shop-config"}, "data": {"k": "v"}},
    )
    write_yaml(base / "kustomization.yaml", {"resources": ["deployment.yaml"]})
    app = repo / APP_PATH
    encrypted = write_yaml(app / "db.enc.yaml", secret("db", password=PASSWORD, user="shop"))
    encrypt_in_place(sops_bin, age_key, encrypted, "--encrypted-regex", "^(data|stringData)$")
    sealed = sealed_secret_yaml(sealing_key, "api", "shop", token=TOKEN)
    (app / "api-sealed.yaml").write_text(sealed)
    write_yaml(app / "external.yaml", EXTERNAL_SECRET)
    write_yaml(
        app / "kustomization.yaml",
        {"resources": ["../../base", "db.enc.yaml", "api-sealed.yaml", "external.yaml"]},
    )
    return app


EXTERNAL_SECRET = {
    "apiVersion": "external-secrets.io/v1",
    "kind": "ExternalSecret",
    "metadata": {"name": "payments"},
    "spec": {
        "secretStoreRef": {"name": "vault", "kind": "SecretStore"},
        "target": {"name": "payments"},
        "data": [{"secretKey": "key", "remoteRef": {"key": "payments", "property": "key"}}],
    },
}


def sidecar(age_key: AgeKey, **extra: str) -> dict[str, str]:
    return {"SOPS_AGE_KEY_FILE": str(age_key.file), **extra}


def recovery_unseal(sealed: dict[str, Any], key: SealingKey) -> dict[str, Any]:
    """The real kubeseal opens what the plugin sealed."""
    out = subprocess.run(
        [str(kubeseal()), "--recovery-unseal", "--recovery-private-key", str(key.key_path), "-o", "yaml"],
        input=yaml.safe_dump(sealed).encode(),
        capture_output=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr.decode()
    opened: dict[str, Any] = yaml.safe_load(out.stdout)
    return opened


def by_kind(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


# --- discover ----------------------------------------------------------------------------------------


def test_discover_matches_each_secret_kind_and_nothing_else(
    tmp_path: Path, sops_bin: Sops, age_key: AgeKey
) -> None:
    cases: dict[str, tuple[str, object] | None] = {
        "sops": ("s.enc.yaml", secret("s", password=PASSWORD)),
        "SealedSecret": ("sealed.yaml", {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret"}),
        "ExternalSecret": ("es.json", EXTERNAL_SECRET),
        "plain": None,
    }
    for kind, content in cases.items():
        app = tmp_path / kind / "app"
        write_yaml(app / "cm.yaml", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
        # A plain Secret and a SOPS file *outside* the app directory never make it match.
        write_yaml(app / "plain-secret.yaml", secret("plain", password="x"))
        outside = write_yaml(tmp_path / kind / "other" / "o.enc.yaml", secret("o", password="y"))
        encrypt_in_place(sops_bin, age_key, outside)
        if content is not None:
            name, doc = content
            path = app / "sub" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(doc) if name.endswith(".json") else yaml.safe_dump(doc))
            if kind == "sops":
                encrypt_in_place(sops_bin, age_key, path)
        run = run_cmp("discover", app, cmp_env(tmp_path / kind))
        assert run.returncode == 0, run.stderr
        if content is None:
            assert run.stdout == "", f"plain app matched: {run.stdout}"
        else:
            assert run.stdout == f"sub/{content[0]}: {kind}\n"


def test_discover_does_not_follow_symlinks(tmp_path: Path, sops_bin: Sops, age_key: AgeKey) -> None:
    outside = write_yaml(tmp_path / "elsewhere" / "s.enc.yaml", secret("s", password=PASSWORD))
    encrypt_in_place(sops_bin, age_key, outside)
    app = tmp_path / "app"
    app.mkdir()
    (app / "link.enc.yaml").symlink_to(outside)
    (app / "linkdir").symlink_to(outside.parent)
    run = run_cmp("discover", app, cmp_env(tmp_path))
    assert (run.returncode, run.stdout) == (0, "")


# --- generate: default mode (sealed) --------------------------------------------------------------------


def test_generate_reseals_sops_secrets_and_passes_the_rest_through(
    tmp_path: Path, sops_bin: Sops, age_key: AgeKey, sealing_key: SealingKey, cert_server: CertServer
) -> None:
    app = make_repo(tmp_path, sops_bin, age_key, sealing_key)
    assert run_cmp("discover", app, cmp_env(tmp_path)).stdout.splitlines() == [
        "api-sealed.yaml: SealedSecret",
        "db.enc.yaml: sops",
        "external.yaml: ExternalSecret",
    ]
    run = run_cmp(
        "generate", app, cmp_env(tmp_path, sidecar(age_key, SEALED_SECRETS_CONTROLLER_URL=cert_server.url))
    )
    assert run.returncode == 0, run.stderr
    assert PASSWORD not in run.stdout + run.stderr and TOKEN not in run.stdout + run.stderr
    assert cert_server.hits == ["/v1/cert.pem"]
    objects = by_kind(run.objects())
    assert set(objects) == {
        ("ConfigMap", "shop-config"),
        ("SealedSecret", "db"),
        ("SealedSecret", "api"),
        ("ExternalSecret", "payments"),
    }
    db = objects[("SealedSecret", "db")]
    assert db["metadata"]["namespace"] == "shop"  # sealed (strict scope) for ARGOCD_APP_NAMESPACE
    opened = recovery_unseal(db, sealing_key)
    assert opened["metadata"]["name"] == "db"
    import base64

    assert base64.b64decode(opened["data"]["password"]).decode() == PASSWORD
    assert base64.b64decode(opened["data"]["user"]).decode() == "shop"
    original = yaml.safe_load((app / "api-sealed.yaml").read_text())
    assert objects[("SealedSecret", "api")]["spec"] == original["spec"]  # passed through untouched
    assert objects[("ExternalSecret", "payments")]["spec"] == EXTERNAL_SECRET["spec"]


def test_generate_reads_the_certificate_as_lockstep_seal_does(
    tmp_path: Path, sops_bin: Sops, age_key: AgeKey, sealing_key: SealingKey
) -> None:
    app = make_repo(tmp_path, sops_bin, age_key, sealing_key)
    # the identity from SOPS_AGE_KEY this time (the sidecar may hold it in a variable, as sops reads it)
    env = cmp_env(
        tmp_path, {"SOPS_AGE_KEY": age_key.identity, "SEALED_SECRETS_CERT": str(sealing_key.cert_path)}
    )
    env["ARGOCD_APP_PARAMETERS"] = json.dumps([{"name": "sealing-scope", "string": "namespace-wide"}])
    env["PARAM_SEALING_SCOPE"] = "namespace-wide"
    run = run_cmp("generate", app, env)
    assert run.returncode == 0, run.stderr
    db = by_kind(run.objects())[("SealedSecret", "db")]
    assert db["metadata"]["annotations"] == {"sealedsecrets.bitnami.com/namespace-wide": "true"}
    assert recovery_unseal(db, sealing_key)["metadata"]["name"] == "db"


def test_only_sealed_and_external_secrets_need_no_certificate(
    tmp_path: Path, sops_bin: Sops, age_key: AgeKey, sealing_key: SealingKey
) -> None:
    app = make_repo(tmp_path, sops_bin, age_key, sealing_key)
    (app / "db.enc.yaml").unlink()
    write_yaml(app / "kustomization.yaml", {"resources": ["../../base", "api-sealed.yaml", "external.yaml"]})
    dead = f"http://127.0.0.1:{free_port()}"
    run = run_cmp("generate", app, cmp_env(tmp_path, {"SEALED_SECRETS_CONTROLLER_URL": dead}))
    assert run.returncode == 0, run.stderr
    assert {k for k, _ in by_kind(run.objects())} == {"ConfigMap", "SealedSecret", "ExternalSecret"}


# --- generate: failures -------------------------------------------------------------------------------


def test_certificate_endpoint_down_fails_with_nothing_on_stdout(
    tmp_path: Path, sops_bin: Sops, age_key: AgeKey, sealing_key: SealingKey
) -> None:
    app = make_repo(tmp_path, sops_bin, age_key, sealing_key)
    dead = f"http://127.0.0.1:{free_port()}"
    run = run_cmp("generate", app, cmp_env(tmp_path, sidecar(age_key, SEALED_SECRETS_CONTROLLER_URL=dead)))
    assert_failed(run, "cannot reach", dead)


def test_certificate_endpoint_answering_404_fails(
    tmp_path: Path, sops_bin: Sops, age_key: AgeKey, sealing_key: SealingKey, cert_server: CertServer
) -> None:
    app = make_repo(tmp_path, sops_bin, age_key, sealing_key)
    run = run_cmp(
        "generate",
        app,
        cmp_env(tmp_path, sidecar(age_key, SEALED_SECRETS_CERT=cert_server.url + "/nope.pem")),
    )
    assert_failed(run, "404")


@pytest.mark.parametrize(
    "breakage",
    ["no-identity", "wrong-identity", "tampered", "broken-yaml", "missing-resource", "escaping-resource"],
)
def test_bad_input_fails_with_nothing_on_stdout(
    breakage: str,
    tmp_path: Path,
    sops_bin: Sops,
    age_key: AgeKey,
    sealing_key: SealingKey,
    cert_server: CertServer,
) -> None:
    from tests.sops.conftest import make_key

    app = make_repo(tmp_path, sops_bin, age_key, sealing_key)
    extra = sidecar(age_key, SEALED_SECRETS_CONTROLLER_URL=cert_server.url)
    expect = "Secret/db"
    if breakage == "no-identity":
        extra.pop("SOPS_AGE_KEY_FILE")
    elif breakage == "wrong-identity":
        extra["SOPS_AGE_KEY_FILE"] = str(make_key(tmp_path, "other").file)
    elif breakage == "tampered":
        path = app / "db.enc.yaml"
        text = path.read_text()
        path.write_text(text.replace("user: ENC[AES256_GCM,data:", "user: ENC[AES256_GCM,data:AA", 1))
    elif breakage == "broken-yaml":
        (app / "external.yaml").write_text("kind: [unclosed\n")
        expect = "BuildFailed"
    elif breakage == "missing-resource":
        write_yaml(app / "kustomization.yaml", {"resources": ["db.enc.yaml", "gone.yaml"]})
        expect = "gone.yaml"
    elif breakage == "escaping-resource":
        write_yaml(app / "kustomization.yaml", {"resources": ["db.enc.yaml", "../../../../../etc"]})
        expect = "BuildFailed"
    assert_failed(run_cmp("generate", app, cmp_env(tmp_path, extra)), expect)


def test_sops_encrypted_configmap_is_refused_in_sealed_mode(
    tmp_path: Path, sops_bin: Sops, age_key: AgeKey, cert_server: CertServer
) -> None:
    app = tmp_path / "repo" / APP_PATH
    cm = write_yaml(
        app / "cm.enc.yaml",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf"}, "data": {"dsn": PASSWORD}},
    )
    encrypt_in_place(sops_bin, age_key, cm, "--encrypted-regex", "^data$")
    run = run_cmp(
        "generate", app, cmp_env(tmp_path, sidecar(age_key, SEALED_SECRETS_CONTROLLER_URL=cert_server.url))
    )
    assert_failed(run, "ConfigMap/conf", "--plaintext")


@pytest.mark.parametrize(
    ("variable", "value", "expect"),
    [
        ("ARGOCD_APP_PARAMETERS", "{not json", "ARGOCD_APP_PARAMETERS: not valid JSON"),
        ("ARGOCD_APP_PARAMETERS", '{"name": "x"}', "expected a JSON list"),
        ("ARGOCD_APP_PARAMETERS", '[{"name": "sealing-scope", "array": [1]}]', "list of strings"),
        ("ARGOCD_APP_PARAMETERS", '[{"name": "sealing-scope", "string": "galaxy"}]', "sealing-scope"),
        ("PARAM_SEALING_SCOPE", "galaxy", "sealing-scope"),
        ("ARGOCD_EXEC_TIMEOUT", "soon", "ARGOCD_EXEC_TIMEOUT"),
    ],
)
def test_bad_argo_environment_fails_naming_the_variable(
    variable: str,
    value: str,
    expect: str,
    tmp_path: Path,
    sops_bin: Sops,
    age_key: AgeKey,
    sealing_key: SealingKey,
) -> None:
    app = make_repo(tmp_path, sops_bin, age_key, sealing_key)
    env = cmp_env(tmp_path, sidecar(age_key, SEALED_SECRETS_CERT=str(sealing_key.cert_path)))
    env[variable] = value
    assert_failed(run_cmp("generate", app, env), expect)


def test_empty_render_is_an_error(tmp_path: Path) -> None:
    app = tmp_path / "repo" / APP_PATH
    app.mkdir(parents=True)
    (app / "README.md").write_text("nothing to deploy\n")
    assert_failed(run_cmp("generate", app, cmp_env(tmp_path)), "rendered no objects", "--allow-empty")


def test_generate_gives_up_before_the_cmp_server_kills_it(
    tmp_path: Path, sops_bin: Sops, age_key: AgeKey, sealing_key: SealingKey
) -> None:
    """A stalled certificate endpoint: the command fails on its own, with an error, within the timeout.

    The fetch gets what is left of ARGOCD_EXEC_TIMEOUT (not sealed.remote's fixed 30 s): with a 10 s
    budget the cmp-server would kill a 30 s wait; the plugin must say what happened first."""
    import socket
    import time

    budget = 20
    app = make_repo(tmp_path, sops_bin, age_key, sealing_key)
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        env = cmp_env(tmp_path, sidecar(age_key, SEALED_SECRETS_CONTROLLER_URL=url))
        env["ARGOCD_EXEC_TIMEOUT"] = f"{budget}s"
        started = time.monotonic()
        run = run_cmp("generate", app, env, kill_after=budget)  # TimeoutExpired here: killed by the host
        assert time.monotonic() - started < budget
    assert_failed(run, url, "no answer within", f"ARGOCD_EXEC_TIMEOUT={budget}s")


def test_certificate_timeout_is_what_is_left_of_the_budget() -> None:
    from integrations.argocd.cli import CERT_TIMEOUT_FLOOR_S, certificate_timeout, working_time
    from sealed.remote import TIMEOUT_S

    assert working_time(90) == 81  # 90 % of Argo CD's default
    assert working_time(20) == 15  # at least 5 s for start-up and exit
    assert working_time(6) == 3  # never less than half

    assert certificate_timeout(100.0, 95.5) == 4.5
    assert certificate_timeout(100.0, 99.9) == CERT_TIMEOUT_FLOOR_S  # late in the budget: still a try
    assert certificate_timeout(100.0, 120.0) == CERT_TIMEOUT_FLOOR_S
    assert certificate_timeout(1000.0, 0.0) == TIMEOUT_S  # a long budget: never more than sealed's own


def test_no_identity_hint_names_the_sidecar_environment(
    tmp_path: Path, sops_bin: Sops, age_key: AgeKey, sealing_key: SealingKey
) -> None:
    """The plugin has no --sops-secret: its hint is the sidecar's SOPS_AGE_KEY_FILE / SOPS_AGE_KEY."""
    app = make_repo(tmp_path, sops_bin, age_key, sealing_key)
    run = run_cmp("generate", app, cmp_env(tmp_path, {"SEALED_SECRETS_CERT": str(sealing_key.cert_path)}))
    assert_failed(run, "no age identity was found", "SOPS_AGE_KEY_FILE or SOPS_AGE_KEY in the sidecar's")
    assert "--sops-secret" not in run.stderr


# --- generate --plaintext -----------------------------------------------------------------------------


def test_plaintext_mode_renders_secrets_as_the_engine_does(
    tmp_path: Path, sops_bin: Sops, age_key: AgeKey, sealing_key: SealingKey
) -> None:
    import base64

    app = make_repo(tmp_path, sops_bin, age_key, sealing_key)
    (app / "api-sealed.yaml").unlink()  # opening it needs the cluster's keys: see the end-to-end test
    write_yaml(app / "kustomization.yaml", {"resources": ["../../base", "db.enc.yaml", "external.yaml"]})
    env = cmp_env(tmp_path, sidecar(age_key, KUBECONFIG="/nonexistent"))
    proc = subprocess.run(
        [str(BIN / "lockstep"), "argocd", "generate", "--plaintext"],
        cwd=app,
        env=env,
        capture_output=True,
        timeout=EXEC_TIMEOUT,
        check=False,
    )
    run = Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
    assert run.returncode == 0, run.stderr
    db = by_kind(run.objects())[("Secret", "db")]
    values = {k: base64.b64decode(v).decode() for k, v in (db.get("data") or {}).items()}
    values.update(db.get("stringData") or {})
    assert values["password"] == PASSWORD


# --- end to end: the sealed output opened by Lockstep's controller on a real API server --------------------


@pytest.mark.integration
def test_generated_sealed_secret_is_opened_by_lockstep_controller(
    tmp_path: Path,
    sops_bin: Sops,
    age_key: AgeKey,
    control_plane: ControlPlane,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import base64

    from tests.sealed.operator import SealedOperator, apply_sealed, secret_or_none, wait_for

    control_plane.install_crds(ROOT / "crds" / "sealedsecret.yaml")
    keys, app_ns = control_plane.create_namespace("keys-"), control_plane.create_namespace("argo-")
    operator = SealedOperator(control_plane, tmp_path_factory.mktemp("op"), keys, (app_ns,)).start()
    try:
        app = tmp_path / "repo" / APP_PATH
        db = write_yaml(app / "db.enc.yaml", secret("db", password=PASSWORD))
        encrypt_in_place(sops_bin, age_key, db, "--encrypted-regex", "^(data|stringData)$")
        env = cmp_env(tmp_path, sidecar(age_key, SEALED_SECRETS_CONTROLLER_URL=operator.url))
        env["ARGOCD_APP_NAMESPACE"] = app_ns
        run = run_cmp("generate", app, env)
        assert run.returncode == 0, run.stderr
        (sealed,) = run.objects()
        assert sealed["kind"] == "SealedSecret" and PASSWORD not in run.stdout
        apply_sealed(control_plane.client, sealed)
        opened = wait_for(
            lambda: secret_or_none(control_plane.client, app_ns, "db"), 60, "the unsealed Secret"
        )
        assert base64.b64decode(opened["data"]["password"]).decode() == PASSWORD
    finally:
        operator.stop()


# --- hostile repositories: the engine's limits and confinement hold inside the plugin too -------------------


@pytest.mark.parametrize("hostile", ["symlink-out", "fifo", "alias-bomb", "deep-nesting"])
def test_hostile_app_directory_fails_cleanly(hostile: str, tmp_path: Path, age_key: AgeKey) -> None:
    app = tmp_path / "repo" / APP_PATH
    write_yaml(app / "cm.yaml", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    if hostile == "symlink-out":
        (app / "passwd.yaml").symlink_to("/etc/passwd")
    elif hostile == "fifo":
        os.mkfifo(app / "pipe.yaml")
    elif hostile == "alias-bomb":
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
        (app / "bomb.yaml").write_text("\n".join(lines) + "\nkind: ConfigMap\napiVersion: v1\n")
    elif hostile == "deep-nesting":
        (app / "deep.yaml").write_text(
            "kind: ConfigMap\napiVersion: v1\ndata: " + "[" * 5000 + "]" * 5000 + "\n"
        )
    for step in ("discover", "generate"):
        run = run_cmp(step, app, cmp_env(tmp_path, sidecar(age_key)))
        if step == "discover":
            assert (run.returncode, run.stdout) == (0, ""), run.stderr  # nothing of ours, nothing read
        else:
            assert_failed(run)
