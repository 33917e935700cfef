"""Every local path a kustomization (and the kustomizations it pulls in) references, checked against the root.

Why: ``kustomize --load-restrictor LoadRestrictionsRootOnly`` confines files to *each kustomization's own
directory*, but lets ``resources: [../../anything]`` name a directory anywhere on the host, and that is
how a repository reached files outside its checkout (Argo CD's CVE class). So before kustomize runs,
Lockstep follows every reference itself: each must stay inside the source root (``..`` and symlinks
included), be a regular file or a directory, and each referenced kustomization directory is checked
the same way. Remote references (``https://``, ``ssh://``, ``git@``) are kustomize's to fetch; ``file:``
URLs are refused, since they clone from the host.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from core_sync import confine
from gocompat import limits

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Fields whose list items are paths (or, for some, inline YAML or remote URLs).
_PATH_LISTS = (
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "transformers",
    "generators",
    "validators",
    "patchesStrategicMerge",
)
_DIRECTORY_FIELDS = frozenset(
    {"resources", "bases", "components", "transformers", "generators", "validators"}
)
_REMOTE_PREFIXES = ("https://", "http://", "ssh://", "git::", "git@", "github.com/", "gitlab.com/")


class ReferenceError(confine.ConfinementError):
    """A kustomization references something outside the root, or something that is not a file."""


def kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_symlink() or (candidate.exists() and not candidate.is_dir()):
            return candidate  # a FIFO or escaping symlink is returned, to be refused by name
    return None


def references(doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, path) for every local path in one kustomization document (pure)."""
    for field in _PATH_LISTS:
        for item in _list(doc.get(field)):
            if isinstance(item, str):
                yield field, item
            elif isinstance(item, Mapping) and isinstance(item.get("path"), str):
                yield field, item["path"]
    for field in ("patches", "patchesJson6902", "replacements"):
        for item in _list(doc.get(field)):
            if isinstance(item, Mapping) and isinstance(item.get("path"), str):
                yield field, item["path"]
    for field in ("configMapGenerator", "secretGenerator"):
        for gen in _list(doc.get(field)):
            if not isinstance(gen, Mapping):
                continue
            for entry in _list(gen.get("files")):
                if isinstance(entry, str):
                    yield f"{field}.files", entry.partition("=")[2] or entry
            for entry in [*_list(gen.get("envs")), gen.get("env")]:
                if isinstance(entry, str):
                    yield f"{field}.envs", entry
    helm_globals = doc.get("helmGlobals")
    if isinstance(helm_globals, Mapping) and isinstance(helm_globals.get("chartHome"), str):
        yield "helmGlobals.chartHome", helm_globals["chartHome"]
    for chart in _list(doc.get("helmCharts")):
        if isinstance(chart, Mapping):
            for value in [chart.get("valuesFile"), *_list(chart.get("additionalValuesFiles"))]:
                if isinstance(value, str):
                    yield "helmCharts.valuesFile", value
    openapi = doc.get("openapi")
    if isinstance(openapi, Mapping) and isinstance(openapi.get("path"), str):
        yield "openapi.path", openapi["path"]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_inline_or_remote(ref: str) -> bool:
    return "\n" in ref or ref.startswith(_REMOTE_PREFIXES)


def check(directory: Path, root: Path) -> None:
    """Check the kustomization in ``directory`` and everything it references, transitively.

    ``root`` (resolved) is the source root. Raises :class:`confine.ConfinementError` naming the
    kustomization file (relative to ``root``) and the offending reference.
    """
    pending, seen = [directory], set()
    while pending:
        current = pending.pop()
        real_dir = confine.resolve(current, root)
        if real_dir in seen:
            continue
        seen.add(real_dir)
        confine.check_tree(real_dir, root)
        kfile = kustomization_file(real_dir)
        if kfile is None:
            continue
        where = confine.relative(kfile, root)
        data = confine.read_file(kfile, root)
        try:
            doc = limits.safe_load(data.decode("utf-8"))
        except limits.LimitExceeded as exc:
            raise ReferenceError(where, str(exc)) from None
        except (UnicodeDecodeError, yaml.YAMLError):
            doc = None  # kustomize reports the syntax error itself
        if isinstance(doc, Mapping):
            for field, ref in references(doc):
                pending.extend(_check_reference(real_dir, root, where, field, ref))


def _check_reference(directory: Path, root: Path, where: str, field: str, ref: str) -> list[Path]:
    """The kustomization directories ``ref`` brings in (to check next); raises if it escapes."""
    if "file:" in ref and "\n" not in ref:  # file:///x, git::file:///x: a clone from the host
        raise ReferenceError(where, f"{field}: {ref!r} is a file: URL (reads from the host); not allowed")
    if _is_inline_or_remote(ref):
        return []
    if Path(ref).is_absolute():
        raise ReferenceError(where, f"{field}: {ref!r} is an absolute path; paths must be relative")
    target = directory / ref
    try:
        real = confine.resolve(target, root)
    except confine.ConfinementError as exc:
        raise ReferenceError(where, f"{field}: {ref!r} {_reason(exc.reason)}") from None
    if not real.exists():
        return []  # kustomize reports the missing file
    if real.is_dir():
        return [real] if field in _DIRECTORY_FIELDS else []
    try:
        confine.check_entry(real, root)
    except confine.ConfinementError as exc:
        raise ReferenceError(where, f"{field}: {ref!r} {exc.reason}") from None
    size = real.stat().st_size
    if size > limits.MAX_FILE_BYTES:  # kustomize reads it whole: the same limit as our own reads
        raise ReferenceError(
            where, f"{field}: {ref!r} is {size} bytes, over the limit of {limits.MAX_FILE_BYTES} bytes"
        )
    return []


def _reason(reason: str) -> str:
    return reason.replace("symlink points outside", "leaves").replace("points outside", "leaves")
