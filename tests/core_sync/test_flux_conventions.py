"""A repository kept for Flux decrypts unchanged under Lockstep, through the real operator.

Flux's conventions, as its SOPS guide lays them out: a ``.sops.yaml`` at the repository root whose creation
rule encrypts only ``data``/``stringData`` for an age recipient (files encrypted here by the real sops binary
from the repository root, so the rule applies), a cluster directory whose kustomization pulls in an app
directory, SOPS-encrypted Secrets *and* a SOPS-encrypted ConfigMap, and a decryption Secret whose ``*.agekey``
entries hold the identities (``identity.agekey`` as ``age-keygen`` writes it, with its comments, beside an
older key and a non-age entry). The Flux ``GitRepository`` + ``Kustomization`` with ``spec.decryption`` go
through ``lockstep import`` unchanged; the Application it prints is what the operator syncs.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pyrage
import yaml

from core_sync.testing import ControlPlane, GitServer, sops
from tests.core_sync.conftest import Apps, Operator, live

REPO_FILES = {
    "clusters/production/kustomization.yaml": "resources:\n  - ../../apps/podinfo\n",
    "apps/podinfo/kustomization.yaml": (
        "resources:\n  - secret.sops.yaml\n  - config.sops.yaml\n  - plain.yaml\n"
    ),
    "apps/podinfo/secret.sops.yaml": (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: podinfo-token\ntype: Opaque\n"
        "stringData:\n  token: flux-style-t0ken-9c1\n"
    ),
    "apps/podinfo/config.sops.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: podinfo-config\ndata:\n  dsn: postgres://flux-dsn-77\n"
    ),
    "apps/podinfo/plain.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: podinfo-plain\ndata:\n  a: b\n"
    ),
}


def _flux_repository(tmp_path: Path, recipient: str) -> dict[str, str]:
    """The repository's files, the SOPS ones encrypted by the real sops binary under ``.sops.yaml``."""
    root = tmp_path / "flux-repo"
    sops_yaml = (
        f"creation_rules:\n  - path_regex: .*.sops.yaml$\n    encrypted_regex: ^(data|stringData)$\n"
        f"    age: {recipient}\n"
    )
    files = {".sops.yaml": sops_yaml, **REPO_FILES}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")} | {
        "SOPS_DISABLE_VERSION_CHECK": "1"
    }
    for rel in ("apps/podinfo/secret.sops.yaml", "apps/podinfo/config.sops.yaml"):
        subprocess.run(
            [str(sops()), "encrypt", "-i", rel], cwd=root, env=env, check=True, capture_output=True
        )
        files[rel] = (root / rel).read_text()
        assert (
            "ENC[AES256_GCM" in files[rel] and "flux-style" not in files[rel] and "flux-dsn" not in files[rel]
        )
    return files


def _flux_objects(namespace: str, url: str) -> str:
    return yaml.safe_dump_all(
        [
            {
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "GitRepository",
                "metadata": {"name": "podinfo", "namespace": namespace},
                "spec": {"interval": "1m", "url": url, "ref": {"branch": "main"}},
            },
            {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": "podinfo", "namespace": namespace},
                "spec": {
                    "interval": "10m",
                    "path": "./clusters/production",
                    "prune": True,
                    "sourceRef": {"kind": "GitRepository", "name": "podinfo"},
                    "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}},
                },
            },
        ]
    )


def test_flux_repository_and_decryption_secret_work_unchanged(
    operator: Operator, apps: Apps, git_server: GitServer, control_plane: ControlPlane, tmp_path: Path
) -> None:
    ns, client = apps.namespace, control_plane.client
    identity, older = pyrage.x25519.Identity.generate(), pyrage.x25519.Identity.generate()
    keygen_file = f"# created: 2026-12-01T10:00:00Z\n# public key: {identity.to_public()}\n{identity}\n"
    client.create(  # Flux's layout: `kubectl create secret generic sops-age --from-file=identity.agekey=...`
        f"/api/v1/namespaces/{ns}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "sops-age"},
            "data": {
                "identity.agekey": base64.b64encode(keygen_file.encode()).decode(),
                "old.agekey": base64.b64encode(f"{older}\n".encode()).decode(),
                "sops.asc": base64.b64encode(b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n").decode(),
            },
        },
    )
    url = git_server.create_repo("flux-podinfo", _flux_repository(tmp_path, str(identity.to_public())))
    flux = tmp_path / "flux.yaml"
    flux.write_text(_flux_objects(ns, url))
    imported = subprocess.run(
        [sys.executable, "-m", "core_sync.cli", "import", str(flux)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    (application,) = [d for d in yaml.safe_load_all(imported.stdout) if d]
    spec = application["spec"]
    assert spec["decryption"] == {"sops": {"secretRef": {"name": "sops-age"}}}  # Flux's field, unchanged
    assert spec["source"] == {"repoURL": url, "targetRevision": "main", "path": "clusters/production"}
    apps.create(
        "podinfo", url, path=spec["source"]["path"], **{k: v for k, v in spec.items() if k != "source"}
    )
    apps.wait_ready("podinfo", timeout=90)
    token = client.get(f"/api/v1/namespaces/{ns}/secrets/podinfo-token")
    assert base64.b64decode(token["data"]["token"]).decode() == "flux-style-t0ken-9c1"
    config = client.get(f"/api/v1/namespaces/{ns}/configmaps/podinfo-config")
    assert config["data"] == {"dsn": "postgres://flux-dsn-77"}
    assert live(client, f"/api/v1/namespaces/{ns}/configmaps/podinfo-plain") is not None
    status = yaml.safe_dump(apps.get("podinfo")["status"])
    assert "flux-style-t0ken" not in status and "flux-dsn-77" not in status
