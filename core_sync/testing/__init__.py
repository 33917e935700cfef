"""Test Lockstep, and your own GitOps repositories, against real parts on loopback (like envtest).

``ControlPlane`` runs etcd and kube-apiserver; ``OpenBao``, ``MotoServer`` and ``GitServer`` run the
other peers. The pytest plugin (entry point ``pytest11``) exposes them as fixtures.
"""

from core_sync.testing.binaries import (
    BinaryNotFound,
    bao,
    etcd,
    helm,
    kube_apiserver,
    kubectl,
    kubeseal,
    sops,
)
from core_sync.testing.control_plane import ControlPlane
from core_sync.testing.processes import ProcessFailed
from core_sync.testing.services import GitHttpServer, GitServer, MotoServer, OpenBao, SshGitServer, git

__all__ = [
    "BinaryNotFound",
    "ControlPlane",
    "GitHttpServer",
    "GitServer",
    "MotoServer",
    "OpenBao",
    "ProcessFailed",
    "SshGitServer",
    "bao",
    "etcd",
    "git",
    "helm",
    "kube_apiserver",
    "kubectl",
    "kubeseal",
    "sops",
]
