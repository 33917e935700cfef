"""PushSecret (``external-secrets.io/v1alpha1``): the spec read and checked, the source data prepared, and
``status.syncedPushSecrets`` bookkeeping (pure, no I/O).

What carries over from ESO: store keys ``Kind/name``; entries keyed ``remoteKey`` or
``remoteKey/property``; an empty ``match.secretKey`` pushes the whole Secret as a JSON object of strings;
``conversionStrategy: ReverseUnicode`` turns ``_UXXXX_`` in the source keys back into the character;
remote secrets written by the controller carry ``managed-by: external-secrets`` and others are not
overwritten or deleted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from external_secrets.gjson import go_json
from gocompat.duration import parse_lenient as parse_duration

FINALIZER = "pushsecret.externalsecrets.io/finalizer"
MANAGED_BY = ("managed-by", "external-secrets")
UPDATE_POLICIES = ("Replace", "IfNotExists")
DELETION_POLICIES = ("Delete", "None")
CONVERSIONS = ("None", "ReverseUnicode")
STORE_KINDS = ("SecretStore", "ClusterSecretStore")
DEFAULT_REFRESH_S = 3600.0
_UNICODE_ESCAPE = re.compile(r"_U([0-9a-fA-F]{4})_")

SyncedMap = dict[str, dict[str, dict[str, Any]]]  # store key -> status ref -> the spec.data entry


class PushSpecError(ValueError):
    """The PushSecret's spec cannot work; the message names the field and the reason."""


@dataclass(frozen=True)
class PushRef:
    """Where one value goes in a store: the remote secret and, optionally, a property inside it."""

    remote_key: str
    prop: str = ""  # remoteRef.property

    @property
    def status_ref(self) -> str:
        """ESO's key in ``syncedPushSecrets``."""
        return f"{self.remote_key}/{self.prop}" if self.prop else self.remote_key


@dataclass(frozen=True)
class PushEntry:
    secret_key: str  # "" pushes the whole Secret
    ref: PushRef
    conversion: str
    spec: Mapping[str, Any] = field(repr=False)  # the spec.data entry, recorded in status as ESO does


@dataclass(frozen=True)
class StoreSelector:
    kind: str
    name: str = ""
    labels: Mapping[str, Any] | None = None  # a LabelSelector, when no name is given


@dataclass(frozen=True)
class PushSpec:
    stores: tuple[StoreSelector, ...]
    secret_name: str
    generator: Mapping[str, Any] | None
    entries: tuple[PushEntry, ...]
    update_policy: str
    deletion_policy: str
    interval: float
    template: Mapping[str, Any] | None


def _choice(spec: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = spec.get(name) or default
    if value not in allowed:
        raise PushSpecError(f"spec.{name}: {value!r} is not one of {', '.join(allowed)}")
    return str(value)


def parse_push(ps: Mapping[str, Any]) -> PushSpec:
    """A :class:`PushSpec` from a PushSecret object, or :class:`PushSpecError` naming the field."""
    spec = ps.get("spec") or {}
    stores = []
    for i, ref in enumerate(spec.get("secretStoreRefs") or ()):
        kind = str(ref.get("kind") or "SecretStore")
        if kind not in STORE_KINDS:
            raise PushSpecError(f"spec.secretStoreRefs[{i}].kind: {kind!r} is not one of {STORE_KINDS}")
        if not ref.get("name") and not ref.get("labelSelector"):
            raise PushSpecError(f"spec.secretStoreRefs[{i}]: needs name or labelSelector")
        stores.append(StoreSelector(kind, str(ref.get("name") or ""), ref.get("labelSelector")))
    if not stores:
        raise PushSpecError("spec.secretStoreRefs: at least one store is needed")
    selector = spec.get("selector") or {}
    secret_name = str((selector.get("secret") or {}).get("name") or "")
    generator = selector.get("generatorRef")
    if bool(secret_name) == bool(generator):
        raise PushSpecError("spec.selector: set exactly one of secret.name and generatorRef")
    entries = []
    for i, item in enumerate(spec.get("data") or ()):
        match = item.get("match") or {}
        remote = match.get("remoteRef") or {}
        if not remote.get("remoteKey"):
            raise PushSpecError(f"spec.data[{i}].match.remoteRef.remoteKey: required")
        conversion = str(item.get("conversionStrategy") or "None")
        if conversion not in CONVERSIONS:
            raise PushSpecError(
                f"spec.data[{i}].conversionStrategy: {conversion!r} is not one of {CONVERSIONS}"
            )
        if item.get("metadata") is not None and not isinstance(item["metadata"], Mapping):
            raise PushSpecError(f"spec.data[{i}].metadata: must be an object")
        ref = PushRef(str(remote["remoteKey"]), str(remote.get("property") or ""))
        entries.append(PushEntry(str(match.get("secretKey") or ""), ref, conversion, item))
    try:
        interval = parse_duration(spec.get("refreshInterval"), DEFAULT_REFRESH_S)
    except ValueError as error:
        raise PushSpecError(f"spec.refreshInterval: {error}") from None
    return PushSpec(
        stores=tuple(stores),
        secret_name=secret_name,
        generator=generator,
        entries=tuple(entries),
        update_policy=_choice(spec, "updatePolicy", UPDATE_POLICIES, "Replace"),
        deletion_policy=_choice(spec, "deletionPolicy", DELETION_POLICIES, "None"),
        interval=interval,
        template=spec.get("template") or None,
    )


def reverse_unicode(key: str) -> str:
    """``_U0021_`` -> ``!`` (the inverse of ExternalSecret's ``conversionStrategy: Unicode``)."""
    return _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), key)


def converted(data: Mapping[str, bytes], strategy: str) -> dict[str, bytes]:
    if strategy == "ReverseUnicode":
        return {reverse_unicode(k): v for k, v in data.items()}
    return dict(data)


def entry_value(entry: PushEntry, data: Mapping[str, bytes]) -> bytes:
    """The bytes ``entry`` pushes: one key of the (converted) source, or all of it as a JSON object."""
    source = converted(data, entry.conversion)
    if not entry.secret_key:
        return whole_secret(source)
    if entry.secret_key not in source:
        raise PushSpecError(f"secret key {entry.secret_key} does not exist")
    return source[entry.secret_key]


def whole_secret(data: Mapping[str, bytes]) -> bytes:
    """A Secret's data as Go writes ``map[string]string``: values as text, keys sorted."""
    return go_json({k: v.decode("utf-8", "surrogateescape") for k, v in data.items()})


def store_key(kind: str, name: str) -> str:
    return f"{kind}/{name}"


def stale(old: Mapping[str, Mapping[str, Mapping[str, Any]]], new: SyncedMap) -> list[tuple[str, PushRef]]:
    """What was pushed before (``old`` status) and is no longer wanted: (store key, where) pairs."""
    gone = []
    for key, entries in old.items():
        for ref_name, item in entries.items():
            if ref_name in new.get(key, {}):
                continue
            remote = (item.get("match") or {}).get("remoteRef") or {}
            if remote.get("remoteKey"):
                gone.append((key, PushRef(str(remote["remoteKey"]), str(remote.get("property") or ""))))
    return gone


def with_property(current: Mapping[str, Any] | None, prop: str, value: bytes) -> dict[str, Any]:
    """The remote JSON object with ``prop`` set to ``value`` as text."""
    out = dict(current or {})
    out[prop] = value.decode("utf-8", "surrogateescape")
    return out


def without_property(current: Mapping[str, Any], prop: str) -> dict[str, Any]:
    return {k: v for k, v in current.items() if k != prop}


def synced_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch turning ``old`` into ``new`` (what is gone is set to null)."""
    patch: dict[str, Any] = {k: None for k in old if k not in new}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            patch[key] = synced_patch(before, value)
        else:
            patch[key] = value
    return patch
