"""boto3 clients for an AWS store: credentials from the store's ``auth.secretRef``, its region, and the
endpoint from boto3's own ``AWS_ENDPOINT_URL*`` environment variables (how tests point at moto).

boto3 is imported here, lazily, and clients are built once per (store, credentials) and reused: building
one costs tens of milliseconds and they are thread-safe.
"""

from __future__ import annotations

import threading
import time
from typing import Any, cast

from external_secrets.providers.base import CALLS, AuthError, ProviderError, ProviderUnavailable
from external_secrets.providers.kube_access import KubeAccess
from external_secrets.stores import Store

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
    roles = [str(r) for r in config.get("additionalRoles") or ()] + (
        [str(config["role"])] if config.get("role") else []
    )
    key = (service, region, *creds, "|", *roles, str(config.get("externalID") or ""))
    with _LOCK:
        cached = _CLIENTS.get(key) if reuse else None
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
    session, expires = (
        _assume(_session(region, creds), store, roles) if roles else (_session(region, creds), float("inf"))
    )
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
            from external_secrets.providers.base import NoSecretError

            return NoSecretError(text)
        if code in AUTH:
            return AuthError(text)
        if status >= 500 or code in ("ThrottlingException", "Throttling", "TooManyRequestsException"):
            return ProviderUnavailable(text)
        return ProviderError(text)
    if isinstance(error, EndpointConnectionError | BotoCoreError | OSError):
        return ProviderUnavailable(f"{where}: {type(error).__name__}: {error}")
    return ProviderError(f"{where}: {type(error).__name__}")
