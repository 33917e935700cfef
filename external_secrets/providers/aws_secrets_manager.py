"""AWS Secrets Manager: GetSecretValue (``version`` = stage, or ``uuid/<id>`` = VersionId),
BatchGetSecretValue for several current values at once, and ``find`` by name regexp / tags
(ListSecrets + BatchGetSecretValue); PushSecret writes with CreateSecret (tagged ``managed-by``) /
PutSecretValue as ``SecretBinary`` unless ``metadata.spec.secretPushFormat: string`` (ESO's default and
option), and deletes with DeleteSecret without a recovery window, so a later push can create it again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from external_secrets.providers.aws_common import AwsProvider, classify, tag_map, tags_secret
from external_secrets.providers.base import (
    CALLS,
    FetchKey,
    FindQuery,
    ProviderError,
    RemoteSecret,
)
from external_secrets.push import MANAGED_BY


def _payload(answer: dict[str, Any]) -> bytes:
    if answer.get("SecretString") is not None:
        return str(answer["SecretString"]).encode()
    if answer.get("SecretBinary") is not None:
        return bytes(answer["SecretBinary"])
    return b""


class SecretsManagerProvider(AwsProvider):
    name = "aws-secrets-manager"
    service = "secretsmanager"
    noun = "secret"
    not_found_code = "ResourceNotFoundException"
    batch_size = 20  # BatchGetSecretValue's SecretIdList limit

    def fetch(self, ref: FetchKey) -> RemoteSecret:
        secret_id = self.prefix + ref.key
        try:
            if ref.metadata:
                CALLS.add(self.store.ref, "sm:DescribeSecret")
                return tags_secret(self.client.describe_secret(SecretId=secret_id).get("Tags"))
            args: dict[str, str] = {"SecretId": secret_id}
            if ref.version.startswith("uuid/"):
                args["VersionId"] = ref.version[len("uuid/") :]
            else:
                args["VersionStage"] = ref.version or "AWSCURRENT"
            CALLS.add(self.store.ref, "sm:GetSecretValue")
            answer = self.client.get_secret_value(**args)
        except Exception as error:
            raise classify(error, self._where(self._about(secret_id))) from None
        return RemoteSecret(_payload(answer))

    def _batchable(self, ref: FetchKey) -> bool:
        """Only current values: BatchGetSecretValue takes no version."""
        return not ref.metadata and ref.version in ("", "AWSCURRENT")

    def _remote_name(self, ref: FetchKey) -> str:
        return self.prefix + ref.key

    def _get_batch(self, names: list[str]) -> Any:
        CALLS.add(self.store.ref, "sm:BatchGetSecretValue")
        return self.client.batch_get_secret_value(SecretIdList=names)

    def _found(self, answer: Any) -> dict[str, RemoteSecret]:
        """By name and by ARN (either may have been asked for)."""
        found: dict[str, RemoteSecret] = {}
        for value in answer.get("SecretValues") or ():
            secret = RemoteSecret(_payload(value))
            found[str(value.get("Name"))] = secret
            found[str(value.get("ARN"))] = secret
        return found

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
        args: dict[str, Any] = {"MaxResults": 100}
        if filters:
            args["Filters"] = filters
        names: list[str] = []
        try:
            for page in self._pages("sm:ListSecrets", self.client.list_secrets, args):
                for entry in page.get("SecretList") or ():
                    name = str(entry["Name"])
                    tags = tag_map(entry.get("Tags"))
                    if any(tags.get(k) != v for k, v in wanted.items()):
                        continue
                    if query.path and not name.startswith(self.prefix + query.path):
                        continue
                    if pattern is not None and not pattern.search(name):
                        continue
                    names.append(name)
        except Exception as error:
            raise classify(error, self._where("ListSecrets")) from None
        refs = {self._ref_of(name): name for name in names}
        return self._existing(self.fetch_many(list(refs)), refs.__getitem__)

    # -- PushSecret ------------------------------------------------------------------------------------
    def _tags(self, name: str) -> dict[str, str]:
        CALLS.add(self.store.ref, "sm:DescribeSecret")
        return tag_map(self.client.describe_secret(SecretId=name).get("Tags"))

    def _put(self, name: str, value: bytes, *, create: bool, metadata: Mapping[str, Any]) -> None:
        spec = metadata.get("spec") or {}
        payload: dict[str, Any] = (
            {"SecretString": value.decode("utf-8", "surrogateescape")}
            if spec.get("secretPushFormat") == "string"
            else {"SecretBinary": value}
        )
        if create:
            CALLS.add(self.store.ref, "sm:CreateSecret")
            tags = [{"Key": str(k), "Value": str(v)} for k, v in (spec.get("tags") or {}).items()]
            tags.append({"Key": MANAGED_BY[0], "Value": MANAGED_BY[1]})
            if spec.get("description"):
                payload["Description"] = str(spec["description"])
            self.client.create_secret(Name=name, Tags=tags, **payload)
        else:
            CALLS.add(self.store.ref, "sm:PutSecretValue")
            self.client.put_secret_value(SecretId=name, **payload)

    def _remove(self, name: str) -> None:
        CALLS.add(self.store.ref, "sm:DeleteSecret")
        self.client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
