"""Run one generator config: decrypt the files it names and build the objects, all in memory.

Files are read relative to the kustomization directory (kustomize runs the plugin there), confined to the
Git work tree holding it (:func:`core_sync.confine.local_root`): a generator cannot make the plugin read
``/etc`` or another repository. Decryption uses the identities sops itself would load (``SOPS_AGE_KEY_FILE``,
``SOPS_AGE_KEY``, ...). Nothing is written anywhere; errors name the generator and the file.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from integrations.ksops.config import GeneratorConfig, SecretFrom, key_and_path

if TYPE_CHECKING:
    from sops_plugin.format.age import Identity

KubeObject = dict[str, Any]
_FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".env": "dotenv", ".ini": "ini"}


class GenerateError(ValueError):
    """A file that cannot be read, decrypted or used; the message names it and why (never its content)."""


class Generator:
    """Decrypts for every config of one run (identities and keys loaded once)."""

    def __init__(self, directory: Path, environ: dict[str, str]) -> None:
        from core_sync.confine import local_root

        self.directory = directory
        self.root = local_root(directory)
        self.environ = environ
        self._identities: list[Identity] | None = None

    def run(self, config: GeneratorConfig) -> list[KubeObject]:
        out: list[KubeObject] = []
        for path in config.files:
            out += self._manifests(path)
        for item in config.secret_from:
            out.append(self._secret_from(item))
        if config.sealed_secrets:
            keys = self._sealing_keys(config.sealing_keys)
            for path in config.sealed_secrets:
                out += self._unsealed(path, keys)
        return out

    # --- SOPS -----------------------------------------------------------------------------------------

    def _read(self, path: str) -> bytes:
        from core_sync.confine import ConfinementError, read_file

        try:
            return read_file(self.directory / path, self.root)
        except ConfinementError as problem:
            raise GenerateError(f"{path}: {problem.reason}") from None

    def identities(self) -> list[Identity]:
        if self._identities is None:
            from sops_plugin.errors import SopsError
            from sops_plugin.identities import from_environment

            try:
                self._identities = from_environment(self.environ)
            except SopsError as problem:
                raise GenerateError(str(problem)) from None
        return self._identities

    def decrypt(self, path: str) -> bytes:
        """The plaintext of SOPS file ``path``, in its own format (as ``sops -d`` prints it)."""
        from sops_plugin.api import decrypt_bytes
        from sops_plugin.errors import SopsError

        data = self._read(path)
        fmt = _FORMATS.get(Path(path).suffix.lower(), "binary")
        try:
            return decrypt_bytes(data, fmt, self.identities(), where=path)
        except SopsError as problem:
            raise GenerateError(f"trouble decrypting file {path}: {problem.message}") from None

    def _manifests(self, path: str) -> list[KubeObject]:
        from gocompat.limits import LimitExceeded, iter_yaml

        if Path(path).suffix.lower() not in (".yaml", ".yml", ".json"):
            raise GenerateError(
                f"{path}: 'files' lists manifests (YAML or JSON); use secretFrom for other files"
            )
        plain = self.decrypt(path)
        try:
            docs = [d for d in iter_yaml(plain.decode("utf-8")) if d is not None]
        except (ValueError, LimitExceeded, UnicodeDecodeError) as problem:
            raise GenerateError(
                f"{path}: decrypted content is not a manifest: {type(problem).__name__}"
            ) from None
        for index, doc in enumerate(docs):
            if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion"):
                raise GenerateError(f"{path}: document {index + 1} is not a Kubernetes object")
        return docs

    def _secret_from(self, item: SecretFrom) -> KubeObject:
        """A Secret as KSOPS builds it: files and envs in ``stringData``, binary files in ``data``."""
        string_data: dict[str, str] = {}
        data: dict[str, str] = {}
        for entry in item.files:
            key, path = key_and_path(entry)
            string_data[key] = self.decrypt(path).decode("utf-8", "surrogateescape")
        for entry in item.binary_files:
            key, path = key_and_path(entry)
            data[key] = base64.b64encode(self.decrypt(path)).decode()
        for path in item.envs:
            string_data.update(parse_dotenv(self.decrypt(path).decode("utf-8", "replace"), path))
        secret: KubeObject = {"apiVersion": "v1", "kind": "Secret", "metadata": item.metadata}
        if item.type:
            secret["type"] = item.type
        if string_data:
            secret["stringData"] = dict(sorted(string_data.items()))
        if data:
            secret["data"] = dict(sorted(data.items()))
        return secret

    # --- SealedSecrets (Lockstep's kind) ----------------------------------------------------------------

    def _sealing_keys(self, paths: Sequence[str]) -> list[Any]:
        from core_sync.confine import ConfinementError, read_named_file
        from sealed.format.errors import FormatError
        from sealed.format.keys import load_private_keys

        named = list(paths)
        from_env = self.environ.get("SEALED_SECRETS_RECOVERY_PRIVATE_KEY", "")
        named += [p for p in from_env.split(",") if p]
        if not named:
            raise GenerateError(
                "sealedSecrets needs private keys: list files under sealingKeys or set "
                "SEALED_SECRETS_RECOVERY_PRIVATE_KEY"
            )
        keys: list[Any] = []
        for path in named:
            target = Path(path) if Path(path).is_absolute() else self.directory / path
            try:
                keys += load_private_keys(read_named_file(target), path)
            except ConfinementError as problem:
                raise GenerateError(f"sealing key {path}: {problem.reason}") from None
            except FormatError as problem:
                raise GenerateError(f"sealing key {path}: {problem.message}") from None
        return keys

    def _unsealed(self, path: str, keys: Sequence[Any]) -> list[KubeObject]:
        from sealed.format.convert import unseal
        from sealed.format.documents import load_documents
        from sealed.format.errors import FormatError

        try:
            documents = load_documents(self._read(path))
        except FormatError as problem:
            raise GenerateError(f"{path}: {problem}") from None
        out = []
        for index, document in enumerate(documents):
            try:
                out.append(unseal(document, keys))
            except FormatError as problem:
                where = path if len(documents) == 1 else f"{path}: document {index + 1}"
                raise GenerateError(f"{where}: {problem}") from None
        return out


def parse_dotenv(text: str, source: str) -> dict[str, str]:
    """``KEY=VALUE`` lines (``export`` prefix, comments, quoted values) as godotenv reads them for KSOPS."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise GenerateError(f"{source}: line {number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        values[key] = value
    return values
