"""AWS Secrets Manager: GetSecretValue (``version`` = stage, or ``uuid/<id>`` = VersionId),
BatchGetSecretValue for several current values at once, and ``find`` by name regexp / tags
(ListSecrets + BatchGetSecretValue).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from external_secrets.providers.aws_common import aws_client, classify
from external_secrets.providers.base import (
    CALLS,
    FetchKey,
    FindQuery,
    NoSecretError,
    ProviderError,
    RemoteSecret,
)
from external_secrets.providers.kube_access import KubeAccess
from external_secrets.stores import Store

BATCH = 20  # BatchGetSecretValue's SecretIdList limit


def _payload(answer: dict[str, Any]) -> bytes:
    if answer.get("SecretString") is not None:
        return str(answer["SecretString"]).encode()
    if answer.get("SecretBinary") is not None:
        return bytes(answer["SecretBinary"])
    return b""


class SecretsManagerProvider:
    name = "aws-secrets-manager"

    def __init__(self, store: Store, es_namespace: str, kube: KubeAccess, *, reuse: bool = True) -> None:
        self.store = store
        self.prefix = str(store.config.get("prefix") or "")
        self.client = aws_client("secretsmanager", store, es_namespace, kube, reuse=reuse)

    def _where(self, what: str) -> str:
        return f"aws secretsmanager {self.store.ref}: {what}"

    def fetch(self, ref: FetchKey) -> RemoteSecret:
        secret_id = self.prefix + ref.key
        try:
            if ref.metadata:
                CALLS.add(self.store.ref, "sm:DescribeSecret")
                described = self.client.describe_secret(SecretId=secret_id)
                tags = {str(t["Key"]): str(t["Value"]) for t in described.get("Tags") or ()}
                return RemoteSecret(json.dumps(tags, sort_keys=True, separators=(",", ":")).encode())
            args: dict[str, str] = {"SecretId": secret_id}
            if ref.version.startswith("uuid/"):
                args["VersionId"] = ref.version[len("uuid/") :]
            else:
                args["VersionStage"] = ref.version or "AWSCURRENT"
            CALLS.add(self.store.ref, "sm:GetSecretValue")
            answer = self.client.get_secret_value(**args)
        except Exception as error:
            raise classify(error, self._where(f"secret {secret_id!r}")) from None
        return RemoteSecret(_payload(answer))

    def fetch_many(self, refs: Sequence[FetchKey]) -> dict[FetchKey, RemoteSecret | ProviderError]:
        """Current values in batches of 20 through BatchGetSecretValue; others one by one."""
        out: dict[FetchKey, RemoteSecret | ProviderError] = {}
        batchable = [r for r in refs if not r.metadata and r.version in ("", "AWSCURRENT")]
        for ref in refs:
            if ref not in batchable:
                try:
                    out[ref] = self.fetch(ref)
                except ProviderError as error:
                    out[ref] = error
        for start in range(0, len(batchable), BATCH):
            chunk = batchable[start : start + BATCH]
            if len(chunk) == 1:
                try:
                    out[chunk[0]] = self.fetch(chunk[0])
                except ProviderError as error:
                    out[chunk[0]] = error
                continue
            ids = [self.prefix + r.key for r in chunk]
            try:
                CALLS.add(self.store.ref, "sm:BatchGetSecretValue")
                answer = self.client.batch_get_secret_value(SecretIdList=ids)
            except Exception as error:
                failure = classify(error, self._where(f"{len(ids)} secrets"))
                for ref in chunk:
                    out[ref] = failure
                continue
            by_name: dict[str, dict[str, Any]] = {}
            for value in answer.get("SecretValues") or ():
                by_name[str(value.get("Name"))] = value
                by_name[str(value.get("ARN"))] = value
            for ref, secret_id in zip(chunk, ids, strict=True):
                found = by_name.get(secret_id)
                out[ref] = (
                    RemoteSecret(_payload(found))
                    if found is not None
                    else NoSecretError(self._where(f"secret {secret_id!r}: ResourceNotFoundException"))
                )
        return out

    def find(self, query: FindQuery) -> dict[str, RemoteSecret]:
        if not query.name_regexp and not query.tags:
            raise ProviderError(self._where("find needs name.regexp and/or tags"))
        pattern = re.compile(query.name_regexp) if query.name_regexp else None
        filters: list[dict[str, Any]] = []
        if query.path:
            filters.append({"Key": "name", "Values": [self.prefix + query.path]})
        for key, value in query.tags:
            filters += [{"Key": "tag-key", "Values": [key]}, {"Key": "tag-value", "Values": [value]}]
        wanted = dict(query.tags)
        names: list[str] = []
        try:
            token: str | None = None
            while True:
                args: dict[str, Any] = {"MaxResults": 100}
                if filters:
                    args["Filters"] = filters
                if token:
                    args["NextToken"] = token
                CALLS.add(self.store.ref, "sm:ListSecrets")
                page = self.client.list_secrets(**args)
                for entry in page.get("SecretList") or ():
                    name = str(entry["Name"])
                    tags = {str(t["Key"]): str(t["Value"]) for t in entry.get("Tags") or ()}
                    if any(tags.get(k) != v for k, v in wanted.items()):
                        continue
                    if query.path and not name.startswith(self.prefix + query.path):
                        continue
                    if pattern is not None and not pattern.search(name):
                        continue
                    names.append(name)
                token = page.get("NextToken")
                if not token:
                    break
        except Exception as error:
            raise classify(error, self._where("ListSecrets")) from None
        refs = {FetchKey(name[len(self.prefix) :] if self.prefix else name): name for name in names}
        fetched = self.fetch_many(list(refs))
        out: dict[str, RemoteSecret] = {}
        for ref, name in refs.items():
            result = fetched[ref]
            if isinstance(result, NoSecretError):
                continue
            if isinstance(result, ProviderError):
                raise result
            out[name] = result
        return out

    def validate(self) -> None:
        """Like ESO: only check that credentials are usable; no secret is read."""
        creds = self.client._request_signer._credentials
        if creds is None:
            raise ProviderError(self._where("no AWS credentials (set auth.secretRef)"))
