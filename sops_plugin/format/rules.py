"""Which leaves get encrypted: sops' six mutually exclusive suffix/regex rules.

Regexes are matched with ``re.search`` (Go's ``regexp.Match`` is an unanchored search) against each key on
the path, or against the comments active above a leaf.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"
RULE_NAMES = (
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
)


class CryptRules:
    """At most one rule is set; none means ``unencrypted_suffix: _unencrypted``."""

    def __init__(
        self,
        unencrypted_suffix: str = "",
        encrypted_suffix: str = "",
        unencrypted_regex: str = "",
        encrypted_regex: str = "",
        unencrypted_comment_regex: str = "",
        encrypted_comment_regex: str = "",
        mac_only_encrypted: bool = False,
    ) -> None:
        self.unencrypted_suffix = unencrypted_suffix
        self.encrypted_suffix = encrypted_suffix
        self.unencrypted_regex = unencrypted_regex
        self.encrypted_regex = encrypted_regex
        self.unencrypted_comment_regex = unencrypted_comment_regex
        self.encrypted_comment_regex = encrypted_comment_regex
        self.mac_only_encrypted = mac_only_encrypted
        self._validate()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CryptRules) and vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CryptRules({self.as_metadata()!r}, mac_only_encrypted={self.mac_only_encrypted})"

    def _validate(self) -> None:
        set_rules = [name for name in RULE_NAMES if getattr(self, name)]
        if len(set_rules) > 1:
            raise ValueError(
                "Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, "
                "unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file"
            )
        for name in RULE_NAMES[2:]:
            pattern = getattr(self, name)
            if pattern:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"invalid {name} {pattern!r}: {exc}") from None
        if not set_rules:
            self.unencrypted_suffix = DEFAULT_UNENCRYPTED_SUFFIX

    def should_encrypt(
        self, path: Sequence[str], comments: Sequence[Sequence[str]], is_comment: bool
    ) -> bool:
        """sops' ``shouldBeEncrypted`` for one leaf at ``path`` under the active comment stack."""
        if self.unencrypted_suffix:
            return not any(p.endswith(self.unencrypted_suffix) for p in path)
        if self.encrypted_suffix:
            return any(p.endswith(self.encrypted_suffix) for p in path)
        if self.unencrypted_regex:
            rx = _compiled(self.unencrypted_regex)
            return not any(rx.search(p) for p in path)
        if self.encrypted_regex:
            rx = _compiled(self.encrypted_regex)
            return any(rx.search(p) for p in path)
        if self.unencrypted_comment_regex:
            rx = _compiled(self.unencrypted_comment_regex)
            return not any(rx.search(c) for level in comments for c in level)
        if self.encrypted_comment_regex:
            rx = _compiled(self.encrypted_comment_regex)
            last_level = len(comments) - 1
            for i, level in enumerate(comments):
                for j, c in enumerate(level):
                    # The matching comment line itself stays plaintext.
                    if is_comment and i == last_level and j == len(level) - 1:
                        continue
                    if rx.search(c):
                        return True
            return False
        return True

    def as_metadata(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in RULE_NAMES if getattr(self, name)}


_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    rx = _CACHE.get(pattern)
    if rx is None:
        rx = _CACHE[pattern] = re.compile(pattern)
    return rx
