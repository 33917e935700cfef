"""One provider cache for every ExternalSecret, with a per-store rate limit and concurrency bound.

ESO fetches per reconcile of each ExternalSecret, so 1,000 ExternalSecrets reading one key make 1,000
calls per refresh. Here a remote secret is fetched once per refresh window and shared: a caller says how
old a value it accepts (its refresh interval), concurrent callers of the same ref wait for one in-flight
call, and "not found" answers are cached too. Other errors are never cached. Values live in memory only
and are dropped by :meth:`ProviderCache.purge` once no refresh window can use them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from external_secrets.providers.base import FetchKey, NoSecretError, ProviderError, RemoteSecret

T = TypeVar("T")


@dataclass
class _Entry:
    at: float
    value: object = field(repr=False)  # a RemoteSecret, a dict of them, or a NoSecretError


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    value: object = field(default=None, repr=False)
    error: BaseException | None = None


class Limiter:
    """A token bucket (``rate`` per second, ``burst``) plus a bound on concurrent calls."""

    def __init__(self, rate: float, burst: int, concurrency: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(concurrency)

    def _take(self) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)

    def run(self, call: Callable[[], T]) -> T:
        self._take()
        with self.slots:
            return call()


class ProviderCache:
    """Values by ``(scope, ref)``; ``scope`` says which store/credentials a value belongs to."""

    def __init__(
        self, *, rate: float = 50.0, burst: int = 100, concurrency: int = 8, retain: float = 3600.0
    ) -> None:
        self.rate, self.burst, self.concurrency, self.retain = rate, burst, concurrency, retain
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, Hashable], _Entry] = {}
        self._flights: dict[tuple[str, Hashable], _Flight] = {}
        self._limiters: dict[str, Limiter] = {}
        self.hits = 0
        self.misses = 0

    def limiter(self, store: str) -> Limiter:
        with self._lock:
            limiter = self._limiters.get(store)
            if limiter is None:
                limiter = self._limiters[store] = Limiter(self.rate, self.burst, self.concurrency)
            return limiter

    def _lookup(
        self, key: tuple[str, Hashable], max_age: float
    ) -> tuple[_Entry | None, _Flight | None, bool]:
        """(fresh entry, flight to wait for, whether the caller must fly). Caller holds the lock."""
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry.at < max_age:
            return entry, None, False
        flight = self._flights.get(key)
        if flight is not None:
            return None, flight, False
        flight = self._flights[key] = _Flight()
        return None, flight, True

    def _land(
        self, key: tuple[str, Hashable], flight: _Flight, value: object, error: BaseException | None
    ) -> None:
        with self._lock:
            if error is None or isinstance(error, NoSecretError):
                self._entries[key] = _Entry(time.monotonic(), error if error is not None else value)
            self._flights.pop(key, None)
        flight.value, flight.error = value, error
        flight.done.set()

    @staticmethod
    def _unwrap(value: object) -> object:
        if isinstance(value, NoSecretError):
            raise value
        return value

    def _one(
        self, scope: str, store: str, key: Hashable, max_age: float, call: Callable[[], object]
    ) -> object:
        full = (scope, key)
        with self._lock:
            entry, flight, fly = self._lookup(full, max_age)
            if entry is not None:
                self.hits += 1
                return self._unwrap(entry.value)
        assert flight is not None
        if not fly:
            flight.done.wait()
            with self._lock:
                self.hits += 1
            if flight.error is not None:
                raise flight.error
            return flight.value
        with self._lock:
            self.misses += 1
        try:
            value = self.limiter(store).run(call)
        except BaseException as error:
            self._land(full, flight, None, error)
            raise
        self._land(full, flight, value, None)
        return value

    def get(
        self, scope: str, store: str, ref: FetchKey, max_age: float, fetch: Callable[[FetchKey], RemoteSecret]
    ) -> RemoteSecret:
        value = self._one(scope, store, ref, max_age, lambda: fetch(ref))
        assert isinstance(value, RemoteSecret)
        return value

    def find(
        self,
        scope: str,
        store: str,
        query: Hashable,
        max_age: float,
        run: Callable[[], dict[str, RemoteSecret]],
    ) -> dict[str, RemoteSecret]:
        value = self._one(scope, store, ("find", query), max_age, run)
        assert isinstance(value, dict)
        return value

    def prefetch(
        self,
        scope: str,
        store: str,
        refs: Sequence[FetchKey],
        max_age: float,
        fetch_many: Callable[[Sequence[FetchKey]], dict[FetchKey, RemoteSecret | ProviderError]],
    ) -> None:
        """Fetch the refs that are neither fresh nor in flight in one batched call (AWS batch APIs)."""
        mine: list[tuple[FetchKey, _Flight]] = []
        with self._lock:
            for ref in dict.fromkeys(refs):
                _, flight, fly = self._lookup((scope, ref), max_age)
                if fly:
                    assert flight is not None
                    mine.append((ref, flight))
        if not mine:
            return
        with self._lock:
            self.misses += len(mine)
        try:
            results = self.limiter(store).run(lambda: fetch_many([r for r, _ in mine]))
        except BaseException as error:
            for ref, flight in mine:
                self._land((scope, ref), flight, None, error)
            raise
        for ref, flight in mine:
            result = results.get(ref)
            if isinstance(result, RemoteSecret):
                self._land((scope, ref), flight, result, None)
            else:
                self._land((scope, ref), flight, None, result or ProviderError(f"no answer for {ref.key!r}"))

    def purge(self, older_than: float | None = None) -> int:
        """Drop values no refresh window can still use (keeps plaintext in memory no longer than needed)."""
        limit = time.monotonic() - (self.retain if older_than is None else older_than)
        with self._lock:
            stale = [k for k, e in self._entries.items() if e.at < limit]
            for key in stale:
                del self._entries[key]
        return len(stale)

    def forget(self, scope_prefix: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0].startswith(scope_prefix)]:
                del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
