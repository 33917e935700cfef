"""One API server and one user: server URL, TLS, credentials and request headers.

A kubeconfig becomes a :class:`KubeConfig` in :mod:`core_sync.kube.kubeconfig` (reading, merging and
checking files, as kubectl does); in-cluster configuration is built here. Credentials are static (token,
token file, client certificate, basic auth) or come from a credential plugin or auth-provider, asked again
when they expire or when the server answers 401 (see :meth:`KubeConfig.credentials`).

Client keys reach OpenSSL through an anonymous in-memory file (``memfd``), never a temp file: key material
must not touch the disk.
"""

from __future__ import annotations

import base64
import contextlib
import os
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core_sync.kube.credentials import CachedCredentials, CredentialError, Credentials

IN_CLUSTER_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class KubeConfigError(ValueError):
    """The kubeconfig is missing, unreadable, malformed, or its credentials cannot be had.

    The message names the file (or Secret) and the field."""


class NoKubeConfig(KubeConfigError):
    """No kubeconfig file exists and this is not a Pod: there is no cluster to talk to."""


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
    tls_server_name: str | None = None
    proxy_url: str | None = None
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    impersonate: tuple[tuple[str, str], ...] = ()
    plugin: CachedCredentials | None = field(default=None, repr=False)
    ca_field: str = field(default="certificate-authority", repr=False)  # names the fields in TLS errors
    cert_field: str = field(default="client-certificate", repr=False)
    _ssl: dict[tuple[bytes | None, bytes | None], ssl.SSLContext] = field(default_factory=dict, repr=False)
    _ssl_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- loading -----------------------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        context: str | None = None,
        *,
        interactive: bool = True,
    ) -> KubeConfig:
        """``path``, else the files of ``$KUBECONFIG`` merged, else ``~/.kube/config``, else in-cluster.

        ``interactive=False`` (the operator) never hands a credential plugin a terminal."""
        from core_sync.kube.kubeconfig import load

        return load(path, context, interactive=interactive)

    @classmethod
    def from_file(cls, path: Path, context: str | None = None) -> KubeConfig:
        from core_sync.kube.kubeconfig import load

        return load(path, context)

    @classmethod
    def from_dict(
        cls,
        data: Any,
        context: str | None = None,
        source: str = "<memory>",
        base: Path | None = None,
        *,
        allow_exec: bool = True,
        allow_files: bool = True,
    ) -> KubeConfig:
        """One kubeconfig already parsed (``source`` names it in errors; relative paths resolve against
        ``base``). A kubeconfig from a Secret passes ``allow_files=False``: its author must not make the
        operator read its own files (a token file, for one)."""
        from core_sync.kube.kubeconfig import from_documents

        return from_documents(
            [(source, data, base)], context, interactive=False, allow_exec=allow_exec, allow_files=allow_files
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

    # -- credentials -------------------------------------------------------------------------------------
    def credentials(self, *, refresh: bool = False, rejected: Credentials | None = None) -> Credentials:
        """The credentials to send now. ``refresh`` (after a 401 for ``rejected``) re-runs a plugin."""
        if self.plugin is not None:
            try:
                answer = self.plugin.credentials(refresh=refresh, rejected=rejected)
            except CredentialError as error:
                raise KubeConfigError(str(error)) from None
            return Credentials(
                token=answer.token,
                cert_pem=answer.cert_pem or self.client_cert_pem,
                key_pem=answer.key_pem or self.client_key_pem,
                expires=answer.expires,
            )
        token = self.token
        if self.token_file is not None:
            try:
                token = self.token_file.read_text().strip()
            except OSError as exc:
                raise KubeConfigError(f"{self.source}: tokenFile {self.token_file}: {exc.strerror}") from None
        return Credentials(token=token, cert_pem=self.client_cert_pem, key_pem=self.client_key_pem)

    @property
    def refreshable(self) -> bool:
        """Whether a 401 is worth one retry: the credentials can change (plugin, token file)."""
        return self.plugin is not None or self.token_file is not None

    def auth_header(self) -> dict[str, str]:
        """The bearer (or basic) ``Authorization`` header for the current credentials."""
        return dict(self.headers(self.credentials()))

    def headers(self, creds: Credentials) -> list[tuple[str, str]]:
        """``Authorization`` and impersonation headers (``Impersonate-Group`` may repeat)."""
        found: list[tuple[str, str]] = []
        if creds.token:
            found.append(("Authorization", f"Bearer {creds.token}"))
        elif self.basic_auth is not None:
            pair = base64.b64encode(f"{self.basic_auth[0]}:{self.basic_auth[1]}".encode()).decode()
            found.append(("Authorization", f"Basic {pair}"))
        return found + list(self.impersonate)

    # -- TLS -----------------------------------------------------------------------------------------------
    def ssl_context(self, creds: Credentials | None = None) -> ssl.SSLContext:
        """A TLS context trusting the cluster CA and presenting ``creds``' client certificate (one per
        certificate, built once)."""
        creds = creds or self.credentials()
        key = (creds.cert_pem, creds.key_pem)
        with self._ssl_lock:
            context = self._ssl.get(key)
            if context is None:
                static = (creds.cert_pem, creds.key_pem) == (self.client_cert_pem, self.client_key_pem)
                context = tls_context(
                    self.ca_pem,
                    self.insecure,
                    creds.cert_pem,
                    creds.key_pem,
                    where=self.source,
                    ca_field=self.ca_field,
                    cert_field=self.cert_field if static else "the credential plugin's clientCertificateData",
                )
                if len(self._ssl) > 4:  # rotated plugin certificates: keep the newest few only
                    self._ssl.clear()
                self._ssl[key] = context
            return context


def tls_context(
    ca_pem: bytes | None,
    insecure: bool,
    cert_pem: bytes | None,
    key_pem: bytes | None,
    *,
    where: str,
    ca_field: str = "certificate-authority",
    cert_field: str = "client-certificate",
) -> ssl.SSLContext:
    """Build a client TLS context; a bad PEM is a :class:`KubeConfigError` naming ``where`` and the field."""
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif ca_pem:
        try:
            context.load_verify_locations(cadata=ca_pem.decode("ascii"))
        except (ssl.SSLError, UnicodeDecodeError, ValueError):
            raise KubeConfigError(f"{where}: {ca_field}: not a PEM CA certificate") from None
    if cert_pem and key_pem:
        try:
            load_cert_chain_from_memory(context, cert_pem, key_pem)
        except ssl.SSLError as exc:
            raise KubeConfigError(
                f"{where}: {cert_field}: not a PEM certificate and matching key ({exc.reason or exc})"
            ) from None
    elif cert_pem or key_pem:
        raise KubeConfigError(f"{where}: {cert_field}: a client certificate needs both certificate and key")
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
