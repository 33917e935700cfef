"""The one sanitiser for text that came from outside (tool stderr, API server errors, stage errors).

Such text reaches the terminal, Application status and Events. It may echo a secret: kustomize repeats a
malformed ``secretGenerator`` literal, an API server repeats an invalid field value. A :class:`Redactor`
knows the revision's secret material (decoded Secret values, whatever a secret stage produced, the
generator literals) and replaces every form of it that a tool might print (plain, base64, URL-safe
base64, JSON/Go-quoted, each line of a multi-line value) with ``[REDACTED]``; :func:`one_line` then
makes the text a single capped line.

Values shorter than :data:`MIN_SECRET_LEN` are not redacted: replacing ``"1"`` or ``"on"`` everywhere
would destroy every message while protecting nothing a guess would not find.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

MIN_SECRET_LEN = 4
MAX_MESSAGE_LEN = 2000
REDACTED = "[REDACTED]"
_WHITESPACE = re.compile(r"\s+")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s'\"]+@")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def one_line(text: str, limit: int = MAX_MESSAGE_LEN) -> str:
    """``text`` as one line without control characters or credentials in URLs (``https://u:p@host``),
    at most ``limit`` characters."""
    flat = _WHITESPACE.sub(" ", _CONTROL.sub("", text)).strip()
    flat = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", flat)
    suffix = " ... (truncated)"
    return flat if len(flat) <= limit else flat[: limit - len(suffix)] + suffix


def _forms(value: bytes) -> set[str]:
    """Every spelling of ``value`` a tool or the API server might print."""
    forms: set[str] = set()
    for encoded in (base64.b64encode(value), base64.urlsafe_b64encode(value)):
        text = encoded.decode()
        forms |= {text, text.rstrip("=")}
    try:
        plain = value.decode()
    except UnicodeDecodeError:
        return {f for f in forms if len(f) >= MIN_SECRET_LEN}
    forms.add(plain)
    forms.add(json.dumps(plain)[1:-1])
    forms |= {line.strip() for line in plain.splitlines()}
    return {f for f in forms if len(f) >= MIN_SECRET_LEN}


class Redactor:
    """Replaces known secret values in text; one per revision (cheap to build, holds plaintext in memory)."""

    def __init__(
        self, values: Iterable[bytes | str] = (), *, later: Callable[[], Iterable[bytes | str]] | None = None
    ) -> None:
        """``later``: values gathered only when a text is first redacted (a sync that succeeds, the
        common case, never pays for spelling every secret)."""
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._later = later
        self.add(values)

    def add(self, values: Iterable[bytes | str]) -> None:
        for value in values:
            raw = value.encode() if isinstance(value, str) else value
            if len(raw) >= MIN_SECRET_LEN:
                self._forms |= _forms(raw)
        self._pattern = None

    def mentions(self, text: str) -> bool:
        """Whether ``text`` holds any known secret form (an object rendered from decrypted values)."""
        return self.redact_raw(text) != text

    def redact_raw(self, text: str) -> str:
        """``text`` with every known secret form replaced, layout kept (for multi-line tool output)."""
        if self._later is not None:
            later, self._later = self._later, None
            self.add(later())
        if not self._forms:
            return text
        if self._pattern is None:
            ordered = sorted(self._forms, key=len, reverse=True)  # longest first: no partial leftovers
            self._pattern = re.compile("|".join(re.escape(f) for f in ordered))
        return self._pattern.sub(REDACTED, text)

    def redact(self, text: str) -> str:
        """``text`` with every known secret form replaced, as one capped line."""
        return one_line(self.redact_raw(text))


def _leaves(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield str(value)


def secret_values(obj: Mapping[str, Any], *, secret_bearing: bool) -> list[bytes]:
    """The secret material of one object: a Secret's decoded values, or (``secret_bearing``: a secret
    stage produced it) every value but ``apiVersion``, ``kind`` and the object's name."""
    from core_sync.masking import is_secret

    found: list[bytes] = []
    if is_secret(obj):
        data = obj.get("data")
        for value in data.values() if isinstance(data, Mapping) else ():
            try:
                found.append(base64.b64decode(str(value), validate=True))
            except ValueError:
                found.append(str(value).encode())
        string_data = obj.get("stringData")
        if isinstance(string_data, Mapping):
            found += [str(v).encode() for v in string_data.values()]
    if secret_bearing:
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        body["metadata"] = {k: meta.get(k) for k in ("labels", "annotations")}
        found += [leaf.encode() for leaf in _leaves(body)]
    return found
