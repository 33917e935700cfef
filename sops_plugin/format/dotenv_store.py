"""The dotenv store: ``KEY=VALUE`` lines (split at the first ``=``, no trimming), ``#`` comments, values
always strings with newlines written as ``\\n``; metadata flattened under ``sops_``."""

from __future__ import annotations

from gocompat.yaml.v3.tree import Branch, Comment
from sops_plugin.format.flat import flatten, unflatten, value_text

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from typing import Any


PREFIX = "sops_"


class DotenvError(Exception):
    pass


def load(data: bytes) -> Branch:
    branch = Branch()
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw:
            continue
        line = raw.decode("utf-8", "surrogateescape")
        if line.startswith("#"):
            branch.append((Comment(line[1:]), None))
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise DotenvError(f"invalid dotenv input line {number}: no '='")
        branch.append((key, value.replace("\\n", "\n")))
    return branch


def split_metadata(branch: Branch) -> tuple[Branch, dict[str, Any] | None]:
    data, flat = Branch(), []
    for key, value in branch:
        if isinstance(key, str) and key.startswith(PREFIX):
            flat.append((key[len(PREFIX) :], value.replace("\n", "\\n") if isinstance(value, str) else value))
        else:
            data.append((key, value))
    return data, (unflatten(flat) if flat else None)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.replace("\n", "\\n")
    return value_text(value)


def emit(branch: Branch, meta: Branch | None = None) -> bytes:
    lines = []
    for key, value in branch:
        if isinstance(key, Comment):
            lines.append(f"#{key.value}\n")
            continue
        if isinstance(value, Branch | list):
            raise DotenvError(f"cannot use complex value in dotenv file; offending key {key}")
        lines.append(f"{key}={_text(value)}\n")
    if meta is not None:
        lines += [f"{k}={v}\n" for k, v in flatten(meta, PREFIX)]
    return "".join(lines).encode("utf-8", "surrogateescape")
