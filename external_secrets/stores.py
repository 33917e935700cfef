"""SecretStore / ClusterSecretStore: parse and validate the spec, and decide who may use a store (pure).

Validation here is what the store controller reports as ``Ready``; the provider's own check (can we log
in?) is added by the controller. ClusterSecretStore ``conditions`` are ESO's: no conditions means every
namespace may use the store; otherwise any matching selector, name or regex in any condition allows it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GROUP = "external-secrets.io"
KINDS = ("SecretStore", "ClusterSecretStore")
AWS_SERVICES = {"SecretsManager": "aws-secrets-manager", "ParameterStore": "aws-parameter-store"}
VAULT_AUTH = ("tokenSecretRef", "appRole", "kubernetes", "userPass", "jwt", "cert")
VAULT_AUTH_UNSUPPORTED = ("ldap", "iam", "gcp")


class StoreConfigError(ValueError):
    """The store's spec cannot work; the message names the field and the reason."""


@dataclass(frozen=True)
class Store:
    kind: str
    name: str
    namespace: str | None  # None for a ClusterSecretStore
    provider: str  # "vault" | "aws-secrets-manager" | "aws-parameter-store"
    config: Mapping[str, Any] = field(repr=False)
    conditions: tuple[Mapping[str, Any], ...] = ()
    generation: int = 0
    uid: str = ""

    @property
    def ref(self) -> str:
        """``Kind/namespace/name`` (how logs, status and rate limits name the store)."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    @property
    def cluster(self) -> bool:
        return self.kind == "ClusterSecretStore"

    def secret_namespace(self, selector: Mapping[str, Any], es_namespace: str) -> str:
        """Where a ``SecretKeySelector`` points: a namespaced store's own namespace; for a cluster store
        the selector's namespace, else the ExternalSecret's (ESO's "referent" auth)."""
        if self.namespace is not None:
            return self.namespace
        return str(selector.get("namespace") or es_namespace)

    def referent(self) -> bool:
        """A cluster store with a secretRef lacking a namespace resolves credentials per ExternalSecret."""
        if not self.cluster:
            return False
        return any(not ref.get("namespace") for ref in _secret_refs(self.config))


def _secret_refs(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, Mapping):
            if key.endswith(("SecretRef", "secretRef")) and "name" in node:
                found.append(node)
            for k, v in node.items():
                walk(v, str(k))

    walk(config.get("auth") or {})
    return found


def parse_store(obj: Mapping[str, Any]) -> Store:
    """A :class:`Store` from a (Cluster)SecretStore object; :class:`StoreConfigError` if it cannot work."""
    kind = str(obj.get("kind", ""))
    meta = obj.get("metadata") or {}
    if kind not in KINDS:
        raise StoreConfigError(f"kind {kind!r} is not a SecretStore or ClusterSecretStore")
    spec = obj.get("spec") or {}
    providers = spec.get("provider") or {}
    if not isinstance(providers, Mapping) or len(providers) != 1:
        raise StoreConfigError("spec.provider must name exactly one provider")
    ((provider_name, config),) = providers.items()
    if not isinstance(config, Mapping):
        raise StoreConfigError(f"spec.provider.{provider_name} must be an object")
    if provider_name == "aws":
        provider = _check_aws(config)
    elif provider_name == "vault":
        provider = "vault"
        _check_vault(config)
    else:
        raise StoreConfigError(f"spec.provider.{provider_name}: provider not supported (aws, vault are)")
    conditions = tuple(spec.get("conditions") or ()) if kind == "ClusterSecretStore" else ()
    for i, condition in enumerate(conditions):
        for j, pattern in enumerate(condition.get("namespaceRegexes") or ()):
            try:
                re.compile(pattern)
            except re.error as error:
                raise StoreConfigError(
                    f"spec.conditions[{i}].namespaceRegexes[{j}]: invalid regexp: {error}"
                ) from error
    return Store(
        kind=kind,
        name=str(meta.get("name", "")),
        namespace=meta.get("namespace") if kind == "SecretStore" else None,
        provider=provider,
        config=config,
        conditions=conditions,
        generation=int(meta.get("generation") or 0),
        uid=str(meta.get("uid", "")),
    )


def _require_selector(node: Any, where: str) -> None:
    if not isinstance(node, Mapping) or not node.get("name"):
        raise StoreConfigError(f"{where}.name is required")


def _check_aws(config: Mapping[str, Any]) -> str:
    service = config.get("service")
    if service not in AWS_SERVICES:
        if service == "CertificateManager":
            raise StoreConfigError("spec.provider.aws.service: CertificateManager is not supported")
        raise StoreConfigError(f"spec.provider.aws.service: must be one of {', '.join(AWS_SERVICES)}")
    if not config.get("region"):
        raise StoreConfigError("spec.provider.aws.region is required")
    auth = config.get("auth") or {}
    if "jwt" in auth:
        _require_selector(
            (auth["jwt"] or {}).get("serviceAccountRef"), "spec.provider.aws.auth.jwt.serviceAccountRef"
        )
    if "secretRef" in auth:
        ref = auth["secretRef"] or {}
        for field_name in ("accessKeyIDSecretRef", "secretAccessKeySecretRef"):
            _require_selector(ref.get(field_name), f"spec.provider.aws.auth.secretRef.{field_name}")
    return AWS_SERVICES[str(service)]


def _check_vault(config: Mapping[str, Any]) -> None:
    if not config.get("server"):
        raise StoreConfigError("spec.provider.vault.server is required")
    if config.get("version", "v2") not in ("v1", "v2"):
        raise StoreConfigError("spec.provider.vault.version must be v1 or v2")
    auth = config.get("auth") or {}
    methods = [m for m in (*VAULT_AUTH, *VAULT_AUTH_UNSUPPORTED) if m in auth]
    if len(methods) != 1:
        raise StoreConfigError("spec.provider.vault.auth must set exactly one auth method")
    method = methods[0]
    if method in VAULT_AUTH_UNSUPPORTED:
        raise StoreConfigError(
            f"spec.provider.vault.auth.{method}: not supported ({', '.join(VAULT_AUTH)} are)"
        )
    where = f"spec.provider.vault.auth.{method}"
    if method == "tokenSecretRef":
        _require_selector(auth[method], where)
    elif method == "appRole":
        app = auth[method] or {}
        if not app.get("roleId") and not app.get("roleRef"):
            raise StoreConfigError(f"{where}: roleId or roleRef is required")
        _require_selector(app.get("secretRef"), f"{where}.secretRef")
    elif method == "userPass":
        user = auth[method] or {}
        if not user.get("username"):
            raise StoreConfigError(f"{where}.username is required")
        _require_selector(user.get("secretRef"), f"{where}.secretRef")
    elif method == "cert":
        cert = auth[method] or {}
        if not str(config["server"]).startswith("https://"):
            raise StoreConfigError(
                f"{where}: needs an https:// server (the certificate is presented over TLS)"
            )
        _require_selector(cert.get("clientCert"), f"{where}.clientCert")
        _require_selector(cert.get("secretRef"), f"{where}.secretRef")
    elif method == "jwt":
        jwt = auth[method] or {}
        if "kubernetesServiceAccountToken" in jwt:
            sa_token = jwt["kubernetesServiceAccountToken"] or {}
            if not (sa_token.get("serviceAccountRef") or {}).get("name"):
                raise StoreConfigError(
                    f"{where}.kubernetesServiceAccountToken.serviceAccountRef.name is required"
                )
        elif jwt.get("secretRef"):
            _require_selector(jwt.get("secretRef"), f"{where}.secretRef")
        else:
            raise StoreConfigError(f"{where}: secretRef or kubernetesServiceAccountToken is required")
    else:
        k8s = auth[method] or {}
        if not k8s.get("role"):
            raise StoreConfigError(f"{where}.role is required")
        if not k8s.get("serviceAccountRef") and not k8s.get("secretRef"):
            raise StoreConfigError(
                f"{where}: serviceAccountRef or secretRef is required (no in-cluster token here)"
            )


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A Kubernetes LabelSelector against ``labels``; an invalid one (unknown operator) matches nothing, so a
    mistyped condition can never widen who may use a store."""
    from core_sync.selectors import SelectorError, label_selector_matches

    try:
        return label_selector_matches(selector, labels)
    except SelectorError:
        return False


def namespace_allowed(store: Store, namespace: str, namespace_labels: Mapping[str, str]) -> bool:
    """ESO's ClusterSecretStore conditions: any selector, name or regex in any condition allows."""
    if not store.conditions:
        return True
    labels = {**namespace_labels, "kubernetes.io/metadata.name": namespace}
    for condition in store.conditions:
        selector = condition.get("namespaceSelector")
        if selector and selector_matches(selector, labels):
            return True
        if namespace in (condition.get("namespaces") or ()):
            return True
        if any(re.search(p, namespace) for p in condition.get("namespaceRegexes") or ()):
            return True
    return False


def denied_message(store: Store, namespace: str) -> str:
    return (
        f'using cluster store "{store.name}" is not allowed from namespace "{namespace}": '
        "denied by spec.condition"
    )
