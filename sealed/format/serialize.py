"""kubeseal's output, byte for byte apart from ciphertexts.

JSON: apimachinery's pretty printer (2-space indent, HTML characters escaped, struct fields in Go order,
map keys sorted); the caller builds dicts in Go field order. YAML: sigs.k8s.io/yaml ``JSONToYAML``, in
``gocompat.yaml.v2.writer``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep seal` must start fast
if TYPE_CHECKING:
    from typing import Any


def to_json(obj: Any) -> str:
    """Pretty JSON as apimachinery writes it (no trailing newline; kubeseal adds one per object)."""
    from gocompat.jsonenc import marshal

    return marshal(obj, indent="  ", sort_keys=False)


def to_compact_json(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def to_yaml(obj: Any) -> str:
    """sigs.k8s.io/yaml JSONToYAML of ``obj`` (a JSON-shaped value), ending with a newline."""
    from gocompat.yaml.v2.writer import to_yaml as emit

    return emit(obj)
