"""SOPS files built through kustomize: kustomize prints keys re-ordered (apiVersion, kind, metadata, then
alphabetical, nested mappings sorted), while SOPS's MAC covers the values in the file's order. Every shape of
re-ordering decrypts (top level, nested labels, a JSON file, lists of mappings), as under Flux; a changed
value still fails the MAC. Files are encrypted by the real sops binary; kustomize is the real kubectl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.sops.conftest import AgeKey, Sops

LOCKSTEP = Path(sys.executable).parent / "lockstep"
REGEX = ("--encrypted-regex", "^(data|stringData)$")

SHAPES: dict[str, tuple[str, dict[str, object]]] = {
    "type-before-stringData": (
        "secret.enc.yaml",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s1"},
            "type": "Opaque",
            "stringData": {"zeta": "z-value-1", "alpha": "a-value-1"},
        },
    ),
    "nested-labels": (
        "labelled.enc.yaml",
        {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {
                "name": "c1",
                "labels": {"zone": "b", "app": "a"},
                "annotations": {"y": "1", "x": "2"},
            },
            "data": {"zkey": "zv-secret-2", "akey": "av-secret-2"},
        },
    ),
    "json-file": (
        "config.enc.json",
        {
            "metadata": {"name": "j1"},
            "kind": "Secret",
            "apiVersion": "v1",
            "stringData": {"b": "json-secret-3", "a": "json-secret-4"},
        },
    ),
    "list-of-mappings": (
        "list.enc.yaml",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "l1",
                "ownerReferences": [{"name": "o", "kind": "K", "apiVersion": "v1", "uid": "u-1"}],
            },
            "data": {"k": "list-secret-5"},
        },
    ),
}


def _repo(tmp_path: Path, sops_bin: Sops, key: AgeKey, shape: str) -> Path:
    name, doc = SHAPES[shape]
    base = tmp_path / "base"
    base.mkdir()
    path = base / name
    path.write_text(
        json.dumps(doc, indent=2) if name.endswith(".json") else yaml.safe_dump(doc, sort_keys=False)
    )
    sops_bin.ok("encrypt", "--age", key.recipient, *REGEX, "-i", str(path))
    (base / "kustomization.yaml").write_text(f"resources:\n  - {name}\n")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources:\n  - ../base\n")
    (tmp_path / ".git").mkdir()  # the checkout root: reads stay inside it
    return overlay


def _render(directory: Path, key: AgeKey, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update(SOPS_AGE_KEY_FILE=str(key.file), HOME=str(tmp_path / "home"), KUBECONFIG="/nonexistent")
    return subprocess.run(
        [str(LOCKSTEP), "render", "--offline", "--show-secrets", str(directory)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("shape", list(SHAPES))
def test_kustomize_reordered_sops_objects_decrypt(
    shape: str, tmp_path: Path, sops_bin: Sops, key1: AgeKey
) -> None:
    overlay = _repo(tmp_path, sops_bin, key1, shape)
    out = _render(overlay, key1, tmp_path)
    assert out.returncode == 0, out.stderr
    (rendered,) = [d for d in yaml.safe_load_all(out.stdout) if d]
    _, original = SHAPES[shape]
    values = rendered.get("stringData") or rendered.get("data")
    assert values == (original.get("stringData") or original.get("data"))
    assert "sops" not in rendered


def test_a_changed_value_still_fails_the_mac(tmp_path: Path, sops_bin: Sops, key1: AgeKey) -> None:
    overlay = _repo(tmp_path, sops_bin, key1, "nested-labels")
    path = tmp_path / "base" / "labelled.enc.yaml"
    path.write_text(path.read_text().replace("zone: b", "zone: c"))
    out = _render(overlay, key1, tmp_path)
    assert out.returncode != 0 and out.stdout == ""
    assert "MAC mismatch" in out.stderr and "ConfigMap/c1" in out.stderr
    assert "zv-secret-2" not in out.stderr
