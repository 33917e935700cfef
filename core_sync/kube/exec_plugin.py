"""Client-go credential plugins (``users[].user.exec``), run as kubectl runs them.

The plugin is a command that prints an ``ExecCredential`` (``client.authentication.k8s.io/v1`` or
``v1beta1``) holding a bearer token or a client certificate and key, optionally with an
``expirationTimestamp``. Results are cached in memory until that time and re-run when the API server
answers 401 (the client asks through :meth:`ExecPlugin.credentials` with ``refresh=True``). Keys stay
in memory: nothing the plugin prints is written to disk.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core_sync.kube.credentials import CachedCredentials, CredentialError, Credentials

API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")
TIMEOUT_S = 120.0  # unattended runs only: a person at an interactive prompt takes their time
MAX_OUTPUT = 1 << 20
DOCS = "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins"


@dataclass(frozen=True)
class ExecSpec:
    """The validated ``exec`` section of one kubeconfig user."""

    api_version: str
    command: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    install_hint: str
    provide_cluster_info: bool
    interactive_mode: str

    @classmethod
    def parse(cls, section: Any, where: str, base: Path | None) -> ExecSpec:
        """Check ``section`` (``where`` names it in errors); a command with ``/`` is relative to ``base``."""
        if not isinstance(section, dict):
            raise CredentialError(f"{where}: must be a mapping")
        api_version = section.get("apiVersion")
        if api_version not in API_VERSIONS:
            raise CredentialError(
                f"{where}.apiVersion: {api_version!r} is not one of {', '.join(API_VERSIONS)}"
            )
        command = section.get("command")
        if not isinstance(command, str) or not command:
            raise CredentialError(f"{where}.command: must be a non-empty string")
        if "/" in command and not Path(command).is_absolute() and base is not None:
            command = str(base / command)
        args = section.get("args") or []
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise CredentialError(f"{where}.args: must be a list of strings")
        env = []
        for index, item in enumerate(section.get("env") or []):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) or "value" not in item:
                raise CredentialError(f"{where}.env[{index}]: must be a mapping with name and value")
            env.append((item["name"], str(item["value"])))
        mode = section.get("interactiveMode")
        if mode is None and api_version.endswith("/v1beta1"):
            mode = "IfAvailable"
        if mode not in INTERACTIVE_MODES:
            raise CredentialError(
                f"{where}.interactiveMode: {mode!r} is not one of {', '.join(INTERACTIVE_MODES)}"
            )
        return cls(
            api_version=api_version,
            command=command,
            args=tuple(args),
            env=tuple(env),
            install_hint=str(section.get("installHint") or ""),
            provide_cluster_info=bool(section.get("provideClusterInfo")),
            interactive_mode=mode,
        )


class ExecPlugin(CachedCredentials):
    """Runs one credential plugin; its answer is cached until it expires or the server rejects it."""

    def __init__(
        self,
        spec: ExecSpec,
        *,
        where: str,
        cluster_info: dict[str, Any] | None = None,
        allow_interactive: bool = True,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.where = where
        self.cluster_info = cluster_info
        self.allow_interactive = allow_interactive

    def _interactive(self) -> bool:
        mode = self.spec.interactive_mode
        terminal = self.allow_interactive and sys.stdin is not None and sys.stdin.isatty()
        if mode == "Always" and not terminal:
            raise CredentialError(
                f"{self.where}: interactiveMode is Always but there is no terminal to interact with"
                + ("" if self.allow_interactive else " (the operator never gives a plugin stdin)")
            )
        return mode != "Never" and terminal

    def _exec_info(self, interactive: bool) -> str:
        spec: dict[str, Any] = {"interactive": interactive}
        if self.spec.provide_cluster_info and self.cluster_info is not None:
            spec["cluster"] = self.cluster_info
        return json.dumps({"apiVersion": self.spec.api_version, "kind": "ExecCredential", "spec": spec})

    def _resolve_command(self) -> str:
        found = shutil.which(self.spec.command)
        if found is None:
            hint = f"\n{self.spec.install_hint.strip()}" if self.spec.install_hint.strip() else ""
            raise CredentialError(
                f"{self.where}.command: executable {self.spec.command!r} not found: the kubeconfig uses a "
                f"client-go credential plugin that is not installed ({DOCS}){hint}"
            )
        return found

    def fetch(self) -> Credentials:
        command = self._resolve_command()
        interactive = self._interactive()
        env = {**os.environ, **dict(self.spec.env), "KUBERNETES_EXEC_INFO": self._exec_info(interactive)}
        try:
            done = subprocess.run(  # the command is the kubeconfig's, as kubectl runs it
                [command, *self.spec.args],
                stdin=None if interactive else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=None if interactive else subprocess.PIPE,
                env=env,
                timeout=None if interactive else TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise CredentialError(
                f"{self.where}: plugin {self.spec.command!r} ran over {TIMEOUT_S:.0f} s"
            ) from exc
        except OSError as exc:
            raise CredentialError(
                f"{self.where}: cannot run plugin {self.spec.command!r}: {exc.strerror}"
            ) from exc
        if done.returncode != 0:
            stderr = (done.stderr or b"")[-2000:].decode(errors="replace").strip()
            raise CredentialError(
                f"{self.where}: plugin {self.spec.command!r} exited {done.returncode}"
                + (f": {stderr}" if stderr else "")
            )
        return self._parse(done.stdout)

    def _parse(self, stdout: bytes) -> Credentials:
        fail = f"{self.where}: plugin {self.spec.command!r} printed"
        if len(stdout) > MAX_OUTPUT:
            raise CredentialError(f"{fail} more than {MAX_OUTPUT} bytes")
        try:
            answer = json.loads(stdout)
        except ValueError as exc:
            raise CredentialError(f"{fail} no ExecCredential JSON: {exc}") from None
        if not isinstance(answer, dict) or answer.get("kind") != "ExecCredential":
            raise CredentialError(f"{fail} something that is not an ExecCredential")
        if answer.get("apiVersion") != self.spec.api_version:
            raise CredentialError(
                f"{fail} apiVersion {answer.get('apiVersion')!r}, but the kubeconfig asks for "
                f"{self.spec.api_version!r}"
            )
        status = answer.get("status")
        if not isinstance(status, dict):
            raise CredentialError(f"{fail} an ExecCredential without status")
        token = status.get("token") or None
        cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
        if bool(cert) != bool(key):
            raise CredentialError(f"{fail} only one of status.clientCertificateData and status.clientKeyData")
        if not token and not cert:
            raise CredentialError(f"{fail} neither status.token nor status.clientCertificateData")
        if token is not None and not isinstance(token, str):
            raise CredentialError(f"{fail} a status.token that is not a string")
        return Credentials(
            token=token,
            cert_pem=str(cert).encode() if cert else None,
            key_pem=str(key).encode() if key else None,
            expires=_parse_time(status.get("expirationTimestamp"), fail),
        )


def cluster_info(cluster: dict[str, Any], ca_pem: bytes | None) -> dict[str, Any]:
    """``spec.cluster`` of ``KUBERNETES_EXEC_INFO`` (provideClusterInfo), from one kubeconfig cluster."""
    info: dict[str, Any] = {"server": cluster.get("server", "")}
    for key in ("tls-server-name", "insecure-skip-tls-verify", "proxy-url", "disable-compression"):
        if cluster.get(key):
            info[key] = cluster[key]
    if ca_pem:
        info["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    for extension in cluster.get("extensions") or []:
        if isinstance(extension, dict) and extension.get("name") == "client.authentication.k8s.io/exec":
            info["config"] = extension.get("extension")
    return info


def _parse_time(value: Any, fail: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise CredentialError(f"{fail} status.expirationTimestamp {value!r}, not an RFC 3339 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
