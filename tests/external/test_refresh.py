"""ESO's refresh decision (``shouldRefresh``) and our jittered next-refresh delay (pure)."""

from __future__ import annotations

import time

from external_secrets.reconcile.refresh import EsState, next_refresh, should_refresh


def synced(version: str = "1-a", ago: float = 10.0) -> EsState:
    return EsState(uid="u", synced_version=version, last_refresh=time.time() - ago)


def test_never_synced_always_refreshes() -> None:
    for policy in ("Periodic", "CreatedOnce", "OnChange"):
        assert should_refresh(EsState(), policy, 3600, "1-a")


def test_periodic() -> None:
    assert not should_refresh(synced(ago=10), "Periodic", 3600, "1-a")
    assert should_refresh(synced(ago=3601), "Periodic", 3600, "1-a")
    assert should_refresh(synced(version="1-a"), "Periodic", 3600, "2-a")  # spec or metadata changed
    assert not should_refresh(
        synced(version="1-a", ago=9999), "Periodic", 0, "2-a"
    )  # 0 = once, even on change


def test_created_once_and_on_change() -> None:
    assert not should_refresh(synced(ago=9999), "CreatedOnce", 1, "2-b")
    assert not should_refresh(synced(ago=9999), "OnChange", 1, "1-a")
    assert should_refresh(synced(), "OnChange", 1, "2-a")


def test_next_refresh_is_jittered_after_the_interval() -> None:
    state = synced(ago=0)
    delays = [next_refresh(state, "Periodic", 100) for _ in range(200)]
    assert all(d is not None and 99.0 <= d <= 110.5 for d in delays)
    assert max(d for d in delays if d) - min(d for d in delays if d) > 2  # really spread
    assert next_refresh(state, "CreatedOnce", 100) is None
    assert next_refresh(state, "Periodic", 0) is None
