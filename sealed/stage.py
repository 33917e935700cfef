"""The ``sealed`` render stage: each SealedSecret becomes the Secret it seals, with the cluster's keys.

This is what Bitnami's controller would create, done at render time so the revision is applied as one
unit (and a SealedSecret that cannot be opened fails the whole revision instead of leaving a stale
Secret). The generated Secret carries no ownerReference: the SealedSecret itself is not applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from core_sync.stages import Diagnostic, KubeObject, StageContext, StageResult
from sealed.key_names import KEY_LABEL, KEY_NAMESPACE

if TYPE_CHECKING:
    from sealed.format.crypto import PrivateKey

SEALED_API_VERSION = "bitnami.com/v1alpha1"


def is_sealed_secret(obj: Mapping[str, Any]) -> bool:
    return (
        isinstance(obj, Mapping)
        and obj.get("kind") == "SealedSecret"
        and str(obj.get("apiVersion", "")).startswith("bitnami.com/")
    )


class SealedStage:
    """Render stage ``sealed`` (entry point ``sealed = "sealed.stage:SealedStage"``)."""

    name = "sealed"

    def __init__(self, key_namespace: str = KEY_NAMESPACE) -> None:
        self.key_namespace = key_namespace

    def render(self, objects: Sequence[KubeObject], context: StageContext) -> StageResult:
        sealed = [obj for obj in objects if is_sealed_secret(obj)]
        if not sealed:
            return StageResult(list(objects))  # the key and cipher code is loaded only past this point
        from sealed.format.errors import FormatError

        diagnostics: list[Diagnostic] = []
        keys, problem = self._keys(context, diagnostics)
        out: list[KubeObject] = []
        produced: set[int] = set()
        for obj in objects:
            if not is_sealed_secret(obj):
                out.append(obj)
                continue
            context.check_deadline()
            ref = context.ref(obj)
            if problem:
                diagnostics.append(Diagnostic("error", ref, problem, "UnsealFailed"))
                continue
            try:
                out.append(self._open(obj, keys, context.namespace))
                produced.add(id(out[-1]))
            except FormatError as error:
                diagnostics.append(Diagnostic("error", ref, f"cannot unseal: {error}", "UnsealFailed"))
        return StageResult(out, diagnostics, produced)

    def _keys(self, context: StageContext, diagnostics: list[Diagnostic]) -> tuple[list[PrivateKey], str]:
        """The keys, or a reason (shared by every SealedSecret) why there are none."""
        client = context.operator_client or context.client  # the keys are the operator's, not a tenant's
        if client is None:
            return [], "no cluster access to read the sealing keys"
        from core_sync.kube import ApiError
        from sealed.keys import read_sealing_keys

        where = f"Secrets labelled {KEY_LABEL}=active in namespace {self.key_namespace}"
        try:
            keys, problems = read_sealing_keys(client, self.key_namespace)
        except (ApiError, OSError) as error:
            return [], f"cannot read the sealing keys ({where}): {error}"
        for note in problems:
            diagnostics.append(
                Diagnostic("warning", f"sealing key {note.split(':', 1)[0]}", note, "BadSealingKey")
            )
        if not keys:
            return [], f"no sealing keys: no usable {where}"
        return keys, ""

    @staticmethod
    def _open(obj: KubeObject, keys: list[PrivateKey], default_namespace: str) -> KubeObject:
        from sealed.format.convert import unseal

        metadata = dict(obj.get("metadata") or {})
        if not metadata.get("namespace"):
            metadata["namespace"] = default_namespace
        secret = unseal({**obj, "metadata": metadata}, keys)
        secret["metadata"].pop("ownerReferences", None)
        if "data" in secret:
            secret["data"] = {k: v or "" for k, v in secret["data"].items()}
        return secret
