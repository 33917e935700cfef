"""The ``sops`` render stage: decrypt every document that carries SOPS metadata, whatever its kind.

Identities come from the Application's ``spec.decryption.sops.secretRef`` Secret (its ``*.agekey``
entries), read through the stage context. Plaintext exists only in the returned objects, in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core_sync.stages import Diagnostic, KubeObject, StageContext, StageResult


class SopsStage:
    """Render stage ``sops`` (registered under ``lockstep.stages``)."""

    name = "sops"

    def render(self, objects: Sequence[KubeObject], context: StageContext) -> StageResult:
        from sops_plugin.format.document import has_metadata

        todo = [obj for obj in objects if has_metadata(obj)]
        if not todo:
            return StageResult(list(objects))
        diagnostics: list[Diagnostic] = []
        identities, problem = self._identities(context)
        out: list[KubeObject] = []
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
                out.append(self._decrypt(obj, identities, ref))
            except Exception as exc:  # any failure is this object's failure, never a crash of the revision
                from sops_plugin.errors import SopsError

                message = str(exc) if isinstance(exc, SopsError) else f"{type(exc).__name__}: {exc}"
                diagnostics.append(
                    Diagnostic("error", ref, f"SOPS decryption failed: {message}", reason="DecryptFailed")
                )
        return StageResult(out, diagnostics)

    @staticmethod
    def _decrypt(obj: KubeObject, identities: list[Any], ref: str) -> KubeObject:
        from sops_plugin.api import decrypt_object

        return decrypt_object(dict(obj), identities)

    @staticmethod
    def _identities(context: StageContext) -> tuple[list[Any], str | None]:
        sops_cfg = (context.decryption or {}).get("sops") or {}
        name = ((sops_cfg.get("secretRef") or {}) if isinstance(sops_cfg, dict) else {}).get("name")
        if not name:
            return [], "object carries SOPS metadata but spec.decryption.sops.secretRef is not set"
        if context.read_secret is None:
            return [], f"cannot read Secret {name}: no cluster access in this context"
        try:
            data = context.read_secret(name)
        except Exception as exc:
            return [], f"cannot read decryption Secret {context.namespace}/{name}: {type(exc).__name__}"
        from sops_plugin.errors import SopsError
        from sops_plugin.identities import from_secret_data

        try:
            identities = from_secret_data(data)
        except SopsError as exc:
            return [], f"decryption Secret {context.namespace}/{name}: {exc}"
        if not identities:
            return [], f"decryption Secret {context.namespace}/{name} has no *.agekey entries"
        return identities, None
