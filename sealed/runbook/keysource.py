"""Where the runbook's keys come from: the cluster (through the controller) or a backup file (offline).

``ClusterKeys`` makes the new key with the key store (:mod:`sealed.keys`, :mod:`sealed.format.keygen`),
waits until ``/v1/cert.pem`` serves it and re-seals through ``/v1/rotate`` — plaintext never leaves the
cluster. ``BackupKeys`` (``--offline --keys BACKUP``) cannot create a key in a cluster it cannot reach: its
target is the newest active key in the backup (take the backup after the controller made the new key).

How a backup is known (preflight): ``lockstep keys backup`` stamps every key Secret it saved with the
annotation ``lockstep.dev/backed-up-at`` (RFC 3339). The check passes when the newest key carries it, i.e.
a backup taken after the newest key exists. The stamp is in the cluster, so it holds whoever took the
backup and on whichever machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sealed.format.errors import FormatError
from sealed.keys import KeySecret, newest_active, newest_first
from sealed.runbook.reseal import Cipher, ControllerCipher, LocalCipher

BACKUP_ANNOTATION = "lockstep.dev/backed-up-at"
CERT_WAIT_S = 120.0


class Target:
    """The key everything is re-sealed with."""

    __slots__ = ("created", "fingerprint", "name")

    def __init__(self, name: str, fingerprint: str, created: bool) -> None:
        self.name = name
        self.fingerprint = fingerprint
        self.created = created


class KeySource(Protocol):
    """What the runbook asks of its keys, online or offline."""

    mode: str

    def describe(self) -> str: ...

    def names(self) -> dict[str, str]:
        """Fingerprint -> key Secret name, for the report."""
        ...

    def preflight(self, check_backup: bool) -> list[str]: ...

    def target(
        self, resume: str | None, use_current: bool, dry_run: bool, adopt_since: float | None = None
    ) -> Target: ...

    def cipher(self, target: Target) -> Cipher: ...


def cert_fingerprint(pem: bytes) -> str:
    from sealed.format.certs import parse_certificate_pem
    from sealed.format.crypto import fingerprint, public_key

    return fingerprint(public_key(parse_certificate_pem(pem)))


class BackupKeys:
    mode = "offline"

    def __init__(self, keys: list[KeySecret], source: str) -> None:
        self.keys = keys
        self.source = source

    def describe(self) -> str:
        return f"backup {self.source}"

    def names(self) -> dict[str, str]:
        return {k.fingerprint: k.name for k in self.keys}

    def preflight(self, check_backup: bool) -> list[str]:
        return []  # the backup is the key source: nothing to reach, and it exists

    def target(
        self, resume: str | None, use_current: bool, dry_run: bool, adopt_since: float | None = None
    ) -> Target:
        newest = newest_active(self.keys)
        if newest is None:
            raise FormatError("the backup holds no active key to re-encrypt to", self.source)
        if resume and resume != newest.fingerprint:
            raise FormatError(
                f"an interrupted run re-encrypts to key {resume}, but the newest key in this backup is "
                f"{newest.fingerprint}; resume with the same backup",
                self.source,
            )
        return Target(newest.name, newest.fingerprint, created=False)

    def cipher(self, target: Target) -> Cipher:
        chosen = next(k for k in self.keys if k.fingerprint == target.fingerprint)
        assert chosen.key is not None
        return LocalCipher([k.key for k in self.keys if k.key is not None], chosen.key)


class ClusterKeys:
    mode = "controller"

    def __init__(self, client: Any, controller: Any, namespace: str) -> None:
        self.client = client
        self.controller = controller
        self.namespace = namespace
        self._keys: list[KeySecret] | None = None

    def describe(self) -> str:
        return self.controller.describe()  # type: ignore[no-any-return]

    def keys(self, refresh: bool = False) -> list[KeySecret]:
        from sealed.keys import list_keys

        if self._keys is None or refresh:
            self._keys = list_keys(self.client, self.namespace)
        return self._keys

    def names(self) -> dict[str, str]:
        return {k.fingerprint: k.name for k in self.keys()}

    def served_fingerprint(self) -> str:
        from sealed.remote import fetch_controller_cert

        return cert_fingerprint(fetch_controller_cert(self.controller))

    def preflight(self, check_backup: bool) -> list[str]:
        problems = []
        try:
            self.served_fingerprint()
        except FormatError as error:
            problems.append(f"controller {self.describe()} not reachable: {error}")
        if check_backup:
            keys = newest_first(self.keys())
            if not keys:
                problems.append(f"no sealing keys in namespace {self.namespace}")
            elif BACKUP_ANNOTATION not in (self._annotations(keys[0]) or {}):
                problems.append(
                    f"no backup newer than the newest key {keys[0].name}: run `lockstep keys backup -o FILE` "
                    "first (or pass --no-backup-check)"
                )
        return problems

    def _annotations(self, key: KeySecret) -> dict[str, str]:
        secret = self.client.get(f"/api/v1/namespaces/{self.namespace}/secrets/{key.name}")
        return dict((secret.get("metadata") or {}).get("annotations") or {})

    def target(
        self, resume: str | None, use_current: bool, dry_run: bool, adopt_since: float | None = None
    ) -> Target:
        names = self.names()
        adopted = self._made_since(adopt_since) if adopt_since and not use_current else None
        if adopted is not None:
            self._wait_for(adopted.fingerprint)
            return Target(adopted.name, adopted.fingerprint, created=True)
        if resume:
            self._wait_for(resume)
            return Target(names.get(resume, resume), resume, created=False)
        if use_current or dry_run:
            served = self.served_fingerprint()
            return Target(names.get(served, served), served, created=False)
        from sealed.keys import announce_key, store_new_key

        previous = newest_active(self.keys())
        new = store_new_key(self.client, self.namespace)
        announce_key(self.client, new, previous, by=" by `lockstep keys rotate`")
        self._wait_for(new.fingerprint)
        self.keys(refresh=True)
        return Target(new.name, new.fingerprint, created=True)

    def _made_since(self, since: float) -> KeySecret | None:
        """The newest active key if it was created after ``since`` (less clock skew): the key an interrupted
        run made before it could record it."""
        import datetime as dt

        newest = newest_active(self.keys(refresh=True))
        if newest is None or not newest.created:
            return None
        created = dt.datetime.fromisoformat(newest.created.replace("Z", "+00:00")).timestamp()
        return newest if created >= since - 5 else None

    def _wait_for(self, fingerprint: str) -> None:
        deadline = time.monotonic() + CERT_WAIT_S
        served = ""
        while time.monotonic() < deadline:
            served = self.served_fingerprint()
            if served == fingerprint:
                return
            time.sleep(0.5)
        raise FormatError(
            f"the controller still serves {served} after {CERT_WAIT_S:.0f}s, not the new key {fingerprint}"
        )

    def cipher(self, target: Target) -> Cipher:
        return ControllerCipher(self.controller)


def load_backup_keys(path: Path, identities: Callable[[], list[tuple[str, str]]]) -> BackupKeys:
    """The keys of a plain or age-encrypted backup; ``identities`` is asked only for an encrypted one."""
    from sealed.keybackup import age_decrypt, is_age, read_backup, read_backup_file

    data = read_backup_file(path)
    if is_age(data):
        data = age_decrypt(data, identities(), str(path))
    keys = [key for key, _ in read_backup(data, str(path))]
    return BackupKeys(keys, str(path))
