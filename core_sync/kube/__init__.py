"""A small, fast Kubernetes REST client: kubeconfig loading, requests, server-side apply, watches.

Why not the official client here: it costs ~0.3 s and ~28 MB to import, and the CLI and the operator
must be quick and small. This speaks the plain REST API with the standard library; the official package
is imported only for a kubeconfig user with an ``auth-provider`` (see :mod:`core_sync.kube.auth_provider`).
"""

from core_sync.kube.client import ApiError, ApiUnreachable, KubeClient
from core_sync.kube.config import KubeConfig, KubeConfigError, NoKubeConfig

__all__ = ["ApiError", "ApiUnreachable", "KubeClient", "KubeConfig", "KubeConfigError", "NoKubeConfig"]
