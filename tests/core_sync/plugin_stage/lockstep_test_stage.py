"""A render stage registered only through entry-point metadata: proof that plugins need no engine change.

It marks every object it sees, and fails any object annotated ``test.lockstep.dev/fail``.
"""

from __future__ import annotations

from collections.abc import Sequence

from core_sync.stages import Diagnostic, KubeObject, StageContext, StageResult

MARK = "test.lockstep.dev/rendered-by"
FAIL = "test.lockstep.dev/fail"


class MarkingStage:
    name = "test-marker"

    def render(self, objects: Sequence[KubeObject], context: StageContext) -> StageResult:
        out: list[KubeObject] = []
        problems: list[Diagnostic] = []
        for obj in objects:
            meta = dict(obj.get("metadata") or {})
            annotations = dict(meta.get("annotations") or {})
            if annotations.get(FAIL):
                problems.append(
                    Diagnostic("error", context.ref(obj), f"refused by the test stage: {annotations[FAIL]}")
                )
                continue
            annotations[MARK] = self.name
            out.append({**obj, "metadata": {**meta, "annotations": annotations}})
        return StageResult(out, problems)
