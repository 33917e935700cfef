"""The ``sops`` metadata block: reading every layout from sops 3.7 to 3.13, writing one chosen layout.

Layouts differ only in order and empty lists: up to 3.9 the Go struct order with empty key lists written out
(``kms: []``); 3.10-3.12 the struct order without them (the pinned 3.11.0 writes this); 3.13 sorts keys
alphabetically at every level. Key types other than age are kept verbatim so a file round-trips and the
sops binary can be asked to handle them.
"""

from __future__ import annotations

from gocompat.yaml.v3.tree import Branch
from sops_plugin.errors import SopsError
from sops_plugin.format.rules import RULE_NAMES, CryptRules

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from typing import Any


DEFAULT_VERSION = "3.11.0"
# Struct field order of each key type (stores/stores.go), which is also how 3.7-3.12 write them.
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "kms": ("arn", "role", "context", "created_at", "enc", "aws_profile"),
    "gcp_kms": ("resource_id", "created_at", "enc"),
    "hckms": ("key_id", "created_at", "enc"),
    "azure_kv": ("vault_url", "name", "version", "created_at", "enc"),
    "hc_vault": ("vault_address", "engine_path", "key_name", "created_at", "enc"),
    "pgp": ("created_at", "enc", "fp"),
    "age": ("recipient", "enc"),
}
_OMITEMPTY = {"kms": {"role", "context"}}
TOP_KEY_TYPES = ("kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "age")  # before lastmodified/mac
GROUP_ORDER = ("pgp", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "age")
_DECRYPT_ORDER = ("age", "pgp")


class MasterKey:
    """One recipient entry: ``kind`` is the metadata list it lives in (age, pgp, kms, …)."""

    def __init__(self, kind: str, fields: dict[str, Any]) -> None:
        self.kind = kind
        self.fields = fields

    def __repr__(self) -> str:
        return f"MasterKey({self.describe()!r})"

    @property
    def enc(self) -> str:
        return str(self.fields.get("enc", ""))

    @property
    def recipient(self) -> str:
        return str(self.fields.get("recipient", ""))

    def describe(self) -> str:
        ident = {"age": "recipient", "pgp": "fp", "kms": "arn", "gcp_kms": "resource_id", "hckms": "key_id"}
        name = ident.get(self.kind)
        if name:
            return f"{self.kind} {self.fields.get(name, '')}"
        if self.kind == "azure_kv":
            return f"azure_kv {self.fields.get('vault_url', '')}/keys/{self.fields.get('name', '')}"
        if self.kind == "hc_vault":
            f = self.fields
            path = f"{f.get('engine_path', '')}/keys/{f.get('key_name', '')}"
            return f"hc_vault {f.get('vault_address', '')}/v1/{path}"
        return self.kind


class Metadata:
    """The parsed ``sops`` block (key groups, MAC, lastmodified, crypt rules)."""

    def __init__(
        self,
        key_groups: list[list[MasterKey]],
        lastmodified: str,
        mac: str,
        version: str = DEFAULT_VERSION,
        rules: CryptRules | None = None,
        shamir_threshold: int = 0,
    ) -> None:
        self.key_groups = key_groups
        self.lastmodified = lastmodified
        self.mac = mac
        self.version = version
        self.rules = rules if rules is not None else CryptRules()
        self.shamir_threshold = shamir_threshold

    @property
    def mac_aad(self) -> str:
        """``lastmodified`` re-formatted as Go ``time.RFC3339``: the MAC's additional data."""
        return rfc3339(self.lastmodified)

    def needs_binary(self) -> bool:
        """True when some group can only be opened by a key type handled by the sops binary."""
        return any(all(k.kind != "age" for k in group) for group in self.key_groups)


# Where ``YYYY-MM-DDThh:mm:ss`` has its digits (the other positions: "-", "-", "T"/"t", ":", ":").
_RFC3339_DIGITS = ((0, 4), (5, 7), (8, 10), (11, 13), (14, 16), (17, 19))


def rfc3339(text: str) -> str:
    """``lastmodified`` as Go's ``time.RFC3339`` (fraction dropped, ``+00:00`` as ``Z``): the MAC's AAD.

    Accepts what ``(\\d{4}-\\d{2}-\\d{2})[Tt](\\d{2}:\\d{2}:\\d{2})(?:\\.\\d+)?(Z|z|[+-]\\d{2}:\\d{2})\\Z``
    matches (``\\d`` is any Unicode decimal digit, as ``str.isdecimal`` says), read by hand: compiling the
    pattern cost every ``lockstep sops decrypt`` more than reading the whole ``sops`` block (a property test
    checks both agree)."""
    zone = _rfc3339_zone(text)
    if zone is None:
        raise SopsError(f"invalid lastmodified {text!r} in sops metadata")
    if zone in ("+00:00", "-00:00"):
        zone = "Z"
    return f"{text[:10]}T{text[11:19]}{zone}"


def _rfc3339_zone(text: str) -> str | None:
    """The (upper-cased) zone of an RFC 3339 timestamp in ``lastmodified``'s accepted form, else ``None``."""
    if len(text) < 20 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt":
        return None
    if text[13] != ":" or text[16] != ":":
        return None
    if not all(text[start:end].isdecimal() for start, end in _RFC3339_DIGITS):
        return None
    zone = text[19:]
    if zone[:1] == ".":
        digits = 1
        while digits < len(zone) and zone[digits].isdecimal():
            digits += 1
        if digits == 1:
            return None
        zone = zone[digits:]
    if zone in ("Z", "z"):
        return "Z"
    if len(zone) == 6 and zone[0] in "+-" and zone[3] == ":":
        return zone if zone[1:3].isdecimal() and zone[4:].isdecimal() else None
    return None


def _keys_of(container: Any, kind: str) -> list[MasterKey]:
    raw = container.get(kind) if isinstance(container, dict) else None
    if not raw:
        return []
    if not isinstance(raw, list):
        raise SopsError(f"sops metadata: {kind} must be a list")
    out = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise SopsError(f"sops metadata: {kind} entries must be mappings")
        out.append(MasterKey(kind, dict(entry)))
    return out


def _group_from(container: dict[str, Any]) -> list[MasterKey]:
    # sops' internal order: kms, gcp_kms, azure_kv, hc_vault, pgp, age.
    group: list[MasterKey] = []
    for kind in ("kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "pgp", "age"):
        group += _keys_of(container, kind)
    return group


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def from_plain(raw: Any) -> Metadata:
    """Metadata from the plain ``sops`` mapping of any store (already un-flattened)."""
    if not isinstance(raw, dict):
        raise SopsError("sops metadata is not a mapping")
    if raw.get("key_groups"):
        if not isinstance(raw["key_groups"], list):
            raise SopsError("sops metadata: key_groups must be a list")
        groups = [_group_from(g) for g in raw["key_groups"] if isinstance(g, dict)]
    else:
        groups = [_group_from(raw)]
    if not any(groups):
        raise SopsError("No keys found in file")  # sops' words and exit code (1), not "no usable key"
    rule_values = {name: str(raw.get(name) or "") for name in RULE_NAMES}
    try:
        rules = CryptRules(**rule_values, mac_only_encrypted=_as_bool(raw.get("mac_only_encrypted", False)))
    except ValueError as exc:
        raise SopsError(str(exc)) from None
    threshold = raw.get("shamir_threshold") or 0
    try:
        threshold = int(float(threshold)) if isinstance(threshold, str) else int(threshold)
    except (TypeError, ValueError):
        raise SopsError("sops metadata: shamir_threshold is not a number") from None
    lastmodified = raw.get("lastmodified")
    if not isinstance(lastmodified, str):
        lastmodified = str(lastmodified or "")
    meta = Metadata(
        key_groups=groups,
        lastmodified=lastmodified,
        mac=str(raw.get("mac") or ""),
        version=str(raw.get("version") or ""),
        rules=rules,
        shamir_threshold=threshold,
    )
    rfc3339(meta.lastmodified)
    check_version(meta.version)
    return meta


def check_version(version: str) -> None:
    """sops refuses metadata whose ``version`` is missing or not Major.Minor.Patch (a tampered or
    hand-made file); the messages are sops' own (its semver parser)."""
    if not version:
        raise SopsError("Version string empty")
    parts = version.removeprefix("v").split(".", 2)
    if len(parts) != 3:
        raise SopsError("No Major.Minor.Patch elements found")
    patch = parts[2]
    for mark in ("-", "+"):
        patch = patch.split(mark, 1)[0]
    for name, number in (("major", parts[0]), ("minor", parts[1]), ("patch", patch)):
        if not number or not number.isascii() or not number.isdigit():
            raise SopsError(f"Invalid character(s) found in {name} number {number!r}")
        if len(number) > 1 and number.startswith("0"):
            raise SopsError(f"{name.capitalize()} number must not contain leading zeroes {number!r}")


def _key_entry(key: MasterKey, alphabetical: bool) -> Branch:
    omit = _OMITEMPTY.get(key.kind, set())
    names = list(KEY_FIELDS.get(key.kind, ()))
    names += [n for n in key.fields if n not in names]
    if alphabetical:
        names.sort()
    return Branch((n, key.fields.get(n, "")) for n in names if n not in omit or key.fields.get(n))


def _kind_lists(
    group: list[MasterKey], kinds: tuple[str, ...], alphabetical: bool
) -> dict[str, list[Branch]]:
    return {kind: [_key_entry(k, alphabetical) for k in group if k.kind == kind] for kind in kinds}


def to_tree(meta: Metadata, layout: str = "3.11") -> Branch:
    """The metadata as a tree in sops' field order for ``layout`` ("3.9", "3.11" or "3.13")."""
    version = tuple(int(x) for x in layout.split(".")[:2])
    alphabetical = version >= (3, 13)
    keep_empty = version <= (3, 9)
    items: list[tuple[str, Any]] = []
    if meta.shamir_threshold:
        items.append(("shamir_threshold", meta.shamir_threshold))
    top_kinds = TOP_KEY_TYPES if version >= (3, 12) else tuple(k for k in TOP_KEY_TYPES if k != "hckms")
    if len(meta.key_groups) == 1:
        lists = _kind_lists(meta.key_groups[0], (*top_kinds, "pgp"), alphabetical)
    else:
        groups = []
        for group in meta.key_groups:
            kinds = GROUP_ORDER if version >= (3, 12) else tuple(k for k in GROUP_ORDER if k != "hckms")
            per = _kind_lists(group, kinds, alphabetical)
            entry = Branch(
                (kind, per[kind]) for kind in kinds if per[kind] or kind in ("hc_vault", "age") or keep_empty
            )
            if alphabetical:
                entry.sort(key=lambda kv: str(kv[0]))
            groups.append(entry)
        items.append(("key_groups", groups))
        lists = {kind: [] for kind in (*top_kinds, "pgp")}
    for kind in top_kinds:
        if lists[kind] or keep_empty:
            items.append((kind, lists[kind]))
    items.append(("lastmodified", meta.lastmodified))
    items.append(("mac", meta.mac))
    if lists["pgp"] or keep_empty:
        items.append(("pgp", lists["pgp"]))
    for name, value in meta.rules.as_metadata().items():
        items.append((name, value))
    if meta.rules.mac_only_encrypted:
        items.append(("mac_only_encrypted", True))
    items.append(("version", meta.version))
    if alphabetical:
        items.sort(key=lambda kv: kv[0])
    return Branch(items)


def decryption_order(group: list[MasterKey]) -> list[MasterKey]:
    """age first, then pgp, then the rest (sops' default ``--decryption-order``)."""
    rank = {kind: i for i, kind in enumerate(_DECRYPT_ORDER)}
    return sorted(group, key=lambda k: rank.get(k.kind, len(rank)))
