"""Diffs that show *which* Secret keys changed without showing any value.

Masks are Argo CD-style runs of ``+`` assigned per distinct value in order of first appearance within one
diff: equal values get equal masks (an unchanged key shows no diff line) and different values get different
ones, yet a mask carries nothing derived from the value (no hash, no length), so it cannot be reversed or
brute-forced. Secrets are compared by their decoded bytes, with ``stringData`` folded into ``data`` the way
the API server does, so a Secret written with ``stringData`` in Git does not differ from its live form.
"""

from __future__ import annotations

import base64
import binascii
import copy
import difflib
from collections.abc import Mapping
from typing import Any

import yaml

KubeObject = dict[str, Any]

_SERVER_METADATA = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# The no-op fingerprint (core_sync.plan): never shown, a diff of it says nothing and its salt helps guessing.
DIGEST_ANNOTATION = "lockstep.dev/desired-digest"
_KEPT_IN_CLEAR = ("apiVersion", "kind", "metadata")

# libyaml's dumper when PyYAML was built with it (much faster on large diffs), else the pure-Python one.
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def is_secret(obj: Mapping[str, Any] | None) -> bool:
    return obj is not None and obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


class Masker:
    """Hands out masks for one diff or one render: same value → same mask, different value → different."""

    def __init__(self) -> None:
        self._masks: dict[bytes, str] = {}

    def mask(self, value: bytes) -> str:
        found = self._masks.get(value)
        if found is None:
            found = "+" * (8 + 4 * len(self._masks))
            self._masks[value] = found
        return found


def _decoded(value: Any) -> bytes:
    """The bytes a ``data`` value stands for; undecodable input is compared as its raw text."""
    text = "" if value is None else str(value)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b"\x00raw:" + text.encode()


def fold_string_data(obj: Mapping[str, Any]) -> KubeObject:
    """A copy of a Secret with ``stringData`` merged into ``data`` (base64), as the API server stores it."""
    out: KubeObject = copy.deepcopy(dict(obj))
    string_data = out.pop("stringData", None)
    if isinstance(string_data, Mapping):
        data = dict(out.get("data") or {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        out["data"] = data
    return out


def normalize_for_diff(obj: Mapping[str, Any]) -> KubeObject:
    """A copy without the fields the server owns (managedFields, resourceVersion, uid, timestamps, status)."""
    out: KubeObject = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for key in _SERVER_METADATA:
            meta.pop(key, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(_LAST_APPLIED, None)
            annotations.pop(DIGEST_ANNOTATION, None)
            if not annotations:
                meta.pop("annotations")
        if "labels" in meta and not meta["labels"]:
            meta.pop("labels")
    if is_secret(out):
        out = fold_string_data(out)
    return out


def _mask_leaves(value: Any, masker: Masker) -> Any:
    if isinstance(value, Mapping):
        return {k: _mask_leaves(v, masker) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_leaves(v, masker) for v in value]
    if value is None:
        return None
    return masker.mask(str(value).encode())


def mask_secret(
    obj: Mapping[str, Any], masker: Masker | None = None, *, secret_bearing: bool = False
) -> KubeObject:
    """A copy of ``obj`` with every Secret value masked (other objects are returned as copies, unchanged).

    ``secret_bearing``: a secret stage produced ``obj`` (say a SOPS-encrypted ConfigMap), so every value
    but ``apiVersion``, ``kind`` and the identity in ``metadata`` is masked (label and annotation values
    too), whatever the kind. The last-applied-configuration
    annotation holds the plaintext too, so it is masked as well.
    """
    out: KubeObject = copy.deepcopy(dict(obj))
    masker = masker or Masker()
    if secret_bearing and not is_secret(out):
        masked = {k: v if k in _KEPT_IN_CLEAR else _mask_leaves(v, masker) for k, v in out.items()}
        meta = masked.get("metadata")
        if isinstance(meta, dict):  # sops encrypts labels and annotations too unless told otherwise
            for key in ("labels", "annotations"):
                if isinstance(meta.get(key), Mapping):
                    meta[key] = _mask_leaves(meta[key], masker)
        return masked
    if not is_secret(out):
        return out
    for field in ("data", "stringData"):
        values = out.get(field)
        if isinstance(values, Mapping):
            encode = _decoded if field == "data" else (lambda v: str(v).encode())
            out[field] = {k: masker.mask(encode(values[k])) for k in sorted(values)}
    return _mask_last_applied(out, masker)


def _mask_last_applied(out: KubeObject, masker: Masker) -> KubeObject:
    annotations = (out.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and _LAST_APPLIED in annotations:
        annotations[_LAST_APPLIED] = masker.mask(str(annotations[_LAST_APPLIED]).encode())
    return out


def mask_rendered(objects: list[KubeObject], secret_ids: set[int]) -> list[KubeObject]:
    """Render output: every Secret and every object a secret stage produced, masked (each on its own, so
    equal values in two objects are not revealed as equal)."""
    return [mask_secret(o, secret_bearing=id(o) in secret_ids) for o in objects]


def to_yaml(obj: Mapping[str, Any] | None) -> str:
    """Stable YAML (sorted keys, block style) for diffs and render output."""
    if obj is None:
        return ""
    return yaml.dump(dict(obj), Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True)


def masked_diff(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    before_label: str = "live",
    after_label: str = "desired",
    secret_bearing: bool = False,
) -> str:
    """Unified diff of the normalized YAML of two versions of an object; ``""`` when they are equal.

    ``None`` stands for "does not exist" (a creation or a deletion). Secret values are masked with one
    :class:`Masker` shared by both sides; ``secret_bearing`` masks every value of both sides (the
    desired object came from a secret stage, so its live twin holds the same plaintext).
    """
    normalized = [None if obj is None else normalize_for_diff(obj) for obj in (before, after)]
    if normalized[0] == normalized[1]:
        return ""  # the common no-op case: skip YAML rendering
    masker = Masker()
    texts = [
        "" if obj is None else to_yaml(mask_secret(obj, masker, secret_bearing=secret_bearing))
        for obj in normalized
    ]
    lines = difflib.unified_diff(
        texts[0].splitlines(keepends=True),
        texts[1].splitlines(keepends=True),
        fromfile=before_label,
        tofile=after_label,
    )
    return "".join(lines)
