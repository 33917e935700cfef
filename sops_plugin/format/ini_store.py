"""The INI store: each section is a mapping (AAD ``section:key:``), comments become tree items, metadata is
a flattened ``[sops]`` section. Written the way go-ini does (``key = value``, ``=`` aligned per section)."""

from __future__ import annotations

from gocompat.yaml.v3.tree import Branch, Comment
from sops_plugin.format.flat import flatten, unflatten, value_text

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from typing import Any


DEFAULT = "DEFAULT"


class IniError(Exception):
    pass


def _strip_comment(text: str) -> str:
    if text.startswith(";"):
        return text.lstrip("; ")
    if text.startswith("#"):
        return text.lstrip("# ")
    return text


def _unquote(value: str) -> str:
    for q in ('"""', "`", '"'):
        if len(value) >= 2 * len(q) and value.startswith(q) and value.endswith(q):
            return value[len(q) : -len(q)]
    return value


def _opens_multiline(value: str) -> bool:
    return value.startswith('"""') and not (len(value) >= 6 and value.endswith('"""'))


def _read_multiline(first: str, lines: list[str], n: int) -> tuple[str, int]:
    """A triple-quoted value continued over the following lines (go-ini's form for values with newlines,
    which sops 3.13.0 and 3.13.1 also used for the metadata's age/PGP blocks): the quoted text and the index
    of the line after the closing quotes. Inner lines are kept as written, blank ones included."""
    parts = [first]
    start = n
    while n < len(lines):
        raw = lines[n]
        n += 1
        parts.append(raw)
        if raw.rstrip().endswith('"""'):
            return _unquote("\n".join(parts).rstrip()), n
    raise IniError(f'unclosed """ value starting on line {start}')


def load(data: bytes) -> Branch:
    sections: list[tuple[str, Branch]] = []
    current: Branch | None = None
    pending: list[str] = []
    lines = data.decode("utf-8", "surrogateescape").splitlines()
    n = 0
    while n < len(lines):
        line = lines[n].strip()
        n += 1
        if not line:
            continue
        if line[0] in ";#":
            pending.append(_strip_comment(line))
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise IniError(f"unclosed section on line {n}")
            current = Branch()
            if pending:
                current.append((Comment("\n".join(pending)), None))
                pending = []
            sections.append((line[1:-1].strip(), current))
            continue
        pos = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if pos < 0:
            raise IniError(f"key-value delimiter not found on line {n}")
        key, value = line[:pos].strip(), line[pos + 1 :].strip()
        if _opens_multiline(value):
            value, n = _read_multiline(value, lines, n)
        elif value[:1] not in ('"', "`"):
            cut = min((i for i in (value.find("#"), value.find(";")) if i >= 0), default=-1)
            if cut >= 0:
                pending.append(_strip_comment(value[cut:]))
                value = value[:cut].strip()
        if current is None:
            current = Branch()
            sections.append((DEFAULT, current))
        current.append((key, _unquote(value)))
        if pending:
            current.append((Comment("\n".join(pending)), None))
            pending = []
    return Branch(sections)


def split_metadata(branch: Branch) -> tuple[Branch, dict[str, Any] | None]:
    meta = branch.get("sops")
    if meta is None:
        return branch, None
    # sops 3.13.2 double-escapes newlines in INI metadata; earlier versions escape once. Read both.
    flat = [(k, str(v).replace("\\\\n", "\\n")) for k, v in meta if isinstance(k, str)]
    return branch.without("sops"), unflatten(flat)


def _value(value: Any) -> str:
    text = value_text(value)
    if "\n" in text:
        return f'"""{text}"""'
    if text != text.strip():
        return f'"{text}"'
    if "#" in text or ";" in text:
        return f"`{text}`"
    return text


def emit(branch: Branch, meta: Branch | None = None) -> bytes:
    sections = [(k, v) for k, v in branch if not isinstance(k, Comment)]
    if meta is not None:
        sections.append(("sops", Branch(flatten(meta))))
    chunks = []
    for name, items in sections:
        if not isinstance(items, Branch):
            raise IniError("Error encoding section: Section values should always be TreeBranches")
        lines: list[str] = []
        entries = list(items)
        if entries and isinstance(entries[0][0], Comment):
            lines += [f"; {c}" for c in entries[0][0].value.split("\n")]
            entries = entries[1:]
        keys = [k for k, _ in entries if not isinstance(k, Comment)]
        if name != DEFAULT:  # go-ini writes the default section's keys without a header
            lines.append(f"[{name}]")
        elif not keys:
            continue
        width = max((len(k) for k in keys), default=0)
        body: list[tuple[str, list[str]]] = []
        for key, value in entries:
            if isinstance(key, Comment):
                if body:
                    body[-1][1].extend(key.value.split("\n"))
                continue
            body.append((f"{key.ljust(width)} = {_value(value)}", []))
        for line, comments in body:
            lines += [f"; {c}" for c in comments]
            lines.append(line)
        chunks.append("\n".join(lines) + "\n")
    return "\n".join(chunks).encode("utf-8", "surrogateescape")
