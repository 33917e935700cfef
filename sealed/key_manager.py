"""Sealing-key generation and renewal, by exactly one operator replica at a time.

Bitnami's rules (``pkg/controller/main.go`` ``initKeyRenewal``): a key is made when there is none, or when
the newest is older than ``--key-cutoff-time``; then every ``--key-renew-period`` after the newest key's
birth (0 disables renewal). Renewal only adds keys; old keys stay and keep opening what they sealed. The
replica holding the ``lockstep-sealing-keys`` Lease in the key namespace does the work; the others wait,
and take over within one lease duration when the holder dies. Before making a key, the holder lists the
keys from the API server again, so a key another replica made just before is never doubled.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sealed.key_order import CERT_NOT_BEFORE, SECRET_CREATION
from sealed.keys import (
    ACTIVE,
    KeySecret,
    announce_key,
    create_key_secret,
    ensure_namespace,
    list_keys,
    newest_active,
)

if TYPE_CHECKING:
    from core_sync.kube import KubeClient
    from sealed.format.keygen import SealingKeyPair
    from sealed.keyring import KeyRing

log = logging.getLogger("lockstep.sealed.keys")
LEASE_NAME = "lockstep-sealing-keys"
CREATED_BY_ANNOTATION = "lockstep.dev/created-by"


def parse_cutoff(text: str) -> float | None:
    """``--key-cutoff-time`` (RFC 1123 / 1123Z, as ``date -R`` prints) as Unix time; empty is none."""
    if not text:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(
            f"--key-cutoff-time: {text!r} is not an RFC 1123 time like 'Mon, 02 Jan 2006 15:04:05 -0700'"
        )
    return moment.timestamp()


def key_birth(key: KeySecret, order: str = CERT_NOT_BEFORE) -> float:
    """When a key was made, as ``--key-order-priority`` counts it: its certificate's NotBefore (else its
    Secret's creation time), or its Secret's creation time."""
    if key.not_before is not None and order != SECRET_CREATION:
        return float(key.not_before)
    try:
        return dt.datetime.fromisoformat(key.created.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def seconds_until_new_key(
    newest: KeySecret | None,
    now: float,
    renew_period: float,
    cutoff: float | None,
    order: str = CERT_NOT_BEFORE,
) -> float:
    """0 when a key must be made now; ``inf`` when renewal is off and the newest key is fine."""
    if newest is None:
        return 0.0
    born = key_birth(newest, order)
    if cutoff is not None and born < cutoff:
        return 0.0
    if renew_period <= 0:
        return float("inf")
    return max(born + renew_period - now, 0.0)


class KeyManager:
    """Makes keys when due while this replica holds the key Lease (run :meth:`run` in a thread)."""

    def __init__(
        self,
        client: KubeClient,
        ring: KeyRing,
        namespace: str,
        identity: str,
        *,
        make_key: Callable[[], SealingKeyPair],
        renew_period: float,
        cutoff: float | None,
        prefix: str,
        lease_seconds: int = 15,
        backup: Callable[[], str] | None = None,
    ) -> None:
        self.client = client
        self.ring = ring
        self.namespace = namespace
        self.identity = identity
        self.make_key = make_key
        self.renew_period = renew_period
        self.cutoff = cutoff
        self.prefix = prefix
        self.lease_seconds = lease_seconds
        self.backup = backup
        self.backup_pending = False  # a key was made and its backup has not been written yet
        self.renew_requested = False  # SIGUSR1: make a key now, whatever the schedule says
        self._wakeup = threading.Event()
        from core_sync.lease import Lease

        self.lease = Lease(client, namespace, LEASE_NAME, identity, lease_seconds)

    def run(self, stop: threading.Event) -> None:
        from core_sync.kube import ApiError

        lease = self.lease
        self.ring.loaded.wait(timeout=30)
        namespace_ready = False
        while not stop.is_set():
            wait = self.lease_seconds / 3
            try:
                if not namespace_ready:
                    ensure_namespace(self.client, self.namespace)
                    namespace_ready = True
                if lease.acquire():
                    wait = min(wait, self.ensure_current())
                    self.write_backup()
                elif self.renew_requested:
                    self.renew_requested = False
                    log.warning(
                        "new sealing key requested, but another replica holds the key Lease and makes keys: "
                        "signal that replica",
                        extra={"object": f"{self.namespace}/{LEASE_NAME}"},
                    )
            except (ApiError, OSError, ValueError) as error:
                log.warning("sealing key renewal failed; retrying", extra={"error": str(error)})
            self._wakeup.wait(max(wait, 0.5))
            self._wakeup.clear()

    def wake(self) -> None:
        """Run the next round now (shutdown, or a renewal request)."""
        self._wakeup.set()

    def request_renewal(self) -> None:
        """Make a new key at once (Bitnami's SIGUSR1); only the replica holding the key Lease makes it."""
        self.renew_requested = True
        log.info("new sealing key requested (SIGUSR1)")
        self.wake()

    def write_backup(self) -> None:
        """Back up all keys if a key was made since the last backup; a failure is retried next round."""
        if not self.backup_pending or self.backup is None:
            return
        try:
            where = self.backup()
        except Exception as error:  # boto3/botocore errors have no common base worth importing
            log.warning("sealing key backup failed; retrying", extra={"error": str(error)})
            return
        self.backup_pending = False
        log.info("backed up the sealing keys", extra={"object": where})

    def ensure_current(self) -> float:
        """Make a key if one is due (checked against a fresh listing); seconds until the next is due."""
        order = self.ring.order
        requested, self.renew_requested = self.renew_requested, False
        due = seconds_until_new_key(self.ring.newest(), time.time(), self.renew_period, self.cutoff, order)
        if due > 0 and not requested:
            return due
        keys = [k for k in list_keys(self.client, self.namespace) if k.state == ACTIVE]
        due = seconds_until_new_key(
            newest_active(keys, order), time.time(), self.renew_period, self.cutoff, order
        )
        if due > 0 and not requested:
            for key in keys:
                self.ring.add(key)
            return 0.5
        created = create_key_secret(
            self.client,
            self.make_key(),
            self.namespace,
            prefix=self.prefix,
            annotations={CREATED_BY_ANNOTATION: self.identity},
        )
        log.info("made a new sealing key", extra={"key": created.ref, "fingerprint": created.fingerprint})
        announce_key(self.client, created, previous=newest_active(keys, order))
        self.ring.add(created)
        self.backup_pending = self.backup is not None
        return seconds_until_new_key(created, time.time(), self.renew_period, None, order)
