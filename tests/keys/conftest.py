"""Fixtures for ``lockstep keys``: two sealing keys (old, new) made by the product's key generator, a Bitnami
backup of both, age keys, and a Git repo of 20 SealedSecrets (sealed by the real kubeseal) and 5 SOPS files
(encrypted by the real sops) — the runbook's test bed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest
import yaml

from core_sync.kube import ApiError
from core_sync.testing import binaries
from core_sync.testing.control_plane import ControlPlane
from core_sync.testing.oracles import sops_encrypt
from sealed.format.keygen import SealingKeyPair, generate_key_pair
from sealed.keys import key_secret_manifest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Lockstep Tests",
    "GIT_AUTHOR_EMAIL": "tests@lockstep.invalid",
    "GIT_COMMITTER_NAME": "Lockstep Tests",
    "GIT_COMMITTER_EMAIL": "tests@lockstep.invalid",
}


@dataclass
class Key:
    name: str
    pair: SealingKeyPair
    cert: Path
    key: Path  # PEM private key, what kubeseal --recovery-private-key reads


@dataclass
class Keys:
    old: Key
    new: Key
    backup: Path  # a Bitnami backup (List of both key Secrets)
    directory: Path


def key_secret(key: Key, created: str, namespace: str = "lockstep-system") -> dict[str, object]:
    manifest = key_secret_manifest(key.pair, namespace)
    meta = manifest["metadata"]
    assert isinstance(meta, dict)
    meta.pop("generateName")
    meta["name"] = key.name
    meta["creationTimestamp"] = created
    return manifest


@pytest.fixture(scope="session")
def sealing_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    directory = tmp_path_factory.mktemp("sealing")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    made = {}
    for name, start in (("old", now - dt.timedelta(days=40)), ("new", now)):
        pair = generate_key_pair(4096, not_before=start)
        (directory / f"{name}.crt").write_bytes(pair.cert_pem)
        (directory / f"{name}.key").write_bytes(pair.key_pem)
        made[name] = Key(
            f"sealed-secrets-key{name}1", pair, directory / f"{name}.crt", directory / f"{name}.key"
        )
    backup = directory / "backup.yaml"
    items = [
        key_secret(made["old"], (now - dt.timedelta(days=40)).isoformat().replace("+00:00", "Z")),
        key_secret(made["new"], now.isoformat().replace("+00:00", "Z")),
    ]
    backup.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    return Keys(made["old"], made["new"], backup, directory)


@dataclass
class AgeKey:
    identity: str
    recipient: str
    file: Path


@pytest.fixture(scope="session")
def age_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[AgeKey, AgeKey]:
    directory = tmp_path_factory.mktemp("age")
    out = []
    for name in ("a", "b"):
        ident = pyrage.x25519.Identity.generate()
        path = directory / f"{name}.txt"
        path.write_text(f"# public key: {ident.to_public()}\n{ident}\n")
        out.append(AgeKey(str(ident), str(ident.to_public()), path))
    return out[0], out[1]


def kubeseal(*args: str, stdin: bytes = b"") -> bytes:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALED_SECRETS_")}
    env["KUBECONFIG"] = "/nonexistent"
    done = subprocess.run(
        [str(binaries.kubeseal()), *args], input=stdin, capture_output=True, env=env, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def kubeseal_unseal(data: bytes, key: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "KUBECONFIG": "/nonexistent"}
    return subprocess.run(
        [str(binaries.kubeseal()), "--recovery-unseal", "--recovery-private-key", str(key), "-o", "json"],
        input=data,
        capture_output=True,
        env=env,
        check=False,
        timeout=60,
    )


def secret(name: str, namespace: str, values: dict[str, str], scope: str = "") -> bytes:
    meta: dict[str, object] = {"name": name, "namespace": namespace}
    if scope:
        meta["annotations"] = {f"sealedsecrets.bitnami.com/{scope}": "true"}
    return json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": values}).encode()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    ).stdout


CONFIGMAP = (
    "# a ConfigMap kept beside the SealedSecret\napiVersion: v1\nkind: ConfigMap\n"
    "metadata:\n  name: settings  # inline comment\ndata:\n  mode: blue\n"
)


def build_repo(root: Path, keys: Keys, age: tuple[AgeKey, AgeKey]) -> Path:
    """20 SealedSecrets in 18 files (JSON, YAML, two multi-document files with other objects, three
    scopes) sealed by kubeseal with the old key; 5 SOPS files by sops for recipient A, while .sops.yaml
    names A and B."""
    repo = root / "gitops"
    (repo / "apps").mkdir(parents=True)
    (repo / "secrets").mkdir()
    git(repo, "init", "-q", "-b", "main")
    cert = str(keys.old.cert)
    for i in range(8):
        out = kubeseal(
            "--cert", cert, "-o", "json", stdin=secret(f"db{i}", "app", {"password": f"pw-{i}", "user": "u"})
        )
        (repo / "apps" / f"db{i}.json").write_bytes(out)
    for i in range(6):
        out = kubeseal("--cert", cert, "-o", "yaml", stdin=secret(f"api{i}", "web", {"token": f"tok-{i}"}))
        (repo / "apps" / f"api{i}.yaml").write_bytes(out)
    wide = kubeseal(
        "--cert", cert, "-o", "yaml", "--scope", "namespace-wide", stdin=secret("wide", "web", {"k": "v"})
    )
    (repo / "apps" / "wide.yaml").write_bytes(wide)
    cluster = kubeseal(
        "--cert", cert, "-o", "yaml", "--scope", "cluster-wide", stdin=secret("cw", "", {"k": "v2"})
    )
    (repo / "apps" / "cluster.yml").write_bytes(cluster)
    for n in range(2):  # two multi-document files: two SealedSecrets and a ConfigMap with comments each
        first = kubeseal("--cert", cert, "-o", "yaml", stdin=secret(f"multi{n}a", "app", {"a": "1"}))
        second = kubeseal("--cert", cert, "-o", "yaml", stdin=secret(f"multi{n}b", "app", {"b": "2"}))
        (repo / "apps" / f"bundle{n}.yaml").write_bytes(first + b"---\n" + CONFIGMAP.encode() + second)
    a, b = age
    (repo / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: secrets/.*\n    encrypted_regex: ^(data|stringData)$\n"
        f"    age: {a.recipient},{b.recipient}\n"
    )
    for i in range(5):
        plain = repo / "secrets" / f"s{i}.yaml"
        plain.write_text(
            f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s{i}\nstringData:\n  password: sops-{i}\n"
        )
        plain.write_text(sops_encrypt(plain, a.recipient))
    (repo / "README.md").write_text("not a secret\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "secrets")
    return repo


@pytest.fixture
def repo(tmp_path: Path, sealing_keys: Keys, age_keys: tuple[AgeKey, AgeKey]) -> Path:
    return build_repo(tmp_path, sealing_keys, age_keys)


def lockstep(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("SEALED_SECRETS_", "SOPS_", "LOCKSTEP_"))
    }
    base.update(GIT_ENV)
    base["KUBECONFIG"] = "/nonexistent/kubeconfig"
    base["HOME"] = base["XDG_CONFIG_HOME"] = "/nonexistent-home"
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "core_sync.cli", *args],
        capture_output=True,
        text=True,
        env=base,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )


def tree_bytes(repo: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(repo)): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts[:1]
    }


def wait_for_sealed_secrets_api(control_plane: ControlPlane) -> None:
    """Right after the CRDs are installed their storage may still answer 429 for a while."""
    deadline = time.monotonic() + 60
    while True:
        try:
            control_plane.client.get("/apis/bitnami.com/v1alpha1/sealedsecrets")
            return
        except ApiError as error:
            if error.status != 429 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
