"""AWS SSM Parameter Store: GetParameter(s) with decryption (``version`` appended as ``name:version``),
GetParametersByPath for ``find`` by path/name, DescribeParameters for ``find`` by tags.
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

BATCH = 10  # GetParameters' Names limit


class ParameterStoreProvider:
    name = "aws-parameter-store"

    def __init__(self, store: Store, es_namespace: str, kube: KubeAccess, *, reuse: bool = True) -> None:
        self.store = store
        self.prefix = str(store.config.get("prefix") or "")
        self.client = aws_client("ssm", store, es_namespace, kube, reuse=reuse)

    def _where(self, what: str) -> str:
        return f"aws ssm {self.store.ref}: {what}"

    def _name(self, ref: FetchKey) -> str:
        return self.prefix + ref.key + (f":{ref.version}" if ref.version else "")

    def fetch(self, ref: FetchKey) -> RemoteSecret:
        name = self._name(ref)
        try:
            if ref.metadata:
                CALLS.add(self.store.ref, "ssm:ListTagsForResource")
                answer = self.client.list_tags_for_resource(
                    ResourceType="Parameter", ResourceId=self.prefix + ref.key
                )
                tags = {str(t["Key"]): str(t["Value"]) for t in answer.get("TagList") or ()}
                return RemoteSecret(json.dumps(tags, sort_keys=True, separators=(",", ":")).encode())
            CALLS.add(self.store.ref, "ssm:GetParameter")
            answer = self.client.get_parameter(Name=name, WithDecryption=True)
        except Exception as error:
            raise classify(error, self._where(f"parameter {name!r}")) from None
        return RemoteSecret(str(answer["Parameter"]["Value"]).encode())

    def fetch_many(self, refs: Sequence[FetchKey]) -> dict[FetchKey, RemoteSecret | ProviderError]:
        """Up to 10 parameters per GetParameters call; metadata refs one by one."""
        out: dict[FetchKey, RemoteSecret | ProviderError] = {}
        plain = [r for r in refs if not r.metadata]
        for ref in refs:
            if ref.metadata:
                try:
                    out[ref] = self.fetch(ref)
                except ProviderError as error:
                    out[ref] = error
        for start in range(0, len(plain), BATCH):
            chunk = plain[start : start + BATCH]
            if len(chunk) == 1:
                try:
                    out[chunk[0]] = self.fetch(chunk[0])
                except ProviderError as error:
                    out[chunk[0]] = error
                continue
            names = [self._name(r) for r in chunk]
            try:
                CALLS.add(self.store.ref, "ssm:GetParameters")
                answer = self.client.get_parameters(Names=names, WithDecryption=True)
            except Exception as error:
                failure = classify(error, self._where(f"{len(names)} parameters"))
                for ref in chunk:
                    out[ref] = failure
                continue
            found: dict[str, str] = {}
            for parameter in answer.get("Parameters") or ():
                found[str(parameter["Name"])] = str(parameter["Value"])
                if parameter.get("Selector"):
                    found[str(parameter["Name"]) + str(parameter["Selector"])] = str(parameter["Value"])
            for ref, name in zip(chunk, names, strict=True):
                value = found.get(name, found.get(self.prefix + ref.key) if not ref.version else None)
                out[ref] = (
                    RemoteSecret(value.encode())
                    if value is not None
                    else NoSecretError(self._where(f"parameter {name!r}: ParameterNotFound"))
                )
        return out

    def find(self, query: FindQuery) -> dict[str, RemoteSecret]:
        pattern = re.compile(query.name_regexp) if query.name_regexp else None
        out: dict[str, RemoteSecret] = {}
        try:
            if query.tags:
                names = self._names_by_tags(query)
                refs = [
                    FetchKey(n[len(self.prefix) :] if self.prefix else n)
                    for n in names
                    if pattern is None or pattern.search(n)
                ]
                for ref, result in self.fetch_many(refs).items():
                    if isinstance(result, NoSecretError):
                        continue
                    if isinstance(result, ProviderError):
                        raise result
                    out[self.prefix + ref.key] = result
                return out
            path = "/" + (self.prefix + query.path).strip("/")
            token: str | None = None
            while True:
                args: dict[str, Any] = {
                    "Path": path,
                    "Recursive": True,
                    "WithDecryption": True,
                    "MaxResults": 10,
                }
                if token:
                    args["NextToken"] = token
                CALLS.add(self.store.ref, "ssm:GetParametersByPath")
                page = self.client.get_parameters_by_path(**args)
                for parameter in page.get("Parameters") or ():
                    name = str(parameter["Name"])
                    if pattern is None or pattern.search(name):
                        out[name] = RemoteSecret(str(parameter["Value"]).encode())
                token = page.get("NextToken")
                if not token:
                    return out
        except ProviderError:
            raise
        except Exception as error:
            raise classify(error, self._where("find")) from None

    def _names_by_tags(self, query: FindQuery) -> list[str]:
        filters: list[dict[str, Any]] = [{"Key": f"tag:{k}", "Values": [v]} for k, v in query.tags]
        if query.path:
            filters.append(
                {
                    "Key": "Path",
                    "Option": "Recursive",
                    "Values": ["/" + (self.prefix + query.path).strip("/")],
                }
            )
        names: list[str] = []
        token: str | None = None
        while True:
            args: dict[str, Any] = {"ParameterFilters": filters, "MaxResults": 50}
            if token:
                args["NextToken"] = token
            CALLS.add(self.store.ref, "ssm:DescribeParameters")
            page = self.client.describe_parameters(**args)
            names += [str(p["Name"]) for p in page.get("Parameters") or ()]
            token = page.get("NextToken")
            if not token:
                return names

    def validate(self) -> None:
        creds = self.client._request_signer._credentials
        if creds is None:
            raise ProviderError(self._where("no AWS credentials (set auth.secretRef)"))
