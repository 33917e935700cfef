"""core_sync.lease against the real API server: one holder at a time, expiry, release, racing writers."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from core_sync.lease import Lease
from core_sync.testing import ControlPlane


def test_one_holder_expiry_and_release(control_plane: ControlPlane, namespace: str) -> None:
    client = control_plane.client
    first, second = (Lease(client, namespace, "work", who, duration_seconds=2) for who in ("a", "b"))
    assert first.acquire() and first.held
    assert not second.acquire() and not second.held
    assert first.acquire()  # renewing keeps it
    assert second.holder() == "a"
    time.sleep(2.5)  # "a" stopped renewing: the lease expires and "b" takes it
    assert second.holder() is None
    assert second.acquire() and second.holder() == "b"
    spec = client.get(f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/work")["spec"]
    assert (
        spec["holderIdentity"] == "b" and spec["leaseDurationSeconds"] == 2 and spec["leaseTransitions"] == 1
    )
    second.release()
    assert first.holder() is None and first.acquire()  # released: taken at once, no waiting


def test_racing_replicas_never_both_win(control_plane: ControlPlane, namespace: str) -> None:
    client = control_plane.client
    contenders = [Lease(client, namespace, "race", f"r{i}", duration_seconds=30) for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        won = list(pool.map(lambda lease: lease.acquire(), contenders))
    assert won.count(True) == 1
    winner = contenders[won.index(True)]
    assert Lease(client, namespace, "race", "observer").holder() == winner.identity
