"""boto3 clients for an AWS store: credentials from the store's ``auth.secretRef``, its region, and the
endpoint from boto3's own ``AWS_ENDPOINT_URL*`` environment variables (how tests point at moto); and
:class:`AwsProvider`, what the two AWS providers share.

boto3 is imported here, lazily, and clients are built once per (store, credentials) and reused: building
one costs tens of milliseconds and they are thread-safe.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from external_secrets.gjson import go_json
from external_secrets.providers.base import (
    CALLS,
    AuthError,
    FetchKey,
    FindQuery,
    NoSecretError,
    ProviderError,
    ProviderUnavailable,
    RemoteSecret,
    fetch_each,
)
from external_secrets.providers.kube_access import KubeAccess
from external_secrets.push import MANAGED_BY, PushRef, with_property, without_property
from external_secrets.stores import Store
from gocompat import limits
from gocompat.jsonenc import marshal

_LOCK = threading.Lock()
_CLIENTS: dict[tuple[str, ...], tuple[float, Any]] = {}
NOT_FOUND = {"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound"}
AUTH = {
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "IncompleteSignature",
    "InvalidClientTokenId",
}


def _client_config() -> Any:
    from botocore.config import Config

    return Config(
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=3,
        read_timeout=10,
        max_pool_connections=16,
    )


def _session(region: str, creds: tuple[str, ...]) -> Any:
    import boto3

    return boto3.session.Session(
        aws_access_key_id=creds[0] if creds else None,
        aws_secret_access_key=creds[1] if len(creds) > 1 else None,
        aws_session_token=creds[2] if len(creds) > 2 else None,
        region_name=region,
    )


def _assume(session: Any, store: Store, roles: list[str]) -> tuple[Any, float]:
    """Assume ``additionalRoles`` then ``role`` in order (ESO's chain); returns the session and when the
    last credentials expire (monotonic seconds)."""
    expires = float("inf")
    for role in roles:
        args: dict[str, Any] = {"RoleArn": role, "RoleSessionName": "lockstep-external-secrets"}
        if store.config.get("externalID"):
            args["ExternalId"] = str(store.config["externalID"])
        try:
            CALLS.add(store.ref, "sts:AssumeRole")
            answer = session.client("sts", config=_client_config()).assume_role(**args)
        except Exception as error:
            raise classify(error, f"aws {store.ref}: AssumeRole {role}") from None
        creds = answer["Credentials"]
        session = _session(
            session.region_name, (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        )
        remaining = creds["Expiration"].timestamp() - time.time()
        expires = min(expires, time.monotonic() + max(remaining - 300.0, 60.0))
    return session, expires


IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
STS_AUDIENCE = "sts.amazonaws.com"


def _web_identity(store: Store, es_namespace: str, kube: KubeAccess) -> tuple[str, str, str] | None:
    """ESO's ``auth.jwt`` (IRSA): (who, role ARN from the ServiceAccount's annotation, a fresh SA token)."""
    jwt = (store.config.get("auth") or {}).get("jwt")
    if not jwt:
        return None
    sa = jwt["serviceAccountRef"]
    ns, name = store.secret_namespace(sa, es_namespace), str(sa["name"])
    role = kube.service_account_annotations(ns, name).get(IRSA_ROLE_ANNOTATION)
    if not role:
        raise AuthError(
            f"aws {store.ref}: ServiceAccount {ns}/{name} has no {IRSA_ROLE_ANNOTATION} annotation"
        )
    audiences = [STS_AUDIENCE, *(str(a) for a in sa.get("audiences") or ())]
    return f"{ns}/{name}", role, kube.service_account_token(ns, name, audiences, 600)


def _assume_web_identity(region: str, store: Store, role: str, token: str) -> tuple[Any, float]:
    """STS AssumeRoleWithWebIdentity (an unsigned call: the ServiceAccount token is the credential)."""
    from botocore import UNSIGNED
    from botocore.config import Config

    try:
        CALLS.add(store.ref, "sts:AssumeRoleWithWebIdentity")
        sts = _session(region, ()).client(
            "sts", config=_client_config().merge(Config(signature_version=UNSIGNED))
        )
        answer = sts.assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="lockstep-external-secrets", WebIdentityToken=token
        )
    except Exception as error:
        raise classify(error, f"aws {store.ref}: AssumeRoleWithWebIdentity {role}") from None
    creds = answer["Credentials"]
    session = _session(region, (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]))
    remaining = creds["Expiration"].timestamp() - time.time()
    return session, time.monotonic() + max(remaining - 300.0, 60.0)


def aws_client(service: str, store: Store, es_namespace: str, kube: KubeAccess, *, reuse: bool = True) -> Any:
    """A boto3 client; ``reuse=False`` builds a private one (the render stage keeps nothing past a call)."""
    config = store.config
    region = str(config["region"])
    ref = (config.get("auth") or {}).get("secretRef")
    creds: tuple[str, ...] = ()
    if ref:

        def value(field_name: str) -> str:
            selector = ref[field_name]
            ns = store.secret_namespace(selector, es_namespace)
            return (
                kube.secret_value(ns, str(selector["name"]), str(selector.get("key") or "")).decode().strip()
            )

        creds = (value("accessKeyIDSecretRef"), value("secretAccessKeySecretRef"))
        if ref.get("sessionTokenSecretRef"):
            creds = (*creds, value("sessionTokenSecretRef"))
    web_identity = _web_identity(store, es_namespace, kube)
    roles = [str(r) for r in config.get("additionalRoles") or ()] + (
        [str(config["role"])] if config.get("role") else []
    )
    identity = web_identity[0] if web_identity else ""
    key = (service, region, *creds, identity, "|", *roles, str(config.get("externalID") or ""))
    with _LOCK:
        cached = _CLIENTS.get(key) if reuse else None
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
    session, expires = _session(region, creds), float("inf")
    if web_identity:
        session, expires = _assume_web_identity(region, store, web_identity[1], web_identity[2])
    if roles:
        session, chained = _assume(session, store, roles)
        expires = min(expires, chained)
    client = cast(Any, session).client(service, config=_client_config())
    if reuse:
        with _LOCK:
            _CLIENTS[key] = (expires, client)
    return client


def classify(error: Exception, where: str) -> ProviderError:
    """A botocore exception as one of our errors, keeping AWS's code and message (never values)."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = str(error.response.get("Error", {}).get("Message", ""))[:300]
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        text = f"{where}: {code}: {message}"
        if code in NOT_FOUND or "marked for deletion" in message:
            return NoSecretError(text)
        if code in AUTH:
            return AuthError(text)
        if status >= 500 or code in ("ThrottlingException", "Throttling", "TooManyRequestsException"):
            return ProviderUnavailable(text)
        return ProviderError(text)
    if isinstance(error, EndpointConnectionError | BotoCoreError | OSError):
        return ProviderUnavailable(f"{where}: {type(error).__name__}: {error}")
    return ProviderError(f"{where}: {type(error).__name__}")


def tag_map(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """AWS's ``[{"Key": ..., "Value": ...}]`` as a plain map."""
    return {str(t["Key"]): str(t["Value"]) for t in tags or ()}


def tags_secret(tags: Iterable[Mapping[str, Any]] | None) -> RemoteSecret:
    """``metadataPolicy: Fetch``: the tags as ESO's ``json.Marshal`` writes them (sorted, compact, UTF-8,
    HTML-safe)."""
    return RemoteSecret(marshal(tag_map(tags)).encode())


class AwsProvider(ABC):
    """What the Secrets Manager and Parameter Store providers share: the boto3 client, the key
    ``prefix``, error wording, batched fetches, paging and ``validate``. Subclasses say how one secret,
    one batch and one ``find`` are asked for."""

    name: str
    service: str  # boto3's service name, also the word naming the service in errors
    noun: str  # what one remote secret is called in errors ("secret", "parameter")
    not_found_code: str  # AWS's error code for a missing one, quoted for a name a batch did not return
    batch_size: int

    def __init__(self, store: Store, es_namespace: str, kube: KubeAccess, *, reuse: bool = True) -> None:
        self.store = store
        self.prefix = str(store.config.get("prefix") or "")
        self.client = aws_client(self.service, store, es_namespace, kube, reuse=reuse)

    def _where(self, what: str) -> str:
        return f"aws {self.service} {self.store.ref}: {what}"

    def _about(self, name: str) -> str:
        return f"{self.noun} {name!r}"

    def _ref_of(self, name: str) -> FetchKey:
        """The ref of a listed remote name (the store's ``prefix`` taken off)."""
        return FetchKey(name[len(self.prefix) :] if self.prefix else name)

    @abstractmethod
    def fetch(self, ref: FetchKey) -> RemoteSecret: ...

    @abstractmethod
    def find(self, query: FindQuery) -> dict[str, RemoteSecret]: ...

    @abstractmethod
    def _batchable(self, ref: FetchKey) -> bool:
        """Whether ``ref`` may go in a batch call (the others are fetched one by one)."""

    @abstractmethod
    def _remote_name(self, ref: FetchKey) -> str:
        """The name a batch call asks for ``ref`` by."""

    @abstractmethod
    def _get_batch(self, names: list[str]) -> Any:
        """One batch call (counted) for ``names``."""

    @abstractmethod
    def _found(self, answer: Any) -> dict[str, RemoteSecret]:
        """A batch answer as every name it may be looked up by -> the secret."""

    def _pick(self, found: Mapping[str, RemoteSecret], ref: FetchKey, name: str) -> RemoteSecret | None:
        """``ref``'s secret in a batch answer, or ``None`` when the batch did not return it."""
        return found.get(name)

    def fetch_many(self, refs: Sequence[FetchKey]) -> dict[FetchKey, RemoteSecret | ProviderError]:
        """Batchable refs ``batch_size`` per call; the others, and a lone one, one by one."""
        batchable = [r for r in refs if self._batchable(r)]
        out = fetch_each(self, [r for r in refs if not self._batchable(r)])
        for start in range(0, len(batchable), self.batch_size):
            chunk = batchable[start : start + self.batch_size]
            if len(chunk) == 1:
                out.update(fetch_each(self, chunk))
                continue
            names = [self._remote_name(r) for r in chunk]
            try:
                answer = self._get_batch(names)
            except Exception as error:
                failure = classify(error, self._where(f"{len(names)} {self.noun}s"))
                out.update(dict.fromkeys(chunk, failure))
                continue
            found = self._found(answer)
            for ref, name in zip(chunk, names, strict=True):
                secret = self._pick(found, ref, name)
                out[ref] = (
                    secret
                    if secret is not None
                    else NoSecretError(self._where(f"{self._about(name)}: {self.not_found_code}"))
                )
        return out

    def _existing(
        self, results: Mapping[FetchKey, RemoteSecret | ProviderError], name_of: Callable[[FetchKey], str]
    ) -> dict[str, RemoteSecret]:
        """``find``'s answer from fetching what it listed: a secret gone since it was listed is left
        out; any other error is raised."""
        out: dict[str, RemoteSecret] = {}
        for ref, result in results.items():
            if isinstance(result, NoSecretError):
                continue
            if isinstance(result, ProviderError):
                raise result
            out[name_of(ref)] = result
        return out

    def _pages(self, api: str, call: Callable[..., Any], args: Mapping[str, Any]) -> Iterator[Any]:
        """Every page of a ``NextToken``-paginated call, each call counted as ``api``."""
        token: str | None = None
        while True:
            CALLS.add(self.store.ref, api)
            page = call(**args, NextToken=token) if token else call(**args)
            yield page
            token = page.get("NextToken")
            if not token:
                return

    # -- PushSecret ------------------------------------------------------------------------------------
    def _value(self, name: str) -> bytes | None:
        """The remote value (``None`` if absent)."""
        try:
            return self.fetch(self._ref_of(name)).value
        except NoSecretError:
            return None

    @abstractmethod
    def _tags(self, name: str) -> dict[str, str]:
        """The remote secret's tags, one counted call."""

    @abstractmethod
    def _put(self, name: str, value: bytes, *, create: bool, metadata: Mapping[str, Any]) -> None:
        """Create (tagged ``managed-by``) or update the remote value."""

    @abstractmethod
    def _remove(self, name: str) -> None:
        """Delete the remote secret."""

    def _managed_value(self, name: str) -> bytes | None:
        """The value of a remote secret a PushSecret may change: refuse one it did not create (ESO)."""
        current = self._value(name)
        if current is not None and self._tags(name).get(MANAGED_BY[0]) != MANAGED_BY[1]:
            raise ProviderError(self._where(f"{self._about(name)} not managed by external-secrets"))
        return current

    def _object(self, current: bytes | None, name: str, prop: str) -> dict[str, Any]:
        if current is None:
            return {}
        try:
            parsed = limits.load_json(current)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ProviderError(
                self._where(f"{self._about(name)} is not a JSON object: cannot set property {prop!r}")
            )
        return parsed

    def push(self, where: PushRef, value: bytes, metadata: Mapping[str, Any] | None = None) -> bool:
        name = self.prefix + where.remote_key
        try:
            current = self._managed_value(name)
            wanted = value
            if where.prop:
                wanted = go_json(with_property(self._object(current, name, where.prop), where.prop, value))
            if current == wanted:
                return False
            self._put(name, wanted, create=current is None, metadata=metadata or {})
        except ProviderError:
            raise
        except Exception as error:
            raise classify(error, self._where(f"push {self._about(name)}")) from None
        return True

    def exists(self, where: PushRef) -> bool:
        name = self.prefix + where.remote_key
        current = self._value(name)
        if current is None or not where.prop:
            return current is not None
        try:
            parsed = limits.load_json(current)
        except ValueError:
            return False
        return isinstance(parsed, dict) and where.prop in parsed

    def delete(self, where: PushRef) -> None:
        name = self.prefix + where.remote_key
        try:
            current = self._managed_value(name)
            if current is None:
                return
            if where.prop:
                whole = self._object(current, name, where.prop)
                rest = without_property(whole, where.prop)
                if rest == whole:
                    return
                if rest:
                    self._put(name, go_json(rest), create=False, metadata={})
                    return
            self._remove(name)
        except NoSecretError:
            return
        except ProviderError:
            raise
        except Exception as error:
            raise classify(error, self._where(f"delete {self._about(name)}")) from None

    def validate(self) -> None:
        """Like ESO: only check that credentials are usable; no secret is read."""
        creds = self.client._request_signer._credentials
        if creds is None:
            raise ProviderError(self._where("no AWS credentials (set auth.secretRef)"))
