"""Kubeconfig files read, merged and checked as kubectl does, into one :class:`KubeConfig`.

- ``$KUBECONFIG`` may list several files: missing and empty ones are skipped; for clusters, users and
  contexts the first file that defines a name wins; ``current-context`` comes from the first file that
  sets it.
- Relative paths (certificate files, token files, a plugin command containing ``/``) resolve against the
  file that names them.
- Any malformed part of the chosen context (not YAML, not a mapping, a missing cluster or user, bad
  base64, a bad PEM, an unreadable file) is one :class:`KubeConfigError` naming the file and the field.
"""

from __future__ import annotations

import base64
import binascii
import os
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core_sync.kube.config import IN_CLUSTER_DIR, KubeConfig, KubeConfigError, NoKubeConfig
from core_sync.kube.credentials import CredentialError, Credentials
from gocompat import limits

MAX_FILE_BYTES = 4 << 20
EXEC_HINT = " (allow them with lockstep operator --insecure-kubeconfig-exec)"
SECTIONS = {"clusters": "cluster", "users": "user", "contexts": "context"}
Document = tuple[str, Any, Path | None]


@dataclass(frozen=True)
class Entry:
    """One named cluster, user or context, and the file it came from."""

    body: dict[str, Any]
    source: str
    base: Path | None
    where: str  # e.g. users[admin].user


def load(path: str | os.PathLike[str] | None, context: str | None, *, interactive: bool = True) -> KubeConfig:
    """``path`` alone, else ``$KUBECONFIG``'s files merged, else ``~/.kube/config``, else in-cluster."""
    if path is not None:
        return from_documents([_read(Path(path))], context, interactive=interactive)
    env = os.environ.get("KUBECONFIG", "")
    candidates = [p for p in env.split(os.pathsep) if p] or [str(Path.home() / ".kube" / "config")]
    existing = [Path(p).expanduser() for p in candidates if Path(p).expanduser().exists()]
    if not existing:
        if (IN_CLUSTER_DIR / "token").is_file() and os.environ.get("KUBERNETES_SERVICE_HOST"):
            return KubeConfig.in_cluster()
        raise NoKubeConfig(f"no kubeconfig found (tried {', '.join(candidates)}) and not in a cluster")
    return from_documents([_read(p) for p in existing], context, interactive=interactive)


def _read(path: Path) -> Document:
    try:
        if not path.is_file():
            raise KubeConfigError(f"{path}: cannot read kubeconfig: not a regular file")
        with path.open("rb") as handle:
            raw = limits.read_at_most(handle, MAX_FILE_BYTES)
    except OSError as exc:
        raise KubeConfigError(f"{path}: cannot read kubeconfig: {exc.strerror or exc}") from None
    return str(path), parse_document(raw, str(path)), path.parent.absolute()


def parse_document(raw: bytes, source: str) -> Any:
    """YAML (or JSON) text of one kubeconfig, with size and alias limits; errors name ``source``."""
    if len(raw) > MAX_FILE_BYTES:
        raise KubeConfigError(f"{source}: kubeconfig is larger than {MAX_FILE_BYTES >> 20} MiB")
    try:
        return limits.safe_load(raw.decode("utf-8", "replace"))
    except yaml.YAMLError as exc:
        raise KubeConfigError(f"{source}: not valid YAML: {_yaml_reason(exc)}") from None
    except limits.LimitExceeded as exc:
        raise KubeConfigError(f"{source}: not valid YAML: {exc}") from None
    except RecursionError:
        raise KubeConfigError(f"{source}: not valid YAML: nested too deeply") from None


def _yaml_reason(exc: yaml.YAMLError) -> str:
    """What is wrong and where, without PyYAML's snippet of the line: the line may hold a token."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return f"{exc.problem or exc.context or 'invalid YAML'}{where}"
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def from_documents(
    documents: Sequence[Document],
    context: str | None,
    *,
    interactive: bool = True,
    allow_exec: bool = True,
    allow_files: bool = True,
) -> KubeConfig:
    """Merge parsed kubeconfigs (first wins) and resolve ``context`` (default: current-context)."""
    maps: dict[str, dict[str, Entry]] = {section: {} for section in SECTIONS}
    current: str | None = None
    for source, data, base in documents:
        if data is None or data == "":
            continue  # kubectl skips empty files
        if not isinstance(data, dict):
            raise KubeConfigError(f"{source}: a kubeconfig must be a mapping, not {type(data).__name__}")
        for section, body_key in SECTIONS.items():
            _collect(maps[section], data.get(section), section, body_key, source, base)
        value = data.get("current-context")
        if value not in (None, "") and not isinstance(value, str):
            raise KubeConfigError(f"{source}: current-context: must be a string")
        current = current or value or None
    files = ", ".join(source for source, data, _ in documents if data)
    if not files:
        raise KubeConfigError(f"{', '.join(source for source, _, _ in documents)}: the kubeconfig is empty")
    name = context or current
    if not name:
        raise KubeConfigError(f"{files}: no current-context is set and no context was given")
    ctx = maps["contexts"].get(name)
    if ctx is None:
        known = ", ".join(sorted(maps["contexts"])) or "none"
        raise KubeConfigError(f"{files}: context {name!r} not found (contexts: {known})")
    cluster_name = ctx.body.get("cluster")
    if not isinstance(cluster_name, str) or not cluster_name:
        raise KubeConfigError(f"{ctx.source}: {ctx.where}.cluster: not set")
    cluster = maps["clusters"].get(cluster_name)
    if cluster is None:
        raise KubeConfigError(f"{ctx.source}: {ctx.where}.cluster: cluster {cluster_name!r} is not defined")
    user_name = ctx.body.get("user") or ""
    if not isinstance(user_name, str):
        raise KubeConfigError(f"{ctx.source}: {ctx.where}.user: must be a string")
    user = maps["users"].get(user_name) if user_name else Entry({}, ctx.source, ctx.base, "users[]")
    if user is None:
        raise KubeConfigError(f"{ctx.source}: {ctx.where}.user: user {user_name!r} is not defined")
    namespace = ctx.body.get("namespace") or "default"
    if not isinstance(namespace, str):
        raise KubeConfigError(f"{ctx.source}: {ctx.where}.namespace: must be a string")
    return _build(cluster, user, namespace, interactive, allow_exec, allow_files)


def _collect(
    into: dict[str, Entry], items: Any, section: str, body_key: str, source: str, base: Path | None
) -> None:
    if items is None:
        return
    if not isinstance(items, list):
        raise KubeConfigError(f"{source}: {section}: must be a list")
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise KubeConfigError(f"{source}: {section}[{index}]: must be a mapping with a name")
        body = item.get(body_key) or {}
        where = f"{section}[{item['name']}].{body_key}"
        if not isinstance(body, dict):
            raise KubeConfigError(f"{source}: {where}: must be a mapping")
        into.setdefault(item["name"], Entry(body, source, base, where))


class _Fields:
    """Typed reads of one entry's fields, each failure naming file and field."""

    def __init__(self, entry: Entry, allow_files: bool) -> None:
        self.entry = entry
        self.allow_files = allow_files

    def fail(self, key: str, reason: str) -> KubeConfigError:
        return KubeConfigError(f"{self.entry.source}: {self.entry.where}.{key}: {reason}")

    def string(self, key: str) -> str | None:
        value = self.entry.body.get(key)
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise self.fail(key, "must be a string")
        return value

    def strings(self, key: str) -> list[str]:
        value = self.entry.body.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of strings")
        return value

    def flag(self, key: str) -> bool:
        value = self.entry.body.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def path(self, key: str) -> Path | None:
        value = self.string(key)
        if value is None:
            return None
        if not self.allow_files:
            raise self.fail(key, "file references are not allowed in a kubeconfig from a Secret (use *-data)")
        path = Path(value).expanduser()
        return path if path.is_absolute() or self.entry.base is None else self.entry.base / path

    def blob(self, data_key: str, file_key: str) -> bytes | None:
        """``*-data`` (base64) wins over the file ``file_key`` names."""
        data = self.string(data_key)
        if data is not None:
            try:
                return base64.b64decode("".join(data.split()), validate=True)
            except (binascii.Error, ValueError):
                raise self.fail(data_key, "not valid base64") from None
        path = self.path(file_key)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError as exc:
            raise self.fail(file_key, f"cannot read {path}: {exc.strerror or exc}") from None


def _build(
    cluster_entry: Entry,
    user_entry: Entry,
    namespace: str,
    interactive: bool,
    allow_exec: bool,
    allow_files: bool,
) -> KubeConfig:
    cluster, user = _Fields(cluster_entry, allow_files), _Fields(user_entry, allow_files)
    server = (cluster.string("server") or "").rstrip("/")
    if not server:
        raise cluster.fail("server", "not set")
    parsed = urllib.parse.urlsplit(server)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise cluster.fail("server", f"{server!r} is not an http(s) URL")
    ca_pem = cluster.blob("certificate-authority-data", "certificate-authority")
    insecure = cluster.flag("insecure-skip-tls-verify")
    proxy_url = cluster.string("proxy-url")
    if proxy_url is not None and urllib.parse.urlsplit(proxy_url).scheme != "http":
        scheme = urllib.parse.urlsplit(proxy_url).scheme or "no scheme"  # the URL may hold a password
        raise cluster.fail("proxy-url", f"{scheme}: only http:// proxies (CONNECT) are supported")
    cert_pem = user.blob("client-certificate-data", "client-certificate")
    key_pem = user.blob("client-key-data", "client-key")
    config = KubeConfig(
        server=server,
        ca_pem=ca_pem,
        client_cert_pem=cert_pem,
        client_key_pem=key_pem,
        token=user.string("token"),
        token_file=user.path("tokenFile"),
        insecure=insecure,
        namespace=namespace,
        source=cluster_entry.source,
        ca_field=f"{cluster_entry.where}.certificate-authority(-data)",
        cert_field=f"{user_entry.where}.client-certificate(-data)/client-key(-data)",
        tls_server_name=cluster.string("tls-server-name"),
        proxy_url=proxy_url,
        impersonate=_impersonation(user),
    )
    username, password = user.string("username"), user.string("password")
    if username is not None and password is not None:
        config.basic_auth = (username, password)
    if user_entry.body.get("exec") is not None and user_entry.body.get("auth-provider") is not None:
        raise user.fail("exec", "exec and auth-provider are both set: use one")
    if user_entry.body.get("exec") is not None:
        if not allow_exec:
            raise user.fail("exec", f"credential plugins are not allowed here{EXEC_HINT}")
        from core_sync.kube.exec_plugin import ExecPlugin, ExecSpec, cluster_info  # subprocess: only here

        try:
            spec = ExecSpec.parse(user_entry.body["exec"], "exec", user_entry.base if allow_files else None)
        except CredentialError as error:
            raise KubeConfigError(f"{user_entry.source}: {user_entry.where}.{error}") from None
        config.plugin = ExecPlugin(
            spec,
            where=f"{user_entry.source}: {user_entry.where}.exec",
            cluster_info=cluster_info(cluster_entry.body, ca_pem),
            allow_interactive=interactive,
        )
    elif user_entry.body.get("auth-provider") is not None:
        if not allow_exec:
            raise user.fail("auth-provider", f"auth providers are not allowed here{EXEC_HINT}")
        from core_sync.kube.auth_provider import AuthProvider

        try:
            config.plugin = AuthProvider(
                user_entry.body["auth-provider"],
                where=f"{user_entry.source}: {user_entry.where}.auth-provider",
                server=server,
            )
        except CredentialError as error:
            raise KubeConfigError(str(error)) from None
    # Build the TLS context now: a bad certificate, key or CA is a load error naming its field.
    config.ssl_context(Credentials(cert_pem=cert_pem, key_pem=key_pem))
    return config


def _impersonation(user: _Fields) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    as_user = user.string("as")
    if as_user:
        headers.append(("Impersonate-User", as_user))
    headers += [("Impersonate-Group", group) for group in user.strings("as-groups")]
    uid = user.string("as-uid")
    if uid:
        headers.append(("Impersonate-Uid", uid))
    extra = user.entry.body.get("as-user-extra") or {}
    if not isinstance(extra, dict):
        raise user.fail("as-user-extra", "must be a mapping of lists of strings")
    for key, values in extra.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise user.fail(f"as-user-extra.{key}", "must be a list of strings")
        header = "Impersonate-Extra-" + urllib.parse.quote(str(key), safe="")
        headers += [(header, urllib.parse.quote(value, safe="")) for value in values]
    if headers and not as_user:
        raise user.fail("as", "as-groups, as-uid and as-user-extra need as (the user to impersonate)")
    return tuple(headers)
