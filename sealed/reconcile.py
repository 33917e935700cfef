"""One SealedSecret → its Secret, as Bitnami's controller does it (``controller.go`` ``unseal``).

Order and words follow Bitnami: open with every active key (``ErrUnsealFailed`` "Failed to unseal: …"),
create the Secret if missing, refuse a Secret this SealedSecret neither controls nor may manage or patch
(``ErrUpdateFailed`` ``Resource "<name>" already exists and is not managed by SealedSecret``), replace or
(``sealedsecrets.bitnami.com/patch``) merge data, labels and annotations, copy ``type``, update only when
something changed, then ``Unsealed``. Every outcome sets the ``Synced`` condition (message = error text,
empty on success; no reason) and ``observedGeneration``. A failure never creates or changes the Secret.

Lockstep adds one annotation on the Secret, ``lockstep.dev/sealing-key``: the fingerprints of the keys
that opened it (public-key digests, nothing derived from the plaintext), which is how ``lockstep keys
usage`` and ``lockstep_sealed_secrets_by_key`` know which secrets still need which key.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, NamedTuple

from core_sync.events import post_event
from core_sync.kube import ApiError
from core_sync.metrics import REGISTRY
from sealed.format.convert import NoKeyError, open_sealed
from sealed.format.errors import FormatError

if TYPE_CHECKING:
    from core_sync.kube import KubeClient
    from sealed.format.crypto import PrivateKey

log = logging.getLogger("lockstep.sealed")

SEALING_KEY_ANNOTATION = "lockstep.dev/sealing-key"
MANAGED_ANNOTATION = "sealedsecrets.bitnami.com/managed"
PATCH_ANNOTATION = "sealedsecrets.bitnami.com/patch"
INSTANCE_LABEL = "app.kubernetes.io/instance"
EVENT_COMPONENT = "sealed-secrets"  # Bitnami's event source, so existing alert rules keep matching
UNSEALED, ERR_UNSEAL, ERR_UPDATE = "Unsealed", "ErrUnsealFailed", "ErrUpdateFailed"
SS_PATH = "/apis/bitnami.com/v1alpha1/namespaces/{namespace}/sealedsecrets/{name}"

UNSEAL_REQUESTS = REGISTRY.counter(
    "sealed_secrets_controller_unseal_requests_total", "Total number of sealed secret unseal requests"
)
UNSEAL_ERRORS = REGISTRY.counter(
    "sealed_secrets_controller_unseal_errors_total", "Total number of sealed secret unseal errors by reason"
)
CONDITION_INFO = REGISTRY.gauge(
    "sealed_secrets_controller_condition_info",
    "Current SealedSecret condition status. Values are -1 (false), 0 (unknown or absent), 1 (true)",
)
BY_KEY = REGISTRY.gauge(
    "lockstep_sealed_secrets_by_key",
    "SealedSecrets whose Secret was last opened with each sealing key (label key = key fingerprint)",
)
_CONDITION_VALUE = {"False": -1.0, "Unknown": 0.0, "True": 1.0}


class UnsealError(Exception):
    """A failure whose text becomes the ``Synced`` message (never holds secret values); ``retry`` when the
    API server may accept the same write later (5xx, 429, a write conflict)."""

    def __init__(self, message: str, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry


class Outcome(NamedTuple):
    """What one reconcile ended with: the ``Synced`` message (``None`` on success) and whether to retry."""

    message: str | None
    retry: bool = False


def _retryable(error: ApiError) -> bool:
    return error.status >= 500 or error.status in (409, 429)


def is_controlled_by(secret: Mapping[str, Any], sealed: Mapping[str, Any]) -> bool:
    uid = (sealed.get("metadata") or {}).get("uid")
    refs = (secret.get("metadata") or {}).get("ownerReferences") or []
    return any(ref.get("controller") is True and ref.get("uid") == uid for ref in refs)


def _annotated(secret: Mapping[str, Any], annotation: str) -> bool:
    return ((secret.get("metadata") or {}).get("annotations") or {}).get(annotation) == "true"


def merge_secret(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The Secret to write over ``existing``: Bitnami's replace mode, or merge mode under ``patch``."""
    merged = copy.deepcopy(dict(existing))
    meta = merged.setdefault("metadata", {})
    new_meta = desired.get("metadata") or {}
    if _annotated(existing, PATCH_ANNOTATION):
        merged["data"] = {**(existing.get("data") or {}), **(desired.get("data") or {})}
        meta["labels"] = {**(meta.get("labels") or {}), **(new_meta.get("labels") or {})}
        meta["annotations"] = {**(meta.get("annotations") or {}), **(new_meta.get("annotations") or {})}
        if _annotated(existing, MANAGED_ANNOTATION):
            _set_or_drop(meta, "ownerReferences", new_meta.get("ownerReferences"))
    else:
        _set_or_drop(merged, "data", desired.get("data"))
        for field in ("annotations", "labels", "ownerReferences"):
            _set_or_drop(meta, field, new_meta.get(field))
    _set_or_drop(merged, "type", desired.get("type") or "Opaque")
    return merged


def _set_or_drop(target: dict[str, Any], key: str, value: Any) -> None:
    if value:
        target[key] = value
    else:
        target.pop(key, None)


def synced_condition(
    status: Mapping[str, Any] | None, error: str | None, now: str
) -> tuple[dict[str, Any], bool]:
    """Bitnami's ``updateSealedSecretsStatusConditions``: the new status and whether the condition changed."""
    new = copy.deepcopy(dict(status or {}))
    conditions = list(new.get("conditions") or [])
    index = next((i for i, c in enumerate(conditions) if c.get("type") == "Synced"), None)
    if index is None:
        conditions.append({"type": "Synced"})
        index = len(conditions) - 1
    condition = dict(conditions[index])
    value = "True" if error is None else "False"
    condition["message"] = error or ""
    condition["lastUpdateTime"] = now
    changed = condition.get("status") != value
    if changed:
        condition["lastTransitionTime"] = now
        condition["status"] = value
    if not condition["message"]:
        condition.pop("message")  # omitempty, as Go serialises it
    conditions[index] = condition
    new["conditions"] = conditions
    return new, changed


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Reconciler:
    """Unseals SealedSecrets into Secrets with the keys ``keys()`` returns (thread-safe)."""

    def __init__(
        self, client: KubeClient, keys: Callable[[], list[PrivateKey]], *, update_status: bool = True
    ) -> None:
        self.client = client
        self.keys = keys
        self.update_status = update_status
        self._lock = threading.Lock()
        self._events = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sealed-events")
        self._opened_by: dict[tuple[str, str], tuple[str, ...]] = {}
        self._counts: dict[str, int] = {}

    def reconcile(self, sealed: dict[str, Any]) -> Outcome:
        """Unseal one SealedSecret; returns the ``Synced`` message (``None`` on success) and whether to retry.

        Raises ``ApiError``/``OSError`` only for failures worth retrying (the API server is unreachable)."""
        UNSEAL_REQUESTS.inc()
        sealed = {**sealed, "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret"}
        meta = sealed.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        outcome = Outcome(None)
        try:
            fingerprints = self._write_secret(sealed, namespace, name)
            self._record_key(namespace, name, fingerprints)
        except UnsealError as failure:
            outcome = Outcome(str(failure), failure.retry)
        self._set_status(sealed, outcome.message)
        return outcome

    def forget(self, namespace: str, name: str, labels: Mapping[str, str] | None = None) -> None:
        """The SealedSecret is gone: drop its metrics (its Secret goes by garbage collection)."""
        self._record_key(namespace, name, ())
        instance = (labels or {}).get(INSTANCE_LABEL, "")
        CONDITION_INFO.remove(
            namespace=namespace, name=name, condition="Synced", ss_app_kubernetes_io_instance=instance
        )

    def _write_secret(self, sealed: dict[str, Any], namespace: str, name: str) -> tuple[str, ...]:
        try:
            desired, fingerprints = open_sealed(sealed, self.keys())
        except (FormatError, ValueError) as failure:
            # names the items and the reason, never a value; in Bitnami's words when no key fits
            text = failure.bitnami_message if isinstance(failure, NoKeyError) else str(failure)
            self._event(sealed, ERR_UNSEAL, f"Failed to unseal: {text}", warning=True)
            UNSEAL_ERRORS.inc(reason="unseal", namespace=namespace)
            raise UnsealError(text) from None
        if "data" in desired:
            desired["data"] = {key: value or "" for key, value in desired["data"].items()}
        annotations = desired["metadata"].setdefault("annotations", {})
        annotations[SEALING_KEY_ANNOTATION] = ",".join(fingerprints)
        path = f"/api/v1/namespaces/{namespace}/secrets"
        try:  # create first: one request for the common case, and a 409 if anything is there already
            self.client.create(path, desired)
        except ApiError as error:
            if not error.conflict:
                self._update_failed(sealed, namespace, error.message or str(error), _retryable(error))
        else:
            self._unsealed(sealed)
            return tuple(fingerprints)
        try:
            existing = self.client.get(f"{path}/{name}")
        except ApiError as error:
            self._update_failed(sealed, namespace, error.message or str(error), _retryable(error))
        if not (
            is_controlled_by(existing, sealed)
            or _annotated(existing, MANAGED_ANNOTATION)
            or _annotated(existing, PATCH_ANNOTATION)
        ):
            message = f'Resource "{name}" already exists and is not managed by SealedSecret'
            self._event(sealed, ERR_UPDATE, message, warning=True)
            UNSEAL_ERRORS.inc(reason="unmanaged", namespace=namespace)
            raise UnsealError(f"failed update: {message}")
        merged = merge_secret(existing, desired)
        if merged != existing:
            try:
                self.client.request("PUT", f"{path}/{name}", body=merged)
            except ApiError as error:
                text, retry = error.message or str(error), _retryable(error)
                if text.endswith("field is immutable when `immutable` is set"):
                    text = (
                        f"Error updating {namespace}/{name}: the target Secret is immutable. Once a Secret "
                        "is marked as immutable, it is not possible to revert this change nor to mutate the "
                        "contents of the data field. You can only delete and recreate the Secret."
                    )
                    retry = False
                self._update_failed(sealed, namespace, text, retry)
        self._unsealed(sealed)
        return tuple(fingerprints)

    def _event(self, sealed: dict[str, Any], reason: str, message: str, *, warning: bool = False) -> None:
        """Post an Event on a background thread (in order): a worker never waits for it."""
        self._events.submit(
            post_event, self.client, sealed, reason, message, warning=warning, component=EVENT_COMPONENT
        )

    def _update_failed(self, sealed: dict[str, Any], namespace: str, text: str, retry: bool) -> None:
        self._event(sealed, ERR_UPDATE, text, warning=True)
        UNSEAL_ERRORS.inc(reason="update", namespace=namespace)
        raise UnsealError(text, retry)

    def _unsealed(self, sealed: dict[str, Any]) -> None:
        self._event(sealed, UNSEALED, "SealedSecret unsealed successfully")

    def _set_status(self, sealed: dict[str, Any], error: str | None) -> None:
        meta = sealed.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        status, changed = synced_condition(sealed.get("status"), error, _now())
        generation = meta.get("generation")
        if self.update_status and (
            changed or (sealed.get("status") or {}).get("observedGeneration") != generation
        ):
            status["observedGeneration"] = generation
            try:
                self.client.merge_patch(
                    SS_PATH.format(namespace=namespace, name=name) + "/status", {"status": status}
                )
            except ApiError as failure:
                if not failure.not_found:
                    log.warning(
                        "cannot update SealedSecret status",
                        extra={"object": f"{namespace}/{name}", "error": str(failure)},
                    )
                    UNSEAL_ERRORS.inc(reason="status", namespace=namespace)
                    return
        instance = (meta.get("labels") or {}).get(INSTANCE_LABEL, "")
        value = _CONDITION_VALUE["True" if error is None else "False"]
        CONDITION_INFO.set(
            value, namespace=namespace, name=name, condition="Synced", ss_app_kubernetes_io_instance=instance
        )

    def _record_key(self, namespace: str, name: str, fingerprints: tuple[str, ...] | list[str]) -> None:
        """Remember which keys opened this SealedSecret and keep ``lockstep_sealed_secrets_by_key`` counts."""
        new = tuple(fingerprints)
        with self._lock:
            old = self._opened_by.pop((namespace, name), ())
            if new:
                self._opened_by[(namespace, name)] = new
            for fingerprint in old:
                self._counts[fingerprint] -= 1
            for fingerprint in new:
                self._counts[fingerprint] = self._counts.get(fingerprint, 0) + 1
            changed = {f: self._counts[f] for f in {*old, *new}}
            for fingerprint, count in changed.items():
                if count:
                    BY_KEY.set(float(count), key=fingerprint)
                else:
                    del self._counts[fingerprint]
                    BY_KEY.remove(key=fingerprint)
