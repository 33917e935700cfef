"""AWS SSM Parameter Store: GetParameter(s) with decryption (``version`` appended as ``name:version``),
GetParametersByPath for ``find`` by path/name, DescribeParameters for ``find`` by tags; PushSecret writes
with PutParameter (``String`` unless ``metadata.spec.secretType`` or ``metadata.parameterStore.type``
says otherwise, as ESO; tagged ``managed-by`` when created) and deletes with DeleteParameter.
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


class ParameterStoreProvider(AwsProvider):
    name = "aws-parameter-store"
    service = "ssm"
    noun = "parameter"
    not_found_code = "ParameterNotFound"
    batch_size = 10  # GetParameters' Names limit

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
                return tags_secret(answer.get("TagList"))
            CALLS.add(self.store.ref, "ssm:GetParameter")
            answer = self.client.get_parameter(Name=name, WithDecryption=True)
        except Exception as error:
            raise classify(error, self._where(self._about(name))) from None
        return RemoteSecret(str(answer["Parameter"]["Value"]).encode())

    def _batchable(self, ref: FetchKey) -> bool:
        return not ref.metadata

    def _remote_name(self, ref: FetchKey) -> str:
        return self._name(ref)

    def _get_batch(self, names: list[str]) -> Any:
        CALLS.add(self.store.ref, "ssm:GetParameters")
        return self.client.get_parameters(Names=names, WithDecryption=True)

    def _found(self, answer: Any) -> dict[str, RemoteSecret]:
        """By name, and by ``name:version`` (or ``name:label``) when GetParameters reports a selector."""
        found: dict[str, RemoteSecret] = {}
        for parameter in answer.get("Parameters") or ():
            secret = RemoteSecret(str(parameter["Value"]).encode())
            found[str(parameter["Name"])] = secret
            if parameter.get("Selector"):
                found[str(parameter["Name"]) + str(parameter["Selector"])] = secret
        return found

    def _pick(self, found: Mapping[str, RemoteSecret], ref: FetchKey, name: str) -> RemoteSecret | None:
        return found.get(name, found.get(self.prefix + ref.key) if not ref.version else None)

    def find(self, query: FindQuery) -> dict[str, RemoteSecret]:
        pattern = re.compile(query.name_regexp) if query.name_regexp else None
        try:
            if query.tags:
                refs = [
                    self._ref_of(n)
                    for n in self._names_by_tags(query)
                    if pattern is None or pattern.search(n)
                ]
                return self._existing(self.fetch_many(refs), lambda ref: self.prefix + ref.key)
            args = {
                "Path": "/" + (self.prefix + query.path).strip("/"),
                "Recursive": True,
                "WithDecryption": True,
                "MaxResults": 10,
            }
            out: dict[str, RemoteSecret] = {}
            for page in self._pages("ssm:GetParametersByPath", self.client.get_parameters_by_path, args):
                for parameter in page.get("Parameters") or ():
                    name = str(parameter["Name"])
                    if pattern is None or pattern.search(name):
                        out[name] = RemoteSecret(str(parameter["Value"]).encode())
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
        args = {"ParameterFilters": filters, "MaxResults": 50}
        return [
            str(p["Name"])
            for page in self._pages("ssm:DescribeParameters", self.client.describe_parameters, args)
            for p in page.get("Parameters") or ()
        ]

    # -- PushSecret ------------------------------------------------------------------------------------
    def _tags(self, name: str) -> dict[str, str]:
        CALLS.add(self.store.ref, "ssm:ListTagsForResource")
        answer = self.client.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
        return tag_map(answer.get("TagList"))

    def _put(self, name: str, value: bytes, *, create: bool, metadata: Mapping[str, Any]) -> None:
        kind = (metadata.get("spec") or {}).get("secretType") or (metadata.get("parameterStore") or {}).get(
            "type"
        )
        args: dict[str, Any] = {
            "Name": name,
            "Value": value.decode("utf-8", "surrogateescape"),
            "Type": str(kind or "String"),
        }
        if create:
            args["Tags"] = [{"Key": MANAGED_BY[0], "Value": MANAGED_BY[1]}]
        else:
            args["Overwrite"] = True
        CALLS.add(self.store.ref, "ssm:PutParameter")
        self.client.put_parameter(**args)

    def _remove(self, name: str) -> None:
        CALLS.add(self.store.ref, "ssm:DeleteParameter")
        self.client.delete_parameter(Name=name)
