"""``.sops.yaml`` creation rules (pure: text in, the matching rule out).

The first rule whose ``path_regex`` (an unanchored search) matches the file's path relative to the config's
directory wins; ``key_groups`` replaces the single-group key fields when present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from core_sync import limits
from sops_plugin.errors import ERROR_READING_CONFIG, SopsError
from sops_plugin.format.document import KeyPlan
from sops_plugin.format.metadata import MasterKey
from sops_plugin.format.rules import RULE_NAMES, CryptRules


@dataclass
class CreationRule:
    plan: KeyPlan
    rules: CryptRules
    has_keys: bool


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    raise SopsError(f"invalid key list in .sops.yaml: {value!r}", ERROR_READING_CONFIG)


def _dedupe(group: list[MasterKey]) -> list[MasterKey]:
    seen, out = set(), []
    for key in group:
        ident = (key.kind, tuple(sorted((k, str(v)) for k, v in key.fields.items() if k != "enc")))
        if ident not in seen:
            seen.add(ident)
            out.append(key)
    return out


def _group(source: dict[str, Any], *, nested: bool) -> list[MasterKey]:
    group: list[MasterKey] = []
    for rec in _split(source.get("age")):
        group.append(MasterKey("age", {"recipient": rec}))
    for fp in _split(source.get("pgp")):
        group.append(MasterKey("pgp", {"fp": fp}))
    kms = source.get("kms")
    for entry in kms if isinstance(kms, list) and nested else _split(kms):
        group.append(MasterKey("kms", dict(entry) if isinstance(entry, dict) else {"arn": entry}))
    gcp = source.get("gcp_kms")
    for entry in gcp if isinstance(gcp, list) and nested else _split(gcp):
        group.append(MasterKey("gcp_kms", dict(entry) if isinstance(entry, dict) else {"resource_id": entry}))
    for uri in _split(source.get("hc_vault_transit_uri") or source.get("hc_vault")):
        group.append(MasterKey("hc_vault", {"uri": uri}))
    azure = source.get("azure_keyvault")
    for entry in azure if isinstance(azure, list) and nested else _split(azure):
        group.append(MasterKey("azure_kv", dict(entry) if isinstance(entry, dict) else {"url": entry}))
    for entry in source.get("hckms") or []:
        group.append(MasterKey("hckms", dict(entry) if isinstance(entry, dict) else {"key_id": entry}))
    for merged in source.get("merge") or []:
        if isinstance(merged, dict):
            group += _group(merged, nested=True)
    return _dedupe(group)


def find_creation_rule(config_text: str, relative_path: str) -> CreationRule:
    """The creation rule for ``relative_path`` (``SopsError`` if none matches)."""
    try:
        config = limits.safe_load(config_text) or {}
    except limits.LimitExceeded as exc:
        raise SopsError(f"error loading config: {exc}", ERROR_READING_CONFIG) from None
    except yaml.YAMLError as exc:
        raise SopsError(f"error loading config: {exc}".replace("\n", " "), ERROR_READING_CONFIG) from None
    rules = config.get("creation_rules") if isinstance(config, dict) else None
    if not rules:
        raise SopsError("error loading config: no creation rules found", ERROR_READING_CONFIG)
    for rule in rules:
        if not isinstance(rule, dict):
            continue
        pattern = rule.get("path_regex") or ""
        if pattern and not re.search(pattern, relative_path):
            continue
        if rule.get("key_groups"):
            groups = [_group(g, nested=True) for g in rule["key_groups"] if isinstance(g, dict)]
        else:
            groups = [_group(rule, nested=False)]
        threshold = int(rule.get("shamir_threshold") or 0)
        if threshold == 1:
            raise SopsError("shamir_threshold must be 0 or at least 2", ERROR_READING_CONFIG)
        try:
            crypt = CryptRules(
                **{name: str(rule.get(name) or "") for name in RULE_NAMES},
                mac_only_encrypted=bool(rule.get("mac_only_encrypted", False)),
            )
        except ValueError as exc:
            raise SopsError(str(exc), ERROR_READING_CONFIG) from None
        return CreationRule(KeyPlan(groups, threshold), crypt, any(groups))
    raise SopsError("error loading config: no matching creation rules found", ERROR_READING_CONFIG)
