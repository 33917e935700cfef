"""Credentials that come and go: what a credential plugin or auth-provider answered, cached until it
expires or the API server rejects it (light: no subprocess or official client imported here)."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass


class CredentialError(ValueError):
    """A credential plugin or auth-provider is misconfigured, missing, failed, or answered nonsense."""


@dataclass(frozen=True)
class Credentials:
    """What a plugin returned: a token, or a client certificate and key (PEM), and when they expire."""

    token: str | None = None
    cert_pem: bytes | None = None
    key_pem: bytes | None = None
    expires: dt.datetime | None = None

    def expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires is not None and (now or dt.datetime.now(dt.UTC)) >= self.expires


class CachedCredentials:
    """Credentials asked for once and kept until they expire or the server rejects them (subclasses say
    how to ask: :meth:`fetch`)."""

    def __init__(self) -> None:
        self._cached: Credentials | None = None
        self._lock = threading.Lock()
        self.generation = 0

    def fetch(self) -> Credentials:
        raise NotImplementedError

    def credentials(self, *, refresh: bool = False, rejected: Credentials | None = None) -> Credentials:
        """The cached answer, asking again when there is none, it expired, or ``refresh``.

        With ``rejected`` (the credentials a 401 came back for) it asks again only if nobody has
        refreshed them meanwhile, so N threads hitting one 401 run a plugin once.
        """
        with self._lock:
            cached = self._cached
            if cached is None or cached.expired() or (refresh and same_credentials(rejected, cached)):
                cached = self._cached = self.fetch()
                self.generation += 1
            return cached


def same_credentials(rejected: Credentials | None, cached: Credentials) -> bool:
    """Whether the credentials a 401 came back for are still the cached ones (``None``: assume so)."""
    if rejected is None:
        return True
    same_cert = cached.cert_pem is None or rejected.cert_pem == cached.cert_pem
    return rejected.token == cached.token and same_cert
