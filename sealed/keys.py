"""The cluster's sealing keys: TLS Secrets in the controller namespace, named and labelled as Bitnami does.

Keeping Bitnami's layout (``sealedsecrets.bitnami.com/sealed-secrets-key: active``, ``generateName:
sealed-secrets-key``, type ``kubernetes.io/tls``, ``tls.key`` holding a PKCS#1 PEM key) is what lets a
cluster move its keys between a Bitnami controller and Lockstep. Keys labelled anything but ``active``
(``compromised``) are kept but never used to open anything, as Bitnami's controller ignores them. A Secret
named exactly ``sealed-secrets-key`` (Bitnami before 0.9) counts as active even without the label.

The functions here are the key store for the controller and for ``lockstep keys``:
:func:`list_keys` (every key Secret and its state), :func:`read_sealing_keys` (the usable private keys),
:func:`store_new_key` / :func:`create_key_secret` (a new active key), :func:`set_key_state` (relabel).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sealed.format import b64
from sealed.format.certs import parse_certificate_pem
from sealed.format.crypto import PrivateKey, fingerprint, public_key
from sealed.format.errors import FormatError
from sealed.format.keys import load_private_keys

# the key names are re-exported: the key code's callers name them from here
from sealed.key_names import ACTIVE as ACTIVE
from sealed.key_names import COMPROMISED as COMPROMISED
from sealed.key_names import KEY_LABEL as KEY_LABEL
from sealed.key_names import KEY_NAMESPACE as KEY_NAMESPACE
from sealed.key_names import KEY_PREFIX as KEY_PREFIX
from sealed.key_names import TLS_TYPE as TLS_TYPE
from sealed.key_order import CERT_NOT_BEFORE, SECRET_CREATION

if TYPE_CHECKING:
    from core_sync.kube import KubeClient
    from sealed.format.keygen import SealingKeyPair


@dataclass(frozen=True)
class KeySecret:
    """One key Secret as the controller sees it. ``state`` is the label value (``active``, ``compromised``,
    …); ``key`` is ``None`` and ``problem`` says why when ``tls.key`` cannot be used."""

    name: str
    namespace: str
    state: str
    fingerprint: str
    created: str  # metadata.creationTimestamp (RFC 3339)
    not_before: int | None  # the certificate's NotBefore (Unix seconds): Bitnami's default key order
    cert_pem: bytes = field(repr=False)
    key: PrivateKey | None = field(default=None, repr=False)
    problem: str = ""
    uid: str = ""

    @property
    def active(self) -> bool:
        return self.state == ACTIVE and self.key is not None

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


def _order(key: KeySecret) -> tuple[int, str, str]:
    return (key.not_before if key.not_before is not None else -1, key.created, key.name)


def _order_by_creation(key: KeySecret) -> tuple[str, str]:
    return (key.created, key.name)


def newest_first(keys: Sequence[KeySecret], order: str = CERT_NOT_BEFORE) -> list[KeySecret]:
    """Newest certificate first (``--key-order-priority=CertNotBefore``, Bitnami's default), then creation,
    then name: both times have one-second resolution, and two keys made in one second must still sort the
    same way in every process and after every restart (the served certificate must not flip).
    ``SecretCreationTimestamp`` orders by the Secrets' creation (for brought-in certificates back-dated)."""
    return sorted(keys, key=_order_by_creation if order == SECRET_CREATION else _order, reverse=True)


def newest_active(keys: Sequence[KeySecret], order: str = CERT_NOT_BEFORE) -> KeySecret | None:
    """The key that seals new secrets and whose certificate ``/v1/cert.pem`` serves."""
    return next((key for key in newest_first(keys, order) if key.active), None)


def parse_key_secret(secret: Mapping[str, Any]) -> KeySecret:
    """A key Secret (as the API returns it) read into a :class:`KeySecret`; never raises."""
    meta = _mapping(secret.get("metadata"))
    name, namespace = str(meta.get("name") or "?"), str(meta.get("namespace") or "")
    labels = _mapping(meta.get("labels"))
    state = str(labels.get(KEY_LABEL) or (ACTIVE if name == KEY_PREFIX else ""))
    data = _mapping(secret.get("data"))
    where = f"Secret {namespace}/{name}"
    cert_pem, not_before, print_, problem = b"", None, "", ""
    try:
        cert_pem = b64.decode(_text(data.get("tls.crt") or ""))
        cert = parse_certificate_pem(cert_pem)
        not_before, print_ = cert.not_before, fingerprint(public_key(cert))
    except (FormatError, ValueError) as error:
        problem = f"{where}: tls.crt: {error.message if isinstance(error, FormatError) else 'not base64'}"
    key: PrivateKey | None = None
    encoded = data.get("tls.key")
    if not encoded:
        problem = f"{where}: no tls.key"
    else:
        try:
            loaded = load_private_keys(b64.decode(_text(encoded)), where)
            key = loaded[0] if loaded else None
        except ValueError as error:
            reason = error.message if isinstance(error, FormatError) else "tls.key is not base64"
            problem = f"{where}: {reason}"
    shape = _shape_problem(secret, meta)
    if shape:
        problem = f"{where}: {shape}"
    if key is not None:
        if print_ and print_ != key.fingerprint:
            problem = f"{where}: tls.crt does not belong to tls.key"
        print_ = key.fingerprint
    return KeySecret(
        name=name,
        namespace=namespace,
        state=state,
        fingerprint=print_,
        created=str(meta.get("creationTimestamp") or ""),
        not_before=not_before,
        cert_pem=cert_pem,
        key=key,
        problem=problem,
        uid=str(meta.get("uid") or ""),
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    """A base64 field's text; anything else (a number, a mapping from a hand-edited backup) is refused."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def _shape_problem(secret: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    for where, value in (
        ("metadata", secret.get("metadata")),
        ("metadata.labels", meta.get("labels")),
        ("data", secret.get("data")),
    ):
        if value is not None and not isinstance(value, Mapping):
            return f"{where} is not a mapping"
    return ""


def key_secret_objects(client: KubeClient, namespace: str = KEY_NAMESPACE) -> list[dict[str, Any]]:
    """The key Secrets as the API returns them (any label value, plus the legacy unlabelled one)."""
    from core_sync.kube import ApiError

    path = f"/api/v1/namespaces/{namespace}/secrets"
    items = list(client.get(path, labelSelector=KEY_LABEL).get("items") or [])
    if not any((s.get("metadata") or {}).get("name") == KEY_PREFIX for s in items):
        try:
            items.append(client.get(f"{path}/{KEY_PREFIX}"))
        except ApiError as error:
            if not error.not_found:
                raise
    return items


def list_keys(client: KubeClient, namespace: str = KEY_NAMESPACE) -> list[KeySecret]:
    """Every key Secret in ``namespace`` with its state, fingerprint and creation time, newest first."""
    return newest_first([parse_key_secret(secret) for secret in key_secret_objects(client, namespace)])


def read_sealing_keys(
    client: KubeClient, namespace: str = KEY_NAMESPACE
) -> tuple[list[PrivateKey], list[str]]:
    """Every active private key, newest first, and a note for each active key Secret that is unusable."""
    keys = [k for k in list_keys(client, namespace) if k.state == ACTIVE]
    return [k.key for k in keys if k.key is not None], [k.problem for k in keys if k.problem]


def key_secret_manifest(
    pair: SealingKeyPair,
    namespace: str = KEY_NAMESPACE,
    *,
    prefix: str = KEY_PREFIX,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Secret Bitnami's controller writes for a new key (``generateName``, active label, TLS type).

    Extra ``labels`` cannot override the active label (as Bitnami's ``--privatekey-labels``)."""
    metadata: dict[str, Any] = {
        "generateName": prefix,
        "namespace": namespace,
        "labels": {**(labels or {}), KEY_LABEL: ACTIVE},
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": TLS_TYPE,
        "metadata": metadata,
        "data": {"tls.crt": b64.encode(pair.cert_pem), "tls.key": b64.encode(pair.key_pem)},
    }


def create_key_secret(
    client: KubeClient,
    pair: SealingKeyPair,
    namespace: str = KEY_NAMESPACE,
    *,
    prefix: str = KEY_PREFIX,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> KeySecret:
    """Store ``pair`` as a new active key Secret (``<prefix><5 chars>``); creates the namespace if missing."""
    from core_sync.kube import ApiError

    manifest = key_secret_manifest(pair, namespace, prefix=prefix, labels=labels, annotations=annotations)
    path = f"/api/v1/namespaces/{namespace}/secrets"
    try:
        created = client.create(path, manifest)
    except ApiError as error:
        if not error.not_found:
            raise
        ensure_namespace(client, namespace)
        created = client.create(path, manifest)
    return parse_key_secret(created)


def store_new_key(
    client: KubeClient,
    namespace: str = KEY_NAMESPACE,
    *,
    bits: int = 4096,
    ttl_seconds: float | None = None,
    common_name: str = "",
    prefix: str = KEY_PREFIX,
) -> KeySecret:
    """Generate a Bitnami-shaped key (:mod:`sealed.format.keygen`) and store it as the newest active key."""
    import datetime as dt

    from sealed.format.keygen import DEFAULT_KEY_TTL, generate_key_pair

    ttl = dt.timedelta(seconds=ttl_seconds) if ttl_seconds else DEFAULT_KEY_TTL
    pair = generate_key_pair(bits, ttl=ttl, common_name=common_name)
    return create_key_secret(client, pair, namespace, prefix=prefix)


def set_key_state(client: KubeClient, name: str, state: str, namespace: str = KEY_NAMESPACE) -> KeySecret:
    """Relabel a key Secret (``active`` / ``compromised`` / …); the controller picks it up from its watch."""
    if not state or len(state) > 63:
        raise ValueError(f"invalid key state {state!r}")
    patched = client.merge_patch(
        f"/api/v1/namespaces/{namespace}/secrets/{name}", {"metadata": {"labels": {KEY_LABEL: state}}}
    )
    return parse_key_secret(patched)


def ensure_namespace(client: KubeClient, namespace: str) -> None:
    """Create ``namespace`` unless it exists."""
    from core_sync.kube import ApiError

    try:
        client.create(
            "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
    except ApiError as error:
        if not error.conflict:
            raise


def announce_key(client: KubeClient, created: KeySecret, previous: KeySecret | None, by: str = "") -> None:
    """A ``KeyRotated`` Event on the new key Secret (``KeyCreated`` for the first), which Notifiers
    watching ``Secret`` events of the key namespace send on: names and the key fingerprint only."""
    from core_sync.events import post_event

    involved = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": created.name, "namespace": created.namespace, "uid": created.uid},
    }
    if previous is None:
        reason, message = "KeyCreated", f"made the first sealing key {created.name}"
    else:
        reason, message = "KeyRotated", f"new sealing key {created.name} replaces {previous.name} for sealing"
    message += f" (certificate fingerprint {created.fingerprint}){by}"
    post_event(client, involved, reason, message, component="sealed-secrets")
