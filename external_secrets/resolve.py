"""From an ExternalSecret spec and fetched remote secrets to the Secret's data (pure: no I/O here).

ESO's assembly order: ``dataFrom`` entries in order (later ones override), then ``data`` entries (which
override everything from ``dataFrom``). Fetching is behind :class:`DataSource`, so the same code serves
the controller (shared cache) and the render stage (a per-call source).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar

from external_secrets import gjson
from external_secrets.providers.base import FetchKey, FindQuery, NoSecretError, ProviderError, RemoteSecret
from gocompat import limits

MAX_KEY = 253
_P = ParamSpec("_P")
_T = TypeVar("_T")
Render = Callable[[str, Mapping[str, Any], str], str]  # (template text, data, name) -> text


@dataclass(frozen=True)
class StoreRef:
    name: str
    kind: str = "SecretStore"


class DataSource(Protocol):
    def get(self, store: StoreRef, ref: FetchKey) -> RemoteSecret: ...

    def find(self, store: StoreRef, query: FindQuery) -> dict[str, RemoteSecret]: ...

    def generate(self, generator_ref: Mapping[str, Any]) -> dict[str, bytes]: ...


class ResolveError(ValueError):
    """Resolution failed; ``message`` names the spec path and the reason (never a value)."""

    def __init__(self, message: str, *, cause: Exception | None = None) -> None:
        super().__init__(message)
        self.cause = cause

    @property
    def unavailable(self) -> bool:
        from external_secrets.providers.base import ProviderUnavailable

        return isinstance(self.cause, ProviderUnavailable)


@dataclass
class Resolved:
    data: dict[str, bytes]
    missing: list[str] = field(default_factory=list)  # what was skipped as missing at the provider


# -- refs ---------------------------------------------------------------------------------------------
def store_of(spec: Mapping[str, Any], entry: Mapping[str, Any] | None = None) -> StoreRef:
    ref = ((entry or {}).get("sourceRef") or {}).get("storeRef") or spec.get("secretStoreRef") or {}
    if not ref.get("name"):
        raise ResolveError("spec.secretStoreRef.name is required (or a sourceRef.storeRef per entry)")
    return StoreRef(str(ref["name"]), str(ref.get("kind") or "SecretStore"))


def fetch_key(remote: Mapping[str, Any]) -> FetchKey:
    return FetchKey(
        key=str(remote.get("key", "")),
        version=str(remote.get("version") or ""),
        metadata=remote.get("metadataPolicy") == "Fetch",
    )


def requests_of(spec: Mapping[str, Any]) -> list[tuple[StoreRef, FetchKey]]:
    """Every single-secret fetch the spec needs (for batching and cache warm-up)."""
    out: list[tuple[StoreRef, FetchKey]] = []
    for entry in spec.get("dataFrom") or ():
        if entry.get("extract"):
            out.append((store_of(spec, entry), fetch_key(entry["extract"])))
    for entry in spec.get("data") or ():
        out.append((store_of(spec, entry), fetch_key(entry.get("remoteRef") or {})))
    return out


def stores_of(spec: Mapping[str, Any]) -> list[StoreRef]:
    refs = {store_of(spec, e) for e in [*(spec.get("data") or ()), *(spec.get("dataFrom") or ())]}
    if spec.get("secretStoreRef"):
        refs.add(store_of(spec))
    return sorted(refs, key=lambda r: (r.kind, r.name))


def validate_spec(spec: Mapping[str, Any]) -> None:
    """ESO's admission checks (repeated here because there is no webhook)."""
    if not spec.get("data") and not spec.get("dataFrom"):
        raise ResolveError("spec: at least one of data or dataFrom must be set")
    target = spec.get("target") or {}
    creation, deletion = target.get("creationPolicy", "Owner"), target.get("deletionPolicy", "Retain")
    if deletion == "Delete" and creation != "Owner":
        raise ResolveError("spec.target: deletionPolicy=Delete requires creationPolicy=Owner")
    if deletion == "Merge" and creation == "None":
        raise ResolveError("spec.target: deletionPolicy=Merge is not allowed with creationPolicy=None")
    seen: set[str] = set()
    for i, entry in enumerate(spec.get("data") or ()):
        key = str(entry.get("secretKey", ""))
        if not key:
            raise ResolveError(f"spec.data[{i}].secretKey is required")
        if key in seen:
            raise ResolveError(f"spec.data[{i}].secretKey {key!r} is repeated")
        seen.add(key)
        if not (entry.get("remoteRef") or {}).get("key"):
            raise ResolveError(f"spec.data[{i}].remoteRef.key is required")
    for i, entry in enumerate(spec.get("dataFrom") or ()):
        chosen = [k for k in ("extract", "find") if entry.get(k)]
        generator = (entry.get("sourceRef") or {}).get("generatorRef")
        if generator and chosen:
            raise ResolveError(f"spec.dataFrom[{i}]: set one of extract, find or sourceRef.generatorRef")
        if generator and not (generator.get("kind") and generator.get("name")):
            raise ResolveError(f"spec.dataFrom[{i}].sourceRef.generatorRef: kind and name are required")
        if not generator and len(chosen) != 1:
            raise ResolveError(f"spec.dataFrom[{i}]: exactly one of extract, find or sourceRef.generatorRef")
    template = target.get("template") or {}
    if template.get("type") == "bootstrap.kubernetes.io/token":
        raise ResolveError("spec.target.template.type: bootstrap tokens may not be templated")


# -- values -------------------------------------------------------------------------------------------
def select(remote: RemoteSecret, prop: str, key: str) -> bytes:
    """ESO's ``property`` rule: literal top-level key first, then a GJSON path."""
    if not prop:
        return remote.value
    if remote.kind == "vault":
        document: Any = remote.structured or {}
        missing = f'cannot find secret data for key: "{prop}"'
    else:
        missing = f"key {prop} does not exist in secret {key}"
        try:
            document = limits.load_json(remote.value)
        except limits.LimitExceeded as error:
            raise ResolveError(f"secret {key}: {error}") from None
        except ValueError:
            raise ResolveError(missing) from None
    if isinstance(document, Mapping) and prop in document:
        return gjson.to_bytes(document[prop])
    try:
        found, value = gjson.get(document, prop)
    except gjson.PathError as error:
        raise ResolveError(f"property {prop!r}: {error}") from None
    if not found:
        raise ResolveError(missing)
    return gjson.to_bytes(value)


def explode(remote: RemoteSecret, prop: str, key: str) -> dict[str, bytes]:
    """``extract``: a JSON object secret as one Secret key per top-level field."""
    if remote.kind == "vault" and not prop:
        document: Any = remote.structured
    else:
        try:
            document = limits.load_json(select(remote, prop, key))
        except limits.LimitExceeded as error:
            raise ResolveError(f"secret {key}: {error}") from None
        except ValueError:
            document = None
    if not isinstance(document, Mapping):
        raise ResolveError(f"unable to unmarshal secret {key}: not a JSON object")
    return {str(k): gjson.to_bytes(v) for k, v in document.items()}


def decode(value: bytes, strategy: str | None) -> bytes:
    """``decodingStrategy``: None, Base64 (std, padded), Base64URL (URL alphabet, padded), Auto."""
    if not strategy or strategy == "None":
        return value
    if strategy == "Base64":
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ResolveError("decodingStrategy Base64: value is not valid base64") from None
    if strategy == "Base64URL":
        if b"+" in value or b"/" in value:
            raise ResolveError("decodingStrategy Base64URL: value is not valid base64url")
        try:
            return base64.b64decode(value, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise ResolveError("decodingStrategy Base64URL: value is not valid base64url") from None
    if strategy == "Auto":
        for candidate in ("Base64", "Base64URL"):
            try:
                return decode(value, candidate)
            except ResolveError:
                continue
        return value
    raise ResolveError(f"decodingStrategy {strategy!r} is not one of None, Base64, Base64URL, Auto")


def _valid_char(char: str) -> bool:
    return char.isalnum() or char in "-._"


def convert_key(key: str, strategy: str | None) -> str:
    """``conversionStrategy``: Default turns invalid runes into ``_``; Unicode into ``_UXXXX_``."""
    if strategy == "Unicode":
        return "".join(c if _valid_char(c) else f"_U{ord(c):04x}_" for c in key)
    return "".join(c if _valid_char(c) else "_" for c in key)


def _go_replacement(target: str, match: re.Match[str]) -> str:
    """Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``; unknown names -> empty."""
    out: list[str] = []
    i = 0
    while i < len(target):
        char = target[i]
        if char != "$" or i + 1 >= len(target):
            out.append(char)
            i += 1
            continue
        if target[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        if target[i + 1] == "{":
            end = target.find("}", i + 2)
            if end < 0:
                out.append(char)
                i += 1
                continue
            name, i = target[i + 2 : end], end + 1
        else:
            m = re.match(r"[A-Za-z0-9_]+", target[i + 1 :])
            if not m:
                out.append(char)
                i += 1
                continue
            name, i = m.group(0), i + 1 + len(m.group(0))
        try:
            group = match.group(int(name)) if name.isdigit() else match.group(name)
        except IndexError:  # Go expands an unknown group to nothing
            group = ""
        out.append(group or "")
    return "".join(out)


def rewrite_keys(
    data: dict[str, bytes], rewrites: Sequence[Mapping[str, Any]], where: str, render: Render | None
) -> dict[str, bytes]:
    """``dataFrom[].rewrite``: regexp and transform rules, first to last."""
    for i, rule in enumerate(rewrites):
        if rule.get("regexp"):
            source = str(rule["regexp"].get("source", ""))
            target = str(rule["regexp"].get("target", ""))
            try:
                pattern = re.compile(source)
            except re.error as error:
                raise ResolveError(f"{where}.rewrite[{i}].regexp.source: invalid regexp: {error}") from None

            def expand(match: re.Match[str], target: str = target) -> str:
                return _go_replacement(target, match)

            data = {pattern.sub(expand, k): v for k, v in data.items()}
        elif rule.get("transform"):
            if render is None:
                raise ResolveError(f"{where}.rewrite[{i}].transform: template engine not available")
            text = str(rule["transform"].get("template", ""))
            renamed: dict[str, bytes] = {}
            for key, value in data.items():
                try:
                    renamed[render(text, {"value": key}, f"{where}.rewrite[{i}]")] = value
                except Exception as error:
                    raise ResolveError(f"{where}.rewrite[{i}].transform: {error}") from None
            data = renamed
        elif rule.get("merge"):
            raise ResolveError(f"{where}.rewrite[{i}].merge: not supported")
    return data


def _checked_keys(data: dict[str, bytes], where: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for key, value in data.items():
        if not key:
            continue
        if len(key) > MAX_KEY:
            raise ResolveError(f"{where}: key {key[:40]!r}... is longer than {MAX_KEY} characters")
        if not all(_valid_char(c) for c in key):
            raise ResolveError(f"{where}: key {key!r} has characters a Secret key may not hold")
        out[key] = value
    return out


def _null_check(value: bytes, policy: str | None, where: str) -> bytes:
    if policy == "Fail" and b"\x00" in value:
        raise ResolveError(f"{where}: value contains a NUL byte and nullBytePolicy is Fail")
    return value


# -- assembly -----------------------------------------------------------------------------------------
def _entry(
    where: str,
    deletion: str,
    missing: list[str],
    fetch: Callable[_P, _T],
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> _T | None:
    """``fetch(*args, **kwargs)`` for one spec entry, its failure as :class:`ResolveError` naming ``where``.

    A missing remote secret gives ``None`` (``where`` is added to ``missing``) unless ``deletionPolicy``
    is ``Retain``, where it fails like any other error (ESO keeps the Secret as it is)."""
    try:
        return fetch(*args, **kwargs)
    except NoSecretError as error:
        if deletion == "Retain":
            raise ResolveError(f"error processing {where}, err: {error}", cause=error) from None
        missing.append(where)
        return None
    except ProviderError as error:
        raise ResolveError(f"error processing {where}, err: {error}", cause=error) from None
    except ResolveError as error:
        raise ResolveError(f"error processing {where}, err: {error}", cause=error.cause) from None


def _data_from_chunk(
    spec: Mapping[str, Any], entry: Mapping[str, Any], kind: str, source: DataSource
) -> dict[str, bytes]:
    """The raw key -> value map of one ``dataFrom`` entry (``extract`` or ``find``)."""
    options = entry[kind]
    if kind == "extract":
        remote = source.get(store_of(spec, entry), fetch_key(options))
        return explode(remote, str(options.get("property") or ""), str(options.get("key", "")))
    query = FindQuery(
        path=str(options.get("path") or ""),
        name_regexp=str((options.get("name") or {}).get("regexp") or ""),
        tags=tuple(sorted((str(k), str(v)) for k, v in (options.get("tags") or {}).items())),
    )
    return {name: r.value for name, r in source.find(store_of(spec, entry), query).items()}


def _data_value(spec: Mapping[str, Any], entry: Mapping[str, Any], source: DataSource) -> bytes:
    """The decoded value of one ``data`` entry."""
    remote_ref = entry.get("remoteRef") or {}
    remote = source.get(store_of(spec, entry), fetch_key(remote_ref))
    value = select(remote, str(remote_ref.get("property") or ""), str(remote_ref.get("key", "")))
    return decode(value, remote_ref.get("decodingStrategy"))


def resolve(spec: Mapping[str, Any], source: DataSource, render: Render | None = None) -> Resolved:
    """The Secret data for ``spec``; :class:`ResolveError` naming the entry on any failure."""
    validate_spec(spec)
    deletion = (spec.get("target") or {}).get("deletionPolicy", "Retain")
    out = Resolved({})
    for i, entry in enumerate(spec.get("dataFrom") or ()):
        generator = (entry.get("sourceRef") or {}).get("generatorRef")
        kind = "generatorRef" if generator else "extract" if entry.get("extract") else "find"
        where = f"spec.dataFrom[{i}].sourceRef.generatorRef" if generator else f"spec.dataFrom[{i}].{kind}"
        options = {} if generator else entry[kind]
        if generator:
            chunk = _entry(where, "Delete", [], source.generate, generator)
        else:
            chunk = _entry(where, deletion, out.missing, _data_from_chunk, spec, entry, kind, source)
        if chunk is None:
            continue
        if entry.get("rewrite"):
            chunk = rewrite_keys(chunk, entry["rewrite"], f"spec.dataFrom[{i}]", render)
        else:
            chunk = {convert_key(k, options.get("conversionStrategy")): v for k, v in chunk.items()}
        chunk = _checked_keys(chunk, where)
        for key, value in chunk.items():
            decoded = decode(value, options.get("decodingStrategy"))
            out.data[key] = _null_check(decoded, options.get("nullBytePolicy"), where)
    for i, entry in enumerate(spec.get("data") or ()):
        secret_key = str(entry["secretKey"])
        where = f"spec.data[{i}] (key: {secret_key})"
        fetched = _entry(where, deletion, out.missing, _data_value, spec, entry, source)
        if fetched is None:
            continue
        remote_ref = entry.get("remoteRef") or {}
        out.data[secret_key] = _null_check(fetched, remote_ref.get("nullBytePolicy"), where)
    return out
