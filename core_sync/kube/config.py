"""Kubeconfig and in-cluster configuration, turned into a server URL, TLS context and auth header.

Client keys from ``client-key-data`` reach OpenSSL through an anonymous in-memory file (``memfd``), never a
temp file: key material must not touch the disk.
"""

from __future__ import annotations

import base64
import contextlib
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

IN_CLUSTER_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class KubeConfigError(ValueError):
    """The kubeconfig is missing, unreadable or names something that is not there."""


@dataclass
class KubeConfig:
    """Everything needed to talk to one API server as one user."""

    server: str
    ca_pem: bytes | None = None
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None
    token: str | None = None
    token_file: Path | None = None
    insecure: bool = False
    namespace: str = "default"
    source: str = "<memory>"
    _ssl: ssl.SSLContext | None = field(default=None, repr=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, context: str | None = None) -> KubeConfig:
        """``path``, else ``$KUBECONFIG`` (first entry), else ``~/.kube/config``, else in-cluster."""
        if path is None:
            env = os.environ.get("KUBECONFIG", "")
            candidates = [p for p in env.split(os.pathsep) if p] or [str(Path.home() / ".kube" / "config")]
            existing = [p for p in candidates if Path(p).is_file()]
            if not existing:
                if (IN_CLUSTER_DIR / "token").is_file() and os.environ.get("KUBERNETES_SERVICE_HOST"):
                    return cls.in_cluster()
                raise KubeConfigError(
                    f"no kubeconfig found (tried {', '.join(candidates)}) and not in a cluster"
                )
            path = existing[0]
        return cls.from_file(Path(path), context)

    @classmethod
    def from_file(cls, path: Path, context: str | None = None) -> KubeConfig:
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise KubeConfigError(f"{path}: cannot read kubeconfig: {exc}") from exc
        return cls.from_dict(data, context, source=str(path), base=path.parent)

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        context: str | None = None,
        source: str = "<memory>",
        base: Path | None = None,
    ) -> KubeConfig:
        name = context or data.get("current-context")
        contexts = {c["name"]: c.get("context", {}) for c in data.get("contexts") or []}
        if not name or name not in contexts:
            raise KubeConfigError(f"{source}: context {name!r} not found")
        ctx = contexts[name]
        clusters = {c["name"]: c.get("cluster", {}) for c in data.get("clusters") or []}
        users = {u["name"]: u.get("user", {}) for u in data.get("users") or []}
        if ctx.get("cluster") not in clusters:
            raise KubeConfigError(f"{source}: cluster {ctx.get('cluster')!r} of context {name!r} not found")
        cluster = clusters[ctx["cluster"]]
        user = users.get(ctx.get("user", ""), {})
        base = base or Path.cwd()

        def blob(data_key: str, file_key: str, section: dict[str, Any]) -> bytes | None:
            if section.get(data_key):
                return base64.b64decode(str(section[data_key]))
            if section.get(file_key):
                try:
                    return (base / str(section[file_key])).read_bytes()
                except OSError as exc:
                    raise KubeConfigError(f"{source}: {file_key}: {exc}") from exc
            return None

        if "exec" in user or "auth-provider" in user:
            raise KubeConfigError(
                f"{source}: user of context {name!r} uses exec/auth-provider, not supported yet"
            )
        token_file = Path(user["tokenFile"]) if user.get("tokenFile") else None
        return cls(
            server=str(cluster.get("server", "")).rstrip("/"),
            ca_pem=blob("certificate-authority-data", "certificate-authority", cluster),
            client_cert_pem=blob("client-certificate-data", "client-certificate", user),
            client_key_pem=blob("client-key-data", "client-key", user),
            token=user.get("token"),
            token_file=token_file,
            insecure=bool(cluster.get("insecure-skip-tls-verify")),
            namespace=ctx.get("namespace") or "default",
            source=source,
        )

    @classmethod
    def in_cluster(cls) -> KubeConfig:
        host = os.environ["KUBERNETES_SERVICE_HOST"]
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if ":" in host:
            host = f"[{host}]"
        namespace_file = IN_CLUSTER_DIR / "namespace"
        return cls(
            server=f"https://{host}:{port}",
            ca_pem=(IN_CLUSTER_DIR / "ca.crt").read_bytes(),
            token_file=IN_CLUSTER_DIR / "token",
            namespace=namespace_file.read_text().strip() if namespace_file.is_file() else "default",
            source="in-cluster",
        )

    def auth_header(self) -> dict[str, str]:
        """The bearer token header, re-read from ``token_file`` each time (projected tokens rotate)."""
        token = self.token
        if self.token_file is not None:
            token = self.token_file.read_text().strip()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def ssl_context(self) -> ssl.SSLContext:
        """A TLS context trusting the cluster CA and presenting the client certificate, built once."""
        if self._ssl is not None:
            return self._ssl
        context = ssl.create_default_context()
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif self.ca_pem:
            context.load_verify_locations(cadata=self.ca_pem.decode())
        if self.client_cert_pem and self.client_key_pem:
            load_cert_chain_from_memory(context, self.client_cert_pem, self.client_key_pem)
        self._ssl = context
        return context


def load_cert_chain_from_memory(context: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    """``SSLContext.load_cert_chain`` wants paths; give it anonymous memory files instead of temp files."""
    fds = []
    try:
        for label, payload in (("cert", cert_pem), ("key", key_pem)):
            fd = os.memfd_create(f"lockstep-{label}", os.MFD_CLOEXEC)
            fds.append(fd)
            os.write(fd, payload)
        context.load_cert_chain(f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}")
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
