"""``lockstep import FILE|DIR...``: Argo CD and Flux manifests as Lockstep objects on stdout.

What has no Lockstep equivalent is reported on stderr, one line per object and field. All or nothing:
an unreadable or invalid file prints nothing on stdout, so a pipe into ``kubectl apply`` applies nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core_sync.commands import common

SUFFIXES = (".yaml", ".yml", ".json")


class ImportInputError(Exception):
    """A file that cannot be read or parsed; the message names the file and the reason."""


def main(argv: list[str], prog: str = "lockstep import") -> int:
    p = common.parser(
        prog,
        "Convert Argo CD Application/ApplicationSet/AppProject and Flux GitRepository+Kustomization "
        "manifests into Lockstep objects (stdout); what has no equivalent is listed on stderr.",
        "lockstep import platform/argocd platform/flux | kubectl apply -n apps -f -",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="FILE|DIR")
    p.add_argument("-n", "--namespace", help="namespace of the objects (default: none, set at apply)")
    args = p.parse_args(argv)
    import yaml

    from core_sync.importers.convert import convert

    try:
        documents = list(_documents(args.paths))
    except ImportInputError as problem:
        common.error(str(problem))
        return common.EXIT_ERROR
    result = convert(documents)
    for note in result.notes:
        sys.stderr.write(f"note: {note}\n")
    if not result.objects:
        common.error("no Argo CD or Flux object could be converted")
        return common.EXIT_ERROR
    for obj in result.objects:
        if args.namespace and obj["kind"] != "Project":  # Projects are cluster-scoped
            obj["metadata"]["namespace"] = args.namespace
    sys.stdout.write(yaml.safe_dump_all(result.objects, sort_keys=False, explicit_start=True))
    return 0


def _documents(paths: list[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    for file in _files(paths):
        try:
            docs = common.read_manifests(file)
        except common.InputError as problem:
            raise ImportInputError(str(problem)) from None
        for index, doc in enumerate(docs):
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise ImportInputError(f"{file}: a document is not a mapping (a Kubernetes object)")
            shape = _metadata_problem(doc)
            if shape:
                raise ImportInputError(f"{file}: document {index + 1}: {shape}")
            yield str(file), doc


def _metadata_problem(doc: dict[str, Any]) -> str | None:
    """Why the object's metadata cannot be read (the converters read names, labels and annotations)."""
    meta = doc.get("metadata")
    if meta is None:
        return None
    if not isinstance(meta, dict):
        return "metadata is not a mapping"
    for field in ("labels", "annotations"):
        if meta.get(field) is not None and not isinstance(meta[field], dict):
            return f"metadata.{field} is not a mapping"
    return None


def _files(paths: list[Path]) -> Iterator[Path]:
    """The manifests named or found under named directories. A directory is a tree like a repository:
    its symlinks must stay inside it and it may hold no FIFO, socket or device (``core_sync.confine``)."""
    from core_sync.confine import ConfinementError, checked_entries

    for path in paths:
        if path.is_dir():
            root = path.resolve()
            try:
                found = [p for p in checked_entries(root, root) if p.suffix in SUFFIXES and p.is_file()]
            except ConfinementError as problem:
                raise ImportInputError(f"{path / problem.path}: {problem.reason}") from None
            yield from sorted(path / p.relative_to(root) for p in found)  # named as the user named them
        elif path.exists():
            yield path
        else:
            raise ImportInputError(f"{path}: no such file or directory")
