"""The target Secret an ExternalSecret produces: template, labels, annotations, data hash (pure).

Names follow ESO exactly (managed label, data-hash annotation, created-by label) so a cluster can move
between ESO and Lockstep; the hash value is our own (a mismatch only costs one extra sync on takeover).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from external_secrets.resolve import Render, ResolveError
from external_secrets.template_scope import SCOPES, WELL_KNOWN_TARGETS, execute

MANAGED_LABEL = "reconcile.external-secrets.io/managed"
DATA_HASH = "reconcile.external-secrets.io/data-hash"
CREATED_BY = "reconcile.external-secrets.io/created-by"
FIELD_MANAGER_PREFIX = "externalsecrets.external-secrets.io/"
NOT_COPIED = ("kubectl.kubernetes.io/last-applied-configuration",)
NOT_COPIED_PREFIXES = ("lockstep.dev/",)
ReadSource = Callable[[str, str], Mapping[str, str]]  # (kind ConfigMap|Secret, name) -> data as text


@dataclass
class Target:
    """What the ExternalSecret wants in its Secret (before ownership and creation policy)."""

    name: str
    type: str | None
    data: dict[str, bytes] = field(repr=False)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    immutable: bool = False


def sha3(text: str) -> str:
    return hashlib.sha3_224(text.encode()).hexdigest()


def data_hash(data: Mapping[str, bytes]) -> str:
    """sha3-224 of the data in a canonical form (sorted keys, base64 values)."""
    canonical = json.dumps({k: base64.b64encode(v).decode() for k, v in sorted(data.items())}, sort_keys=True)
    return sha3(canonical)


def field_manager(es_name: str) -> str:
    name = FIELD_MANAGER_PREFIX + es_name
    return name if len(name) <= 63 else FIELD_MANAGER_PREFIX + sha3(es_name)[:20]


def created_by(namespace: str, name: str) -> str:
    return sha3(f"{namespace}/{name}")


def synced_resource_version(es: Mapping[str, Any]) -> str:
    """ESO's ``<generation>-<hash of labels and annotations>``: what a spec or metadata change moves."""
    meta = es.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith(NOT_COPIED_PREFIXES)
    }
    return f"{meta.get('generation', 0)}-{sha3(json.dumps([labels, annotations], sort_keys=True))}"


def target_name(es: Mapping[str, Any]) -> str:
    return str(((es.get("spec") or {}).get("target") or {}).get("name") or es["metadata"]["name"])


def _text(data: Mapping[str, bytes]) -> dict[str, str]:
    return {k: v.decode("utf-8", "surrogateescape") for k, v in data.items()}


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _copyable(items: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in items.items() if k not in NOT_COPIED and not k.startswith(NOT_COPIED_PREFIXES)}


def build_target(
    es: Mapping[str, Any],
    data: Mapping[str, bytes],
    render: Render | None,
    read_source: ReadSource | None = None,
) -> Target:
    """ESO's ``ApplyTemplate`` order: metadata, provider data (if kept), templateFrom, then template.data."""
    meta = es.get("metadata") or {}
    target_spec = (es.get("spec") or {}).get("target") or {}
    template = target_spec.get("template")
    result = Target(
        name=target_name(es), type=None, data={}, immutable=bool(target_spec.get("immutable", False))
    )
    if not template:
        result.labels = _copyable(meta.get("labels") or {})
        result.annotations = _copyable(meta.get("annotations") or {})
        result.data = dict(data)
        return result
    if render is None:
        raise ResolveError("spec.target.template: template engine not available")
    context = _text(data)
    result.type = template.get("type")

    def run(text: str, where: str, ctx: Mapping[str, Any] = context) -> str:
        """Render through the engine; engine errors become ResolveErrors naming ``where``."""
        try:
            return render(text, ctx, where)
        except ResolveError:
            raise
        except Exception as error:  # the engine's errors name the template and position, not data
            raise ResolveError(f"{where}: {error}") from None

    keep_provider = template.get("mergePolicy") == "Merge" or (
        not template.get("data") and not template.get("templateFrom")
    )
    if keep_provider:
        result.data = dict(data)
    for i, source in enumerate(template.get("templateFrom") or ()):
        _template_from(result, source, data, f"spec.target.template.templateFrom[{i}]", run, read_source)
    for key, text in (template.get("data") or {}).items():
        result.data[str(key)] = _bytes(run(str(text), f"spec.target.template.data[{key}]"))
    metadata = template.get("metadata") or {}
    for key, text in (metadata.get("labels") or {}).items():
        result.labels[str(key)] = run(str(text), f"spec.target.template.metadata.labels[{key}]")
    for key, text in (metadata.get("annotations") or {}).items():
        result.annotations[str(key)] = run(str(text), f"spec.target.template.metadata.annotations[{key}]")
    return result


def _template_from(
    result: Target,
    source: Mapping[str, Any],
    data: Mapping[str, bytes],
    where: str,
    run: Callable[[str, str, Mapping[str, Any]], str],
    read_source: ReadSource | None,
) -> None:
    """One ``templateFrom`` entry through ESO's ``Execute``: scope, target (any case), value decoding."""
    goes_to = str(source.get("target") or "Data")
    if goes_to.lower() not in WELL_KNOWN_TARGETS:
        raise ResolveError(
            f"{where}.target: {goes_to!r} is not Data, Annotations or Labels (any case); other targets "
            "need spec.target.manifest, which Lockstep does not render"
        )
    decoding = source.get("valuesDecodingStrategy")
    if decoding not in (None, "None", "Base64", "Base64URL", "Auto"):
        raise ResolveError(
            f"{where}.valuesDecodingStrategy: {decoding!r} is not None, Base64, Base64URL or Auto"
        )
    obj: dict[str, Any] = {
        "kind": "Secret",
        "metadata": {"labels": result.labels, "annotations": result.annotations},
        "data": result.data,
    }
    jobs: list[tuple[dict[str, str], str, str]] = []  # (templates, scope, where)
    if source.get("literal") is not None:
        jobs.append(({"literal": str(source["literal"])}, "KeysAndValues", where))
    else:
        kind = "ConfigMap" if source.get("configMap") else "Secret" if source.get("secret") else ""
        ref = source.get("configMap") or source.get("secret") or {}
        if not kind or read_source is None:
            raise ResolveError(f"{where}: needs literal, configMap or secret")
        values = read_source(kind, str(ref.get("name", "")))
        for item in ref.get("items") or ():
            key = str(item.get("key", ""))
            if key not in values:
                raise ResolveError(f"{where}: {kind} {ref.get('name')!r} has no key {key!r}")
            scope = item.get("templateAs") or "Values"
            if scope not in SCOPES:
                raise ResolveError(f"{where}.{key}.templateAs: {scope!r} is not Values or KeysAndValues")
            jobs.append(({key: values[key]}, str(scope), f"{where}.{key}"))
    for templates, scope, job_where in jobs:

        def render(text: str, ctx: Mapping[str, Any], _key: str, job_where: str = job_where) -> str:
            return run(text, job_where, ctx)

        try:
            execute(templates, data, scope, goes_to, obj, render, decoding)
        except ResolveError as error:
            message = str(error)
            named = message if message.startswith(job_where) else f"{job_where}: {message}"
            raise ResolveError(named) from None
    meta = obj["metadata"]
    result.labels, result.annotations, result.data = meta["labels"], meta["annotations"], obj["data"]


def secret_body(
    es: Mapping[str, Any], target: Target, existing: Mapping[str, Any] | None, *, owner: bool
) -> dict[str, Any]:
    """The full Secret to write under Owner/Orphan: our data only, managed label, hash, ownership."""
    meta = es["metadata"]
    existing_meta = (existing or {}).get("metadata") or {}
    labels = {**target.labels, MANAGED_LABEL: "true"}
    if owner:
        labels[CREATED_BY] = created_by(meta["namespace"], meta["name"])
    annotations = {**target.annotations, DATA_HASH: data_hash(target.data)}
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": target.name,
            "namespace": meta["namespace"],
            "labels": labels,
            "annotations": annotations,
        },
        "type": target.type or (existing or {}).get("type") or "Opaque",
        "data": {k: base64.b64encode(v).decode() for k, v in sorted(target.data.items())},
    }
    if target.immutable:
        body["immutable"] = True
    foreign = [r for r in existing_meta.get("ownerReferences") or () if r.get("uid") != meta.get("uid")]
    if owner:
        foreign = [r for r in foreign if not r.get("controller")] + [owner_reference(es)]
    if foreign:
        body["metadata"]["ownerReferences"] = foreign
    if existing_meta.get("resourceVersion"):
        body["metadata"]["resourceVersion"] = existing_meta["resourceVersion"]
    return body


def owner_reference(es: Mapping[str, Any]) -> dict[str, Any]:
    meta = es["metadata"]
    return {
        "apiVersion": es.get("apiVersion", "external-secrets.io/v1"),
        "kind": "ExternalSecret",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def owned_by_other(es: Mapping[str, Any], existing: Mapping[str, Any]) -> bool:
    """Another ExternalSecret is the controller owner of the target Secret."""
    uid = es["metadata"].get("uid")
    return any(
        r.get("controller") and r.get("kind") == "ExternalSecret" and r.get("uid") != uid
        for r in (existing.get("metadata") or {}).get("ownerReferences") or ()
    )


def secret_data(secret: Mapping[str, Any]) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


def secret_is_valid(secret: Mapping[str, Any] | None) -> bool:
    """Managed label present and the data-hash annotation matches the data (no drift)."""
    if secret is None:
        return False
    meta = secret.get("metadata") or {}
    if (meta.get("labels") or {}).get(MANAGED_LABEL) != "true":
        return False
    return (meta.get("annotations") or {}).get(DATA_HASH) == data_hash(secret_data(secret))


def same_content(existing: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    """True when writing ``body`` would change nothing we manage."""
    em, bm = existing.get("metadata") or {}, body.get("metadata") or {}
    return (
        (existing.get("data") or {}) == body.get("data")
        and existing.get("type") == body.get("type")
        and all((em.get("labels") or {}).get(k) == v for k, v in (bm.get("labels") or {}).items())
        and all((em.get("annotations") or {}).get(k) == v for k, v in (bm.get("annotations") or {}).items())
        and (em.get("ownerReferences") or []) == (bm.get("ownerReferences") or [])
        and bool(existing.get("immutable")) == bool(body.get("immutable"))
    )
