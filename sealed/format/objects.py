"""Kubernetes objects as kubeseal prints them: Go struct field order, typed fields only, empties omitted.

Field order matters because apimachinery's JSON printer keeps struct order; building dicts in that order
(and sorting map-typed fields) makes ``json.dumps`` print exactly what kubeseal prints.
"""

from __future__ import annotations

from collections.abc import Mapping

from sealed.format.errors import FormatError

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep seal` must start fast
if TYPE_CHECKING:
    from typing import Any

_META_STRINGS = ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion")
_OWNER_FIELDS = ("apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion")
_MANAGED_FIELDS = ("manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource")


def string_map(value: Any, where: str) -> dict[str, str]:
    """A ``map[string]string`` field, sorted; null or absent is empty; non-strings are refused."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FormatError("expected a mapping of strings", where)
    result: dict[str, str] = {}
    for key in sorted(value):
        item = value[key]
        if item is None:
            item = ""
        if not isinstance(item, str):
            raise FormatError(f"expected a string, found {type(item).__name__}", f"{where}.{key}")
        result[str(key)] = item
    return result


def object_meta(meta: Any, where: str = "metadata") -> dict[str, Any]:
    """A metadata mapping reduced to ObjectMeta's fields, in Go order, empties omitted."""
    if meta is None:
        return {}
    if not isinstance(meta, Mapping):
        raise FormatError("expected a mapping", where)
    out: dict[str, Any] = {}
    for key in _META_STRINGS:
        _copy_string(meta, out, key, where)
    if meta.get("generation"):
        out["generation"] = meta["generation"]
    for key in ("creationTimestamp", "deletionTimestamp"):
        if meta.get(key):
            out[key] = meta[key]
    if meta.get("deletionGracePeriodSeconds") is not None:
        out["deletionGracePeriodSeconds"] = meta["deletionGracePeriodSeconds"]
    for key in ("labels", "annotations"):
        values = string_map(meta.get(key), f"{where}.{key}")
        if values:
            out[key] = values
    owners = _list(meta, "ownerReferences", where)
    if owners:
        out["ownerReferences"] = [_owner_reference(o) for o in owners if isinstance(o, Mapping)]
    finalizers = _list(meta, "finalizers", where)
    if finalizers:
        out["finalizers"] = [str(f) for f in finalizers]
    managed = _list(meta, "managedFields", where)
    if managed:
        out["managedFields"] = [_ordered(m, _MANAGED_FIELDS) for m in managed if isinstance(m, Mapping)]
    return out


def _list(meta: Mapping[str, Any], key: str, where: str) -> list[Any]:
    """A list field of ObjectMeta (empty when unset); anything else is an error naming the field."""
    value = meta.get(key)
    if value is None or value == []:
        return []
    if not isinstance(value, list):
        raise FormatError(f"expected a list, found {type(value).__name__}", f"{where}.{key}")
    return value


def _copy_string(meta: Mapping[str, Any], out: dict[str, Any], key: str, where: str) -> None:
    value = meta.get(key)
    if value is None or value == "":
        return
    if not isinstance(value, str):
        raise FormatError(f"expected a string, found {type(value).__name__}", f"{where}.{key}")
    out[key] = value


def _owner_reference(value: Mapping[str, Any]) -> dict[str, Any]:
    """apiVersion, kind, name and uid are not omitempty in Go; the two flags are pointers."""
    out = {key: str(value.get(key) or "") for key in _OWNER_FIELDS[:4]}
    out.update({key: value[key] for key in _OWNER_FIELDS[4:] if value.get(key) is not None})
    return out


def _ordered(value: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {key: value[key] for key in fields if value.get(key) is not None and value.get(key) != ""}


def sealed_secret(obj: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """A SealedSecret in ``bitnami.com/v1alpha1`` struct order (used when rewriting existing files)."""
    spec = obj.get("spec") or {}
    if not isinstance(spec, Mapping):
        raise FormatError("spec is not a mapping", where)
    template = spec.get("template") or {}
    out_template: dict[str, Any] = {
        "metadata": object_meta(template.get("metadata"), "spec.template.metadata")
    }
    if template.get("type"):
        out_template["type"] = template["type"]
    if template.get("immutable") is not None:
        out_template["immutable"] = template["immutable"]
    if template.get("data"):
        out_template["data"] = string_map(template["data"], "spec.template.data")
    out_spec: dict[str, Any] = {"template": out_template}
    if spec.get("data"):
        out_spec["data"] = spec["data"]
    out_spec["encryptedData"] = string_map(spec.get("encryptedData"), "spec.encryptedData")
    out: dict[str, Any] = {
        "kind": "SealedSecret",
        "apiVersion": "bitnami.com/v1alpha1",
        "metadata": object_meta(obj.get("metadata")),
        "spec": out_spec,
    }
    if obj.get("status"):
        out["status"] = obj["status"]
    return out
