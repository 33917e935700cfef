"""A small, fast Kubernetes REST client: kubeconfig loading, requests, server-side apply, watches.

Why not the official client here: it costs ~0.5 s and ~40 MB to import, and the CLI and the operator
must be quick and small. This speaks the plain REST API with the standard library.
"""

from core_sync.kube.client import ApiError, ApiUnreachable, KubeClient
from core_sync.kube.config import KubeConfig, KubeConfigError

__all__ = ["ApiError", "ApiUnreachable", "KubeClient", "KubeConfig", "KubeConfigError"]
