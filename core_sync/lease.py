"""Leader election on a ``coordination.k8s.io/v1`` Lease, as client-go's leaderelection does it.

One holder at a time: a replica takes the Lease when it is free or expired (``renewTime`` older than
``leaseDurationSeconds``), keeps it by renewing well within that time, and gives it up on shutdown. Every
write carries the ``resourceVersion`` it read, so two replicas racing for the same Lease cannot both win:
the API server refuses the second write with 409. Used by jobs that must run exactly once per cluster
(sealing-key generation and renewal).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core_sync.kube import KubeClient

_MICRO = "%Y-%m-%dT%H:%M:%S.%fZ"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime(_MICRO)  # MicroTime: RFC 3339 with microseconds


def _parse(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def expired(spec: dict[str, Any], default_seconds: int) -> bool:
    """Whether a Lease ``spec`` was not renewed within its duration (``default_seconds`` if it names none)."""
    renewed = _parse(spec.get("renewTime"))
    duration = int(spec.get("leaseDurationSeconds") or default_seconds)
    return renewed is None or _now() - renewed > dt.timedelta(seconds=duration)


class Lease:
    """A named Lease this process competes for as ``identity``."""

    def __init__(
        self, client: KubeClient, namespace: str, name: str, identity: str, duration_seconds: int = 15
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.duration_seconds = duration_seconds
        self.held = False

    @property
    def path(self) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/{self.name}"

    def acquire(self) -> bool:
        """Take or renew the Lease; ``True`` while this process holds it. API errors count as not held."""
        from core_sync.kube import ApiError

        try:
            self.held = self._try()
        except (ApiError, OSError):
            self.held = False
        return self.held

    def holder(self) -> str | None:
        """The current holder's identity, if the Lease exists and has not expired."""
        from core_sync.kube import ApiError

        try:
            spec = self.client.get(self.path).get("spec") or {}
        except ApiError as error:
            if error.not_found:
                return None
            raise
        return None if self._expired(spec) else spec.get("holderIdentity")

    def release(self) -> None:
        """Give the Lease up (clear the holder) so another replica takes over without waiting it out."""
        from core_sync.kube import ApiError

        if not self.held:
            return
        self.held = False
        try:
            lease = self.client.get(self.path)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            spec.update({"holderIdentity": None, "renewTime": None, "acquireTime": None})
            self.client.request("PUT", self.path, body={**lease, "spec": spec})
        except (ApiError, OSError):
            pass  # it expires on its own

    def _expired(self, spec: dict[str, Any]) -> bool:
        return expired(spec, self.duration_seconds)

    def _try(self) -> bool:
        from core_sync.kube import ApiError

        now = _stamp(_now())
        try:
            lease = self.client.get(self.path)
        except ApiError as error:
            if not error.not_found:
                raise
            return self._create(now)
        spec = dict(lease.get("spec") or {})
        holder = spec.get("holderIdentity")
        if holder and holder != self.identity and not self._expired(spec):
            return False
        if holder != self.identity:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (1 if holder else 0)
        spec.update(
            {"holderIdentity": self.identity, "leaseDurationSeconds": self.duration_seconds, "renewTime": now}
        )
        try:
            self.client.request("PUT", self.path, body={**lease, "spec": spec})  # carries resourceVersion
        except ApiError as error:
            if error.conflict:
                return False  # someone else wrote first
            raise
        return True

    def _create(self, now: str) -> bool:
        from core_sync.kube import ApiError

        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self.duration_seconds,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }
        try:
            self.client.create(self.path.rsplit("/", 1)[0], body)
        except ApiError as error:
            if error.conflict:
                return False
            raise
        return True
