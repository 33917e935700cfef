"""Key lifecycle with real operator processes: exactly one replica makes keys (a Lease), the other takes
over renewal when the holder dies, and ``--key-cutoff-time`` forces one new key at start-up."""

from __future__ import annotations

import email.utils
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core_sync.lease import Lease
from core_sync.testing import ControlPlane
from sealed.key_manager import CREATED_BY_ANNOTATION, LEASE_NAME
from sealed.keys import list_keys
from tests.sealed.operator import SealedOperator, wait_for

FAST_LEASE = {"LOCKSTEP_KEY_LEASE_SECONDS": "3"}


@pytest.fixture
def key_namespace(control_plane: ControlPlane) -> str:
    return control_plane.create_namespace("keys-")


@pytest.fixture
def started() -> Iterator[list[SealedOperator]]:
    running: list[SealedOperator] = []
    yield running
    for operator in running:
        operator.stop()


def creators(control_plane: ControlPlane, namespace: str) -> list[str]:
    raw = control_plane.client.get(f"/api/v1/namespaces/{namespace}/secrets").get("items") or []
    return [str((s["metadata"].get("annotations") or {}).get(CREATED_BY_ANNOTATION)) for s in raw]


def test_two_replicas_make_one_key_and_the_survivor_takes_over_renewal(
    control_plane: ControlPlane, key_namespace: str, tmp_path: Path, started: list[SealedOperator]
) -> None:
    client = control_plane.client
    first, second = (
        SealedOperator(
            control_plane, tmp_path, key_namespace, (), "--key-renew-period", period, env=FAST_LEASE
        )
        for period in ("720h", "720h")
    )
    started += [first, second]
    first.start(wait_for_cert=False)
    second.start(wait_for_cert=False)
    for operator in (first, second):
        wait_for(lambda op=operator: op.get("/v1/cert.pem")[0] == 200, what="both serve a certificate")  # type: ignore[misc]
    time.sleep(3)  # a second key, if any replica wrongly made one, would be there by now
    (key,) = list_keys(client, key_namespace)
    assert first.get("/v1/cert.pem")[1] == second.get("/v1/cert.pem")[1] == key.cert_pem
    for operator in started:
        operator.stop()
    started.clear()

    # again, renewing every 4 s: the Lease holder renews; kill it and the other renews instead
    first, second = (
        SealedOperator(control_plane, tmp_path, key_namespace, (), "--key-renew-period", "4s", env=FAST_LEASE)
        for _ in range(2)
    )
    started += [first, second]
    first.start(wait_for_cert=False)
    second.start(wait_for_cert=False)
    lease = Lease(client, key_namespace, LEASE_NAME, "observer")
    holder = wait_for(lease.holder, what="a Lease holder")
    by_pid = {f"{os.uname().nodename}-{op.process.pid}": op for op in (first, second)}
    assert holder in by_pid, (holder, list(by_pid))
    wait_for(lambda: holder in creators(control_plane, key_namespace), what="a key renewed by the holder")
    survivor_id = next(identity for identity in by_pid if identity != holder)
    assert survivor_id not in creators(control_plane, key_namespace)  # the follower made nothing

    os.killpg(by_pid[holder].process.pid, signal.SIGKILL)
    wait_for(lambda: lease.holder() == survivor_id, timeout=30, what="the survivor holds the Lease")
    wait_for(
        lambda: survivor_id in creators(control_plane, key_namespace), timeout=30, what="survivor renews"
    )


def test_cutoff_time_makes_one_new_key_at_start(
    control_plane: ControlPlane, key_namespace: str, tmp_path: Path, started: list[SealedOperator]
) -> None:
    client = control_plane.client
    operator = SealedOperator(control_plane, tmp_path, key_namespace, ())
    started.append(operator)
    operator.start()
    (old,) = list_keys(client, key_namespace)
    operator.stop()
    time.sleep(1.1)
    cutoff = email.utils.format_datetime(email.utils.localtime(), usegmt=False)  # like `date -R`
    lease = Lease(client, key_namespace, LEASE_NAME, "observer")
    for _ in range(2):  # the second start finds a key newer than the cutoff and makes none
        again = SealedOperator(control_plane, tmp_path, key_namespace, (), "--key-cutoff-time", cutoff)
        started.append(again)
        again.start()
        identity = f"{os.uname().nodename}-{again.process.pid}"
        wait_for(lambda i=identity: lease.holder() == i, what="the new operator holds the key Lease")  # type: ignore[misc]
        keys = wait_for(
            lambda: len(list_keys(client, key_namespace)) >= 2 and list_keys(client, key_namespace)
        )
        time.sleep(1)
        assert [k.name for k in list_keys(client, key_namespace)] == [k.name for k in keys]
        assert len(keys) == 2 and keys[1].name == old.name
        wait_for(lambda op=again, k=keys[0]: op.get("/v1/cert.pem")[1] == k.cert_pem, what="newest served")  # type: ignore[misc]
        again.stop()


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--key-cutoff-time", "yesterday", "--key-cutoff-time: 'yesterday' is not an RFC 1123 time"),
        ("--key-order-priority", "Newest", "--key-order-priority: invalid choice: 'Newest'"),
    ],
    ids=["cutoff-time", "order-priority"],
)
def test_a_bad_key_flag_is_refused_with_the_flag_named(
    control_plane: ControlPlane, key_namespace: str, tmp_path: Path, flag: str, value: str, message: str
) -> None:
    operator = SealedOperator(control_plane, tmp_path, key_namespace, (), flag, value)
    operator.process.start()
    wait_for(lambda: not operator.process.running(), what="the operator to exit")
    assert message in operator.process.log_tail(20)


def test_sigusr1_makes_a_new_key_at_once(
    control_plane: ControlPlane, key_namespace: str, tmp_path: Path, started: list[SealedOperator]
) -> None:
    """Bitnami's manual renewal: ``kill -USR1`` makes a key now (renewal off here), which is then served."""
    client = control_plane.client
    operator = SealedOperator(
        control_plane, tmp_path, key_namespace, (), "--key-renew-period", "0", env=FAST_LEASE
    )
    started.append(operator)
    operator.start()
    (first,) = list_keys(client, key_namespace)
    time.sleep(1.1)  # certificates have one-second resolution: the new key must be strictly newer
    os.kill(operator.process.pid, signal.SIGUSR1)
    keys = wait_for(lambda: [k for k in list_keys(client, key_namespace) if k.name != first.name], 30)
    (second,) = keys
    wait_for(lambda: operator.get("/v1/cert.pem")[1] == second.cert_pem, what="the new key served")
    assert operator.process.running()  # the signal did not end the operator
    time.sleep(2)
    assert len(list_keys(client, key_namespace)) == 2  # one signal, one key


@pytest.mark.parametrize("order", ["CertNotBefore", "SecretCreationTimestamp"])
def test_key_order_priority_picks_the_sealing_key(
    control_plane: ControlPlane, key_namespace: str, tmp_path: Path, started: list[SealedOperator], order: str
) -> None:
    """A brought-in key with a back-dated certificate, created after the current key: Bitnami's default
    (CertNotBefore) keeps sealing with the current key; SecretCreationTimestamp switches to the new Secret."""
    import datetime as dt

    from sealed.format.keygen import generate_key_pair
    from sealed.keys import create_key_secret

    client = control_plane.client
    operator = SealedOperator(
        control_plane, tmp_path, key_namespace, (), "--key-renew-period", "0", "--key-order-priority", order
    )
    started.append(operator)
    operator.start()
    (current,) = list_keys(client, key_namespace)
    time.sleep(1.1)  # a strictly later creationTimestamp
    old_cert = generate_key_pair(2048, not_before=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    brought = create_key_secret(client, old_cert, key_namespace)
    expected = brought if order == "SecretCreationTimestamp" else current
    wait_for(lambda: operator.get("/v1/cert.pem")[1] == expected.cert_pem, what=f"{order} picks its key")
    time.sleep(1)
    assert operator.get("/v1/cert.pem")[1] == expected.cert_pem
