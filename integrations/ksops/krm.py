"""The KRM function protocol (pure): a ``ResourceList`` in, a ``ResourceList`` with ``results`` out.

kustomize runs an exec function with the generator config as ``functionConfig`` and, for a generator, the
config itself among ``items`` (marked ``config.kubernetes.io/local-config``). The generator configs among the
items (else ``functionConfig``) are replaced by what they generate; other items pass through. A failure is a
``results`` entry with ``severity: error`` and the config's ``resourceRef`` (and its file when kustomize
named it), and the function exits non-zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from integrations.ksops.config import is_generator

KubeObject = dict[str, Any]
RESOURCE_LIST = {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList"}
PATH_ANNOTATIONS = ("internal.config.kubernetes.io/path", "config.kubernetes.io/path")


class ResourceListError(ValueError):
    pass


def check_resource_list(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, Mapping) or doc.get("kind") != "ResourceList":
        raise ResourceListError("stdin is not a KRM ResourceList (kind: ResourceList)")
    items = doc.get("items") or []
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise ResourceListError("ResourceList items: expected a list of objects")
    config = doc.get("functionConfig")
    if config is not None and not isinstance(config, Mapping):
        raise ResourceListError("ResourceList functionConfig: expected an object")
    return dict(doc)


def resource_ref(obj: Mapping[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    ref = {"apiVersion": str(obj.get("apiVersion", "")), "kind": str(obj.get("kind", ""))}
    ref["name"] = str(meta.get("name", ""))
    if meta.get("namespace"):
        ref["namespace"] = str(meta["namespace"])
    return ref


def result(severity: str, message: str, obj: Mapping[str, Any] | None) -> dict[str, Any]:
    """One ``results`` entry (kpt/kustomize's shape): severity, message, resourceRef, file."""
    entry: dict[str, Any] = {"severity": severity, "message": message}
    if obj is not None:
        entry["resourceRef"] = resource_ref(obj)
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        path = next((annotations[a] for a in PATH_ANNOTATIONS if annotations.get(a)), None)
        if path:
            entry["file"] = {"path": str(path)}
    return entry


def process(
    resource_list: Mapping[str, Any], generate: Callable[[Mapping[str, Any]], list[KubeObject]]
) -> tuple[dict[str, Any], bool]:
    """The output ResourceList and whether every generator succeeded. ``generate`` raises ``ValueError``
    (or a subclass) with a message naming the file for a config it cannot run; on the first failure the
    items are returned unchanged, with the error result."""
    items = list(resource_list.get("items") or [])
    configs = [item for item in items if is_generator(item)]
    function_config = resource_list.get("functionConfig")
    if not configs and is_generator(function_config):
        configs = [function_config]
    if not configs:
        found = resource_ref(function_config) if isinstance(function_config, Mapping) else None
        message = (
            f"no generator config (viaduct.ai ksops or lockstep.dev SecretsGenerator) given; found {found}"
        )
        return {
            **RESOURCE_LIST,
            "items": items,
            "results": [result("error", message, function_config)],
        }, False
    generated: list[KubeObject] = []
    for config in configs:
        try:
            generated += generate(config)
        except ValueError as problem:
            failed = {**RESOURCE_LIST, "items": items, "results": [result("error", str(problem), config)]}
            return failed, False
    kept = [item for item in items if not is_generator(item)]
    return {**RESOURCE_LIST, "items": kept + generated}, True
