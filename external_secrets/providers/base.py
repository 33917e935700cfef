"""What every provider offers, and the errors that tell the controller how to react.

A provider fetches *whole* remote secrets (``fetch``); picking a ``property`` out of them is pure work done
in :mod:`external_secrets.gjson` / :mod:`external_secrets.resolve`. That split is what lets the shared cache
de-duplicate: 1,000 ExternalSecrets reading different properties of one key cost one provider call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class ProviderError(RuntimeError):
    """A provider call failed. Messages name the store and the remote key, never a value."""


class NoSecretError(ProviderError):
    """The remote secret does not exist (ESO's ``NoSecretError``): ``deletionPolicy`` decides what to do."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or answered with a server error: retry with backoff."""


class AuthError(ProviderError):
    """Login or credentials failed (bad token, missing auth Secret, denied)."""


@dataclass(frozen=True)
class RemoteSecret:
    """One fetched remote secret.

    ``value`` is the payload as ESO hands it out when no ``property`` is asked for (Vault: the data map
    re-serialised like Go's ``encoding/json``; AWS: ``SecretString``/``SecretBinary``; SSM: the value).
    ``structured`` is Vault's decoded data map, where literal top-level keys win over gjson paths.
    """

    value: bytes
    structured: Mapping[str, Any] | None = field(default=None, repr=False)
    kind: str = "text"  # "vault" | "text"

    def __repr__(self) -> str:  # never print secret material
        return f"RemoteSecret(kind={self.kind!r}, bytes={len(self.value)})"


@dataclass(frozen=True)
class FetchKey:
    """What identifies a fetch inside one store: the remote key, its version and the metadata policy."""

    key: str
    version: str = ""
    metadata: bool = False


@dataclass(frozen=True)
class FindQuery:
    """``dataFrom[].find``: a path prefix, a name regexp and/or tags."""

    path: str = ""
    name_regexp: str = ""
    tags: tuple[tuple[str, str], ...] = ()


class Provider(Protocol):
    """A logged-in client for one store (and, for referent auth, one namespace)."""

    name: str

    def fetch(self, ref: FetchKey) -> RemoteSecret: ...

    def fetch_many(self, refs: Sequence[FetchKey]) -> dict[FetchKey, RemoteSecret | ProviderError]:
        """Several refs in as few calls as the provider allows (default: one by one)."""
        ...

    def find(self, query: FindQuery) -> dict[str, RemoteSecret]:
        """Remote name -> secret for every match of ``query``."""
        ...

    def validate(self) -> None:
        """Raise :class:`ProviderError` if the store cannot work (bad credentials, unreachable)."""
        ...


class Pusher(Protocol):
    """The write side a PushSecret uses (Vault/OpenBao KV, AWS SM, SSM). ``where`` is a
    :class:`external_secrets.push.PushRef`; values never appear in errors."""

    def push(self, where: Any, value: bytes, metadata: Mapping[str, Any] | None = None) -> bool:
        """Write ``value`` (a property of a JSON object when ``where.prop``); ``False`` if already so.
        ``metadata`` is ``spec.data[].metadata`` (provider specific)."""
        ...

    def exists(self, where: Any) -> bool: ...

    def delete(self, where: Any) -> None:
        """Remove what ``push`` wrote (only the property, when one is named); missing is fine."""
        ...


def fetch_each(provider: Provider, refs: Sequence[FetchKey]) -> dict[FetchKey, RemoteSecret | ProviderError]:
    """The default ``fetch_many``: one call per ref, errors kept per ref."""
    out: dict[FetchKey, RemoteSecret | ProviderError] = {}
    for ref in refs:
        try:
            out[ref] = provider.fetch(ref)
        except ProviderError as error:
            out[ref] = error
    return out


class CallCounter:
    """Counts real provider calls per store (for the bench and ``/metrics``)."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}

    def add(self, store: str, api: str, n: int = 1) -> None:
        with self._lock:
            self.calls[f"{store}|{api}"] = self.calls.get(f"{store}|{api}", 0) + n
        try:
            from core_sync.metrics import REGISTRY

            REGISTRY.counter(
                "lockstep_external_provider_calls_total",
                "Provider API calls made by the ExternalSecret controller",
            ).inc(n, store=store, api=api)
        except ImportError:  # pragma: no cover - core_sync is always there in the project
            pass

    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())


CALLS = CallCounter()
