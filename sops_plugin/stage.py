"""The ``sops`` render stage: decrypt every document that carries SOPS metadata, whatever its kind.

Identities come from the Application's ``spec.decryption.sops.secretRef`` Secret (its ``*.agekey``
entries), read through the stage context, and, when the CLI runs it for its user, from wherever sops
itself reads them (the context's ``local_identities`` flag). Plaintext exists only in the returned
objects, in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core_sync.stages import (
    DecryptedFile,
    Diagnostic,
    FileDecryptFailed,
    KubeObject,
    StageContext,
    StageResult,
)
from sops_plugin.detect import has_metadata


class SopsStage:
    """Render stage ``sops`` (registered under ``lockstep.stages``)."""

    name = "sops"

    def render(self, objects: Sequence[KubeObject], context: StageContext) -> StageResult:
        todo = [obj for obj in objects if has_metadata(obj)]
        if not todo:
            return StageResult(list(objects))  # no SOPS block: the cipher code is not even imported
        diagnostics: list[Diagnostic] = []
        identities, problem = self._identities(context)
        whole_files: dict[str, dict[int, KubeObject] | Exception] = {}
        out: list[KubeObject] = []
        produced: set[int] = set()
        for obj in objects:
            if not has_metadata(obj):
                out.append(obj)
                continue
            context.check_deadline()
            ref = context.ref(obj)
            if problem is not None:
                diagnostics.append(Diagnostic("error", ref, problem, reason="DecryptFailed"))
                continue
            try:
                out.append(self._decrypt(obj, objects, context, identities, whole_files))
                produced.add(id(out[-1]))
            except Exception as exc:  # any failure is this object's failure, never a crash of the revision
                from sops_plugin.errors import SopsError

                message = str(exc) if isinstance(exc, SopsError) else f"{type(exc).__name__}: {exc}"
                diagnostics.append(
                    Diagnostic("error", ref, f"SOPS decryption failed: {message}", reason="DecryptFailed")
                )
        return StageResult(out, diagnostics, produced)

    def decrypt_file(self, data: bytes, source: str, context: StageContext) -> DecryptedFile | None:
        """A whole SOPS-encrypted YAML or JSON file (a Helm values file) decrypted in memory, with the
        identities objects are decrypted with; ``None`` for a file that carries no SOPS metadata."""
        if b"sops" not in data:
            return None  # the common case, without parsing
        from gocompat import limits

        try:
            parsed = limits.safe_load(data.decode("utf-8"))
        except Exception:  # not YAML/JSON, or over a limit: not ours; helm reports what is wrong
            return None
        if not has_metadata(parsed):
            return None
        identities, problem = self._identities(context)
        if problem is not None:
            raise FileDecryptFailed(problem)
        from sops_plugin.api import decrypt_revealing
        from sops_plugin.errors import SopsError

        fmt = "json" if source.lower().endswith(".json") else "yaml"
        try:
            plaintext, secrets = decrypt_revealing(data, fmt, identities)
        except SopsError as exc:
            raise FileDecryptFailed(f"SOPS decryption failed: {exc}") from None
        return DecryptedFile(plaintext, secrets)

    @staticmethod
    def _decrypt(
        obj: KubeObject,
        objects: Sequence[KubeObject],
        context: StageContext,
        identities: list[Any],
        whole_files: dict[str, dict[int, KubeObject] | Exception],
    ) -> KubeObject:
        """Decrypt from the original file when we have it (as ``sops -d`` does: its own YAML reading, one
        MAC over every document), else from the parsed object (kustomize output; Flux's route)."""
        from sops_plugin.api import decrypt_object

        source, text = context.source_of(obj), context.file_text(obj)
        if source is None or text is None:
            return _decrypt_built(obj, context, identities)
        if source not in whole_files:
            siblings = [o for o in objects if context.source_of(o) == source]
            whole_files[source] = _decrypt_file(source, text, siblings, identities)
        decrypted = whole_files[source]
        if isinstance(decrypted, Exception):
            raise decrypted
        return decrypted.get(id(obj)) or decrypt_object(dict(obj), identities)

    @staticmethod
    def _identities(context: StageContext) -> tuple[list[Any], str | None]:
        """The Secret's identities (``spec.decryption.sops.secretRef`` / ``--sops-secret``) and, when the
        user runs the CLI (``context.local_identities``), every identity sops itself would load."""
        from core_sync.age_keys import default_key_file
        from sops_plugin.errors import SopsError
        from sops_plugin.identities import from_environment

        sops_cfg = (context.decryption or {}).get("sops") or {}
        name = ((sops_cfg.get("secretRef") or {}) if isinstance(sops_cfg, dict) else {}).get("name")
        identities: list[Any] = []
        if name:
            identities, problem = SopsStage._secret_identities(context, str(name))
            if problem is not None:
                return [], problem
        if context.local_identities:
            try:
                identities += from_environment()
            except SopsError as exc:
                return [], str(exc)
        if identities:
            return identities, None
        if name:
            return [], f"decryption Secret {context.namespace}/{name} has no *.agekey entries"
        if context.local_identities:
            variables = "SOPS_AGE_KEY_FILE or SOPS_AGE_KEY"
            hint = (
                f"set {variables} in {context.local_identities_from}"
                if context.local_identities_from
                else f"set {variables}, put the key in {default_key_file()}, or pass --sops-secret"
            )
            return [], f"object carries SOPS metadata but no age identity was found: {hint}"
        return [], "object carries SOPS metadata but spec.decryption.sops.secretRef is not set"

    @staticmethod
    def _secret_identities(context: StageContext, name: str) -> tuple[list[Any], str | None]:
        if context.read_secret is None:
            return [], f"cannot read Secret {name}: no cluster access in this context"
        from core_sync.kube import ApiError, ApiUnreachable

        try:
            data = context.read_secret(name)
        except ApiUnreachable as exc:  # its text names the server and the reason only
            return [], f"cannot read decryption Secret {context.namespace}/{name}: {exc}"
        except ApiError as exc:
            server = f" (API server {exc.server})" if exc.server else ""
            return [], f"cannot read decryption Secret {context.namespace}/{name}: {exc}{server}"
        except Exception as exc:
            return [], f"cannot read decryption Secret {context.namespace}/{name}: {type(exc).__name__}"
        from sops_plugin.errors import SopsError
        from sops_plugin.identities import from_secret_data

        try:
            return from_secret_data(data), None
        except SopsError as exc:
            return [], f"decryption Secret {context.namespace}/{name}: {exc}"


def _decrypt_file(
    source: str, text: str, siblings: Sequence[KubeObject], identities: list[Any]
) -> dict[int, KubeObject] | Exception:
    """Every document of one SOPS file, decrypted as a whole and parsed as kubectl would parse the
    plaintext; keyed by ``id`` of the already-built object it replaces. ``{}`` when the file also holds
    documents without SOPS metadata (then each object is decrypted on its own)."""
    from core_sync.build import BuildError, parse_documents
    from sops_plugin.api import decrypt_bytes
    from sops_plugin.errors import SopsError

    if not all(has_metadata(o) for o in siblings):
        return {}
    fmt = "json" if source.lower().endswith(".json") else "yaml"
    try:
        plain = decrypt_bytes(text.encode(), fmt, identities, where=source)
        docs = parse_documents(plain.decode("utf-8", "surrogateescape"), source, json_file=fmt == "json")
    except (SopsError, BuildError) as error:
        return error
    if len(docs) != len(siblings):
        return {}
    return {id(original): built.obj for original, built in zip(siblings, docs, strict=True)}


def _decrypt_built(obj: KubeObject, context: StageContext, identities: list[Any]) -> KubeObject:
    """An object kustomize printed: kustomize re-orders keys, and SOPS's MAC covers the values in the file's
    order. On a MAC mismatch, the original document (the one under the checkout root carrying the same
    ``sops.mac``) gives the order back, as Flux sees it (kustomize in process keeps the file's order and
    appends fields it adds); then the MAC is checked again."""
    from sops_plugin.api import decrypt_object
    from sops_plugin.errors import MAC_MISMATCH, SopsError

    try:
        return decrypt_object(dict(obj), identities)
    except SopsError as error:
        if error.exit_code != MAC_MISMATCH:
            raise
        original = _original_document(obj, context)
        if original is None:
            raise
        return decrypt_object(in_original_order(obj, original), identities)


def _original_document(obj: KubeObject, context: StageContext) -> dict[str, Any] | None:
    import yaml

    from gocompat.limits import LimitExceeded, iter_yaml

    mac = (obj.get("sops") or {}).get("mac") if isinstance(obj.get("sops"), dict) else None
    if not isinstance(mac, str) or not mac or context.source_files is None:
        return None
    for _, text in context.source_files():
        if mac not in text:
            continue
        try:
            for doc in iter_yaml(text):
                meta = doc.get("sops") if isinstance(doc, dict) else None
                if isinstance(meta, dict) and meta.get("mac") == mac:
                    return dict(doc)
        except (ValueError, LimitExceeded, yaml.YAMLError):
            continue
    return None


def in_original_order(obj: Any, original: Any) -> Any:
    """``obj`` with every mapping's keys in ``original``'s order, keys ``original`` lacks after them."""
    if isinstance(obj, dict) and isinstance(original, dict):
        keys = [k for k in original if k in obj] + [k for k in obj if k not in original]
        return {k: in_original_order(obj[k], original.get(k)) for k in keys}
    if isinstance(obj, list) and isinstance(original, list) and len(obj) == len(original):
        return [in_original_order(a, b) for a, b in zip(obj, original, strict=True)]
    return obj
