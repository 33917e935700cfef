"""Multi-tenancy rules for Applications (Flux's model), pure: which identity syncs an Application and
which references it may make.

An Application naming ``spec.serviceAccountName`` (or getting the operator's ``--default-service-account``)
is synced by impersonating ``system:serviceaccount:<application namespace>:<name>``: the API server then
authorizes every read, dry-run, apply and delete against that ServiceAccount's RBAC, so a tenant can do
through Lockstep exactly what its ServiceAccount may do and nothing more. ``--no-cross-namespace-refs``
refuses references that leave the Application's namespace.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

ACCESS_DENIED = "AccessDenied"


class CrossNamespaceRef(ValueError):
    """A reference to another namespace while cross-namespace references are forbidden."""


@dataclass(frozen=True)
class TenancyPolicy:
    """The operator-wide tenancy flags (built from :class:`core_sync.operator_settings.OperatorSettings`)."""

    default_service_account: str | None = None
    no_cross_namespace_refs: bool = False

    def service_account(self, spec: Mapping[str, Any]) -> str | None:
        """The ServiceAccount that syncs an Application: its own, else the default, else none (the
        operator's identity)."""
        return spec.get("serviceAccountName") or self.default_service_account

    def check_refs(self, namespace: str, spec: Mapping[str, Any]) -> None:
        """Raise :class:`CrossNamespaceRef` naming every reference outside ``namespace`` when forbidden."""
        if not self.no_cross_namespace_refs:
            return
        outside = [f"{where} {ns!r}" for where, ns in namespace_refs(spec) if ns and ns != namespace]
        if outside:
            raise CrossNamespaceRef(
                f"cross-namespace references are not allowed (--no-cross-namespace-refs): "
                f"{', '.join(outside)} is not the Application's namespace {namespace!r}"
            )


def impersonated_user(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def namespace_refs(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(field path, namespace)`` of every namespace an Application spec points at: the destination,
    dependencies and any ``namespace`` inside a ``*Ref``/``*Refs`` field (secretRefs included)."""
    destination = spec.get("destination") or {}
    if destination.get("namespace"):
        yield "spec.destination.namespace", str(destination["namespace"])
    for i, dep in enumerate(spec.get("dependsOn") or []):
        if isinstance(dep, Mapping) and dep.get("namespace"):
            yield f"spec.dependsOn[{i}].namespace", str(dep["namespace"])
    yield from _ref_namespaces(spec, "spec")


def _ref_namespaces(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = f"{path}.{key}"
            if str(key).endswith("Ref") and isinstance(value, Mapping) and value.get("namespace"):
                yield f"{here}.namespace", str(value["namespace"])
            if str(key).endswith("Refs") and isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, Mapping) and item.get("namespace"):
                        yield f"{here}[{i}].namespace", str(item["namespace"])
            if str(key) != "dependsOn":
                yield from _ref_namespaces(value, here)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _ref_namespaces(item, f"{path}[{i}]")
