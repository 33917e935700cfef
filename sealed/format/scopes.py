"""Scopes: which name and namespace a sealed value is bound to, recorded only as two annotations.

The OAEP label is ``"ns/name"`` (strict), ``"ns"`` (namespace-wide) or empty (cluster-wide), computed from
the SealedSecret's *own* metadata when opening, exactly as Bitnami's controller does.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from sealed.format.errors import FormatError

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep seal` must start fast
if TYPE_CHECKING:
    from typing import Any

NAMESPACE_WIDE_ANNOTATION = "sealedsecrets.bitnami.com/namespace-wide"
CLUSTER_WIDE_ANNOTATION = "sealedsecrets.bitnami.com/cluster-wide"


class Scope(enum.Enum):
    STRICT = "strict"
    NAMESPACE_WIDE = "namespace-wide"
    CLUSTER_WIDE = "cluster-wide"

    @classmethod
    def parse(cls, value: str) -> Scope:
        """The ``--scope`` flag: empty means strict, anything else unknown is refused (kubeseal's words)."""
        if value == "":
            return cls.STRICT
        try:
            return cls(value)
        except ValueError:
            raise FormatError("must be one of: strict, namespace-wide, cluster-wide", "--scope") from None


def scope_of(metadata: Mapping[str, Any] | None) -> Scope:
    """The scope the annotations declare; cluster-wide wins over namespace-wide; values must be "true"."""
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if not isinstance(annotations, Mapping):
        return Scope.STRICT  # malformed annotations are reported where the metadata is validated
    if annotations.get(CLUSTER_WIDE_ANNOTATION) == "true":
        return Scope.CLUSTER_WIDE
    if annotations.get(NAMESPACE_WIDE_ANNOTATION) == "true":
        return Scope.NAMESPACE_WIDE
    return Scope.STRICT


def label(scope: Scope, namespace: str, name: str) -> bytes:
    """The OAEP label binding a value to where it may be opened."""
    if scope is Scope.CLUSTER_WIDE:
        return b""
    if scope is Scope.NAMESPACE_WIDE:
        return namespace.encode()
    return f"{namespace}/{name}".encode()


def label_for(metadata: Mapping[str, Any]) -> bytes:
    """The label for opening a SealedSecret, from its own name, namespace and annotations."""
    return label(scope_of(metadata), str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))


def set_scope_annotations(annotations: dict[str, str], scope: Scope) -> None:
    """Replace both scope annotations by the one ``scope`` needs (none for strict), as kubeseal does."""
    annotations.pop(NAMESPACE_WIDE_ANNOTATION, None)
    annotations.pop(CLUSTER_WIDE_ANNOTATION, None)
    if scope is Scope.NAMESPACE_WIDE:
        annotations[NAMESPACE_WIDE_ANNOTATION] = "true"
    elif scope is Scope.CLUSTER_WIDE:
        annotations[CLUSTER_WIDE_ANNOTATION] = "true"


def scope_annotations(scope: Scope) -> dict[str, str]:
    annotations: dict[str, str] = {}
    set_scope_annotations(annotations, scope)
    return annotations
