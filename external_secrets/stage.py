"""The ``external`` render stage.

Mode ``controller`` (default): ExternalSecrets pass through unchanged and the in-cluster controller
resolves them. Mode ``render`` (``spec.decryption.external.mode: render``): each ExternalSecret becomes
the Secret it describes, at render time. Stores and credential Secrets come from the rendered set first
(so a SOPS-decrypted credential works), then from the cluster. Nothing is cached beyond the call: the
provider clients, credentials and fetched values of one ``render`` are dropped when it returns.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from core_sync.stages import Diagnostic, KubeObject, StageContext, StageResult, object_ref

GROUP = "external-secrets.io"
STORE_PLURALS = {"SecretStore": "secretstores", "ClusterSecretStore": "clustersecretstores"}


def _is(obj: Mapping[str, Any], kind: str) -> bool:
    return obj.get("kind") == kind and str(obj.get("apiVersion", "")).startswith(GROUP + "/")


class _RenderedAccess:
    """Credentials from the rendered objects, then the cluster (a :class:`KubeAccess`)."""

    def __init__(self, objects: Sequence[KubeObject], context: StageContext) -> None:
        self.objects = objects
        self.context = context

    def find(self, kind: str, namespace: str, name: str) -> KubeObject | None:
        for obj in self.objects:
            meta = obj.get("metadata") or {}
            if (
                obj.get("kind") == kind
                and meta.get("name") == name
                and ((meta.get("namespace") or self.context.namespace) == namespace)
            ):
                return obj
        return None

    def _secret_data(self, namespace: str, name: str) -> dict[str, bytes]:
        from external_secrets.providers import AuthError

        obj = self.find("Secret", namespace, name)
        if obj is not None:
            data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
            data.update({k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()})
            return data
        if self.context.client is None:
            raise AuthError(f"Secret {namespace}/{name} is neither rendered nor readable (no cluster access)")
        from core_sync.kube import ApiError

        try:
            secret = self.context.client.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
        except ApiError as error:
            raise AuthError(
                f"cannot read Secret {namespace}/{name}: {error.reason or error.status}"
            ) from None
        return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}

    def secret_value(self, namespace: str, name: str, key: str) -> bytes:
        from external_secrets.providers import AuthError

        data = self._secret_data(namespace, name)
        if key not in data:
            raise AuthError(f"Secret {namespace}/{name} has no key {key!r}")
        return data[key]

    def service_account_token(self, namespace: str, name: str, audiences: Sequence[str], seconds: int) -> str:
        from external_secrets.providers import AuthError, ClientKubeAccess

        if self.context.client is None:
            raise AuthError(f"ServiceAccount {namespace}/{name}: a token needs cluster access")
        return ClientKubeAccess(self.context.client).service_account_token(
            namespace, name, audiences, seconds
        )

    def service_account_annotations(self, namespace: str, name: str) -> dict[str, str]:
        from external_secrets.providers import AuthError, ClientKubeAccess

        if self.context.client is None:
            raise AuthError(f"ServiceAccount {namespace}/{name}: reading it needs cluster access")
        return ClientKubeAccess(self.context.client).service_account_annotations(namespace, name)

    def template_source(self, namespace: str, kind: str, name: str) -> dict[str, str]:
        from external_secrets.resolve import ResolveError

        if kind == "Secret":
            try:
                return {
                    k: v.decode("utf-8", "surrogateescape")
                    for k, v in self._secret_data(namespace, name).items()
                }
            except Exception as error:
                raise ResolveError(f"template source: {error}") from None
        obj = self.find("ConfigMap", namespace, name)
        if obj is None and self.context.client is not None:
            from core_sync.kube import ApiError

            try:
                obj = self.context.client.get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
            except ApiError:
                obj = None
        if obj is None:
            raise ResolveError(f"template source ConfigMap {namespace}/{name} not found")
        return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}


class ExternalStage:
    """Render stage ``external`` (see the module docstring for the two modes)."""

    name = "external"

    def render(self, objects: Sequence[KubeObject], context: StageContext) -> StageResult:
        settings = context.decryption.get("external") or {}
        mode = settings.get("mode") or "controller"
        if mode == "controller":
            return StageResult(list(objects))
        if mode != "render":
            return StageResult(
                list(objects),
                [
                    Diagnostic(
                        "error",
                        "spec.decryption.external",
                        f"mode {mode!r} is not controller or render",
                        "InvalidMode",
                    )
                ],
            )
        from external_secrets.providers import ProviderPool

        access = _RenderedAccess(objects, context)
        pool = ProviderPool(access, reuse=False)  # private to this call
        out: list[KubeObject] = []
        produced: set[int] = set()
        diagnostics: list[Diagnostic] = []
        for obj in objects:
            if not _is(obj, "ExternalSecret"):
                out.append(obj)
                continue
            context.check_deadline()
            try:
                out.append(self._resolve(obj, objects, context, access, pool))
                produced.add(id(out[-1]))
            except Exception as error:  # every failure becomes a diagnostic naming the object
                diagnostics.append(
                    Diagnostic("error", _ref(obj, context), _message(error), "SecretSyncedError")
                )
        return StageResult(out, diagnostics, produced)

    def _resolve(
        self,
        es: KubeObject,
        objects: Sequence[KubeObject],
        context: StageContext,
        access: _RenderedAccess,
        pool: Any,
    ) -> KubeObject:
        from external_secrets.resolve import ResolveError, StoreRef, resolve
        from external_secrets.source import ProviderSource
        from external_secrets.stores import denied_message, namespace_allowed, parse_store
        from external_secrets.target import build_target
        from external_secrets.templating import render

        meta = es.get("metadata") or {}
        namespace = str(meta.get("namespace") or context.namespace)
        es = {**es, "metadata": {**meta, "namespace": namespace, "uid": meta.get("uid", "")}}

        def lookup(ref: StoreRef) -> Any:
            obj = self._store_object(ref, namespace, objects, context)
            store = parse_store(obj)
            if store.cluster and not namespace_allowed(
                store, namespace, self._namespace_labels(namespace, objects, context)
            ):
                raise ResolveError(denied_message(store, namespace))
            return store

        source = ProviderSource(namespace, lookup, pool, cache=None)
        resolved = resolve(es.get("spec") or {}, source, render)
        target = build_target(
            es, resolved.data, render, lambda kind, name: access.template_source(namespace, kind, name)
        )
        secret: KubeObject = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": target.name, "namespace": namespace},
            "type": target.type or "Opaque",
            "data": {k: base64.b64encode(v).decode() for k, v in sorted(target.data.items())},
        }
        if target.labels:
            secret["metadata"]["labels"] = target.labels
        if target.annotations:
            secret["metadata"]["annotations"] = target.annotations
        if target.immutable:
            secret["immutable"] = True
        return secret

    @staticmethod
    def _store_object(
        ref: Any, namespace: str, objects: Sequence[KubeObject], context: StageContext
    ) -> KubeObject:
        from external_secrets.resolve import ResolveError

        if ref.kind not in STORE_PLURALS:
            raise ResolveError(f"secretStoreRef.kind {ref.kind!r} is not SecretStore or ClusterSecretStore")
        for obj in objects:
            meta = obj.get("metadata") or {}
            if (
                _is(obj, ref.kind)
                and meta.get("name") == ref.name
                and (
                    ref.kind == "ClusterSecretStore"
                    or (meta.get("namespace") or context.namespace) == namespace
                )
            ):
                return obj
        if context.client is not None:
            from core_sync.kube import ApiError

            base = f"/apis/{GROUP}/v1"
            path = (
                f"{base}/clustersecretstores/{ref.name}"
                if ref.kind == "ClusterSecretStore"
                else f"{base}/namespaces/{namespace}/secretstores/{ref.name}"
            )
            try:
                return context.client.get(path)
            except ApiError as error:
                if not error.not_found:
                    raise ResolveError(f'{ref.kind} "{ref.name}": {error.reason or error.status}') from None
        raise ResolveError(f'{ref.kind} "{ref.name}" not found in the rendered objects or the cluster')

    @staticmethod
    def _namespace_labels(
        namespace: str, objects: Sequence[KubeObject], context: StageContext
    ) -> dict[str, str]:
        for obj in objects:
            if obj.get("kind") == "Namespace" and (obj.get("metadata") or {}).get("name") == namespace:
                return dict((obj.get("metadata") or {}).get("labels") or {})
        if context.client is not None:
            from core_sync.kube import ApiError

            try:
                live = context.client.get(f"/api/v1/namespaces/{namespace}")
                return dict((live.get("metadata") or {}).get("labels") or {})
            except ApiError:
                return {}
        return {}


def _ref(obj: KubeObject, context: StageContext) -> str:
    """``ExternalSecret/<namespace>/<name> (file)``, with the namespace the object will land in."""
    meta = obj.get("metadata") or {}
    placed = {**obj, "metadata": {**meta, "namespace": meta.get("namespace") or context.namespace}}
    return object_ref(placed, context.source_of(obj))


def _message(error: Exception) -> str:
    from external_secrets.stores import StoreConfigError

    if isinstance(error, StoreConfigError):
        return f"invalid store: {error}"
    return str(error) or type(error).__name__
