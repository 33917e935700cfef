"""``users[].user.auth-provider`` (oidc, gcp) through the official ``kubernetes`` package's loader.

Imported only when a kubeconfig's user has an auth-provider: the package costs ~0.3 s and ~28 MB to import
(see docs/architecture.md), which no other kubeconfig should pay. Only the auth-provider section is handed
over (no certificate or key fields), so the official loader has nothing to write to temp files.
"""

from __future__ import annotations

from typing import Any

from core_sync.kube.credentials import CachedCredentials, CredentialError, Credentials


class AuthProvider(CachedCredentials):
    """A bearer token from the official loader's auth-provider support, asked again after a 401."""

    def __init__(self, section: Any, *, where: str, server: str) -> None:
        if not isinstance(section, dict) or not isinstance(section.get("name"), str):
            raise CredentialError(f"{where}: must be a mapping with a name")
        super().__init__()
        self.section = section
        self.where = where
        self.server = server

    def fetch(self) -> Credentials:
        return Credentials(token=self._load())

    def _load(self) -> str:
        try:
            from kubernetes.client import Configuration
            from kubernetes.config.config_exception import ConfigException
            from kubernetes.config.kube_config import KubeConfigLoader
        except ImportError as exc:  # pragma: no cover - the package is a declared dependency
            raise CredentialError(f"{self.where}: auth-provider needs the kubernetes package: {exc}") from exc
        config = {
            "clusters": [{"name": "c", "cluster": {"server": self.server}}],
            "users": [{"name": "u", "user": {"auth-provider": self.section}}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
        target = Configuration()
        try:
            loader = KubeConfigLoader(config_dict=config, active_context="x")  # type: ignore[no-untyped-call]
            loader.load_and_set(target)  # type: ignore[no-untyped-call]
        except (ConfigException, KeyError, ValueError, ImportError) as exc:
            raise CredentialError(f"{self.where}: {self.section['name']}: {exc}") from None
        token = str(target.api_key.get("BearerToken") or target.api_key.get("authorization") or "")
        token = token.removeprefix("Bearer ").strip()
        if not token:
            raise CredentialError(
                f"{self.where}: auth-provider {self.section['name']!r} gave no token "
                "(is its config complete?)"
            )
        return token
