"""The shared provider cache against the real OpenBao: one call per ref per window, however many callers."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from es_helpers import kv_put, make_secret

from external_secrets.cache import Limiter, ProviderCache
from external_secrets.providers import CALLS, FetchKey, NoSecretError, ProviderUnavailable, open_provider
from external_secrets.providers import scope as provider_scope
from external_secrets.stores import parse_store


def provider_for(openbao: Any, kube: Any, access: Any, namespace: str) -> tuple[Any, Any]:
    make_secret(kube, namespace, "bao-token", {"token": openbao.token})
    store = parse_store(
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "SecretStore",
            "metadata": {"name": "vault", "namespace": namespace, "uid": "u"},
            "spec": {
                "provider": {
                    "vault": {
                        "server": openbao.url,
                        "path": "secret",
                        "auth": {"tokenSecretRef": {"name": "bao-token", "key": "token"}},
                    }
                }
            },
        }
    )
    return store, open_provider(store, namespace, access)


def reads(store: Any) -> int:
    return CALLS.calls.get(f"{store.ref}|vault:read", 0)


def test_concurrent_callers_share_one_call_per_window(
    openbao: Any, kube: Any, access: Any, namespace: str
) -> None:
    for i in range(5):
        kv_put(openbao, f"{namespace}/k{i}", {"v": str(i)})
    store, provider = provider_for(openbao, kube, access, namespace)
    cache = ProviderCache()
    scope = provider_scope(store, namespace)
    before = reads(store)

    def one(i: int) -> bytes:
        return cache.get(scope, store.ref, FetchKey(f"{namespace}/k{i % 5}"), 60.0, provider.fetch).value

    with ThreadPoolExecutor(16) as pool:
        values = list(pool.map(one, range(200)))
    assert reads(store) - before == 5
    assert values[7] == b'{"v":"2"}'
    # a caller that accepts only younger values triggers one refetch; a missing key is cached as missing
    kv_put(openbao, f"{namespace}/k0", {"v": "rotated"})
    time.sleep(0.3)
    assert (
        cache.get(scope, store.ref, FetchKey(f"{namespace}/k0"), 0.2, provider.fetch).value
        == b'{"v":"rotated"}'
    )
    for _ in range(3):
        with pytest.raises(NoSecretError):
            cache.get(scope, store.ref, FetchKey(f"{namespace}/none"), 60.0, provider.fetch)
    assert reads(store) - before == 7
    assert cache.purge(older_than=0.0) >= 6 and len(cache) == 0


def test_errors_are_not_cached() -> None:
    cache = ProviderCache()
    calls = []

    def failing(ref: FetchKey) -> Any:
        calls.append(ref)
        raise ProviderUnavailable("down")

    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            cache.get("scope", "store", FetchKey("k"), 60.0, failing)
    assert len(calls) == 3


def test_limiter_bounds_rate_and_concurrency() -> None:
    limiter = Limiter(rate=10.0, burst=1, concurrency=2)
    began = time.monotonic()
    active, peak = [0], [0]

    def call() -> None:
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        active[0] -= 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: limiter.run(call), range(11)))
    assert time.monotonic() - began >= 0.9  # 11 calls at 10/s with a burst of 1
    assert peak[0] <= 2
