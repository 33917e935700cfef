"""``.sops.yaml`` creation rules (pure: text in, the matching rule out).

The first rule whose ``path_regex`` (an unanchored search) matches the file's path relative to the config's
directory wins; ``key_groups`` replaces the single-group key fields when present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from gocompat import limits
from sops_plugin.errors import GENERIC, SopsError
from sops_plugin.format.encryption import KeyPlan
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
    raise SopsError(f"invalid key list in .sops.yaml: {value!r}", GENERIC)


def _entries(source: dict[str, Any], name: str) -> list[Any]:
    """A list-valued field of a rule (empty when unset); anything else is a clear config error."""
    value = source.get(name)
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise SopsError(f"error loading config: {name} must be a list, not {type(value).__name__}")
    return value


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
    for entry in _entries(source, "hckms"):
        group.append(MasterKey("hckms", dict(entry) if isinstance(entry, dict) else {"key_id": entry}))
    for merged in _entries(source, "merge"):
        if isinstance(merged, dict):
            group += _group(merged, nested=True)
    return _dedupe(group)


NO_KEYS = "config file not found, or has no creation rules, and no keys provided through command line options"


def find_creation_rule(config_text: str, relative_path: str, *, updatekeys: bool = False) -> CreationRule:
    """The creation rule for ``relative_path``; ``SopsError`` (exit 1, as sops) naming what is wrong.

    ``updatekeys`` picks sops' wording for a config without rules (encrypt says "no keys provided")."""
    try:
        config = limits.safe_load(config_text) or {}
    except limits.LimitExceeded as exc:
        raise SopsError(f"error loading config: {exc}") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise SopsError(f"error loading config: Could not unmarshal config file: {where}{problem}") from None
    except RecursionError:
        raise SopsError("error loading config: Could not unmarshal config file: nested too deeply") from None
    if not isinstance(config, dict):
        raise SopsError("error loading config: the config file is not a mapping")
    rules = config.get("creation_rules")
    if rules is not None and not isinstance(rules, list):
        raise SopsError("error loading config: creation_rules must be a list of rules")
    if not rules:
        if updatekeys:
            raise SopsError("The config file .sops.yaml does not contain any creation rule")
        raise SopsError(NO_KEYS)
    for rule in rules:
        if not isinstance(rule, dict):
            raise SopsError("error loading config: each creation rule must be a mapping")
        pattern = rule.get("path_regex") or ""
        if pattern:
            try:
                compiled = re.compile(str(pattern))
            except re.error as exc:
                raise SopsError(f"can not compile regexp: invalid path_regex {pattern!r}: {exc}") from None
            if not compiled.search(relative_path):
                continue
        if rule.get("key_groups"):
            groups = [_group(g, nested=True) for g in _entries(rule, "key_groups") if isinstance(g, dict)]
        else:
            groups = [_group(rule, nested=False)]
        try:
            threshold = int(rule.get("shamir_threshold") or 0)
        except (TypeError, ValueError):
            raise SopsError("error loading config: shamir_threshold must be a number") from None
        if threshold == 1:
            raise SopsError("shamir_threshold must be 0 or at least 2", GENERIC)
        try:
            crypt = CryptRules(
                **{name: str(rule.get(name) or "") for name in RULE_NAMES},
                mac_only_encrypted=bool(rule.get("mac_only_encrypted", False)),
            )
        except ValueError as exc:
            raise SopsError(str(exc), GENERIC) from None
        return CreationRule(KeyPlan(groups, threshold), crypt, any(groups))
    raise SopsError("error loading config: no matching creation rules found", GENERIC)
