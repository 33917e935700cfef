"""The generator configs ``lockstep-ksops`` accepts (pure: a parsed document in, a checked config out).

KSOPS's, unchanged (``apiVersion: viaduct.ai/v1``, any version of that group, ``kind: ksops``)::

    files: [./secret.enc.yaml]              # SOPS files whose decrypted documents are the output
    secretFrom:                             # Secrets built from decrypted files
      - metadata: {name: app, labels: ..., annotations: ...}
        type: Opaque
        files: [./config.enc.json, key=./other.enc.txt]   # stringData, key = file name or key=
        binaryFiles: [./cert.enc.der]                      # data (base64)
        envs: [./secret.enc.env]                           # stringData from KEY=VALUE lines

Lockstep's own kind (``apiVersion: lockstep.dev/v1alpha1``, ``kind: SecretsGenerator``) takes the same
fields plus ``sealedSecrets`` (SealedSecret files opened into Secrets) and ``sealingKeys`` (the private key
files or key backups that open them, as ``lockstep seal --recovery-private-key`` reads them; also from
``SEALED_SECRETS_RECOVERY_PRIVATE_KEY``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KSOPS_GROUP = "viaduct.ai"
LOCKSTEP_API_VERSION = "lockstep.dev/v1alpha1"
LOCKSTEP_KIND = "SecretsGenerator"


class ConfigError(ValueError):
    """A generator config that cannot be used; the message names the field."""


@dataclass(frozen=True)
class SecretFrom:
    metadata: dict[str, Any]
    type: str = ""
    files: list[str] = field(default_factory=list)
    binary_files: list[str] = field(default_factory=list)
    envs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GeneratorConfig:
    name: str
    files: list[str] = field(default_factory=list)
    secret_from: list[SecretFrom] = field(default_factory=list)
    sealed_secrets: list[str] = field(default_factory=list)
    sealing_keys: list[str] = field(default_factory=list)


def is_generator(doc: Any) -> bool:
    """A config this plugin handles (KSOPS's group, any kind as KSOPS itself; or Lockstep's kind)."""
    if not isinstance(doc, Mapping):
        return False
    api_version = str(doc.get("apiVersion") or "")
    if api_version.split("/", 1)[0] == KSOPS_GROUP:
        return True
    return api_version == LOCKSTEP_API_VERSION and doc.get("kind") == LOCKSTEP_KIND


def parse(doc: Any) -> GeneratorConfig:
    """Check a generator config; raises :class:`ConfigError` naming the field."""
    if not is_generator(doc):
        found = (
            f"{doc.get('apiVersion')}/{doc.get('kind')}" if isinstance(doc, Mapping) else type(doc).__name__
        )
        raise ConfigError(
            f"not a generator config: expected apiVersion {KSOPS_GROUP}/v1 kind ksops, or "
            f"{LOCKSTEP_API_VERSION} kind {LOCKSTEP_KIND}; found {found}"
        )
    own = doc.get("apiVersion") == LOCKSTEP_API_VERSION
    metadata = doc.get("metadata") or {}
    name = str(metadata.get("name") or "") if isinstance(metadata, Mapping) else ""
    config = GeneratorConfig(
        name=name,
        files=_paths(doc, "files"),
        secret_from=[
            _secret_from(item, f"secretFrom[{i}]") for i, item in enumerate(_list(doc, "secretFrom"))
        ],
        sealed_secrets=_paths(doc, "sealedSecrets") if own else [],
        sealing_keys=_paths(doc, "sealingKeys") if own else [],
    )
    if not (config.files or config.secret_from or config.sealed_secrets):
        wanted = "'files', 'secretFrom' or 'sealedSecrets'" if own else "'files' or 'secretFrom'"
        raise ConfigError(f"missing the required {wanted} key in the generator config {name!r}")
    return config


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list, found {type(value).__name__}")
    return value


def _paths(doc: Mapping[str, Any], key: str, where: str = "") -> list[str]:
    out = []
    for index, item in enumerate(_list(doc, key)):
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{where}{key}[{index}]: expected a file path, found {item!r}")
        out.append(item)
    return out


def _secret_from(item: Any, where: str) -> SecretFrom:
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where}: expected a mapping")
    metadata = item.get("metadata") or {}
    if not isinstance(metadata, Mapping) or not isinstance(metadata.get("name", ""), str):
        raise ConfigError(f"{where}.metadata: expected a mapping with a string name")
    type_ = item.get("type") or ""
    if not isinstance(type_, str):
        raise ConfigError(f"{where}.type: expected a string")
    files = _paths(item, "files", f"{where}.")
    for index, entry in enumerate(files):
        if entry.count("=") > 1:
            raise ConfigError(f"{where}.files[{index}]: invalid format {entry!r} (KEY=PATH or PATH)")
    return SecretFrom(
        metadata=dict(metadata),
        type=type_,
        files=files,
        binary_files=_paths(item, "binaryFiles", f"{where}."),
        envs=_paths(item, "envs", f"{where}."),
    )


def key_and_path(entry: str) -> tuple[str, str]:
    """KSOPS's ``key=path`` or ``path`` (the key is then the file's base name)."""
    if "=" in entry:
        key, path = entry.split("=", 1)
        return key, path
    return entry.rstrip("/").rsplit("/", 1)[-1], entry
