"""``lockstep seal --in-place PATH...``: every Secret manifest under the paths, sealed in one process.

Why one process: a kubeseal loop pays process start, certificate parsing and (often) a cluster round trip
per file; here the certificate is read once and each Secret costs only its RSA and AES operations.
All files are sealed in memory first; if any file fails, nothing is written (no half-converted tree).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sealed.format.convert import is_kind, parse_secret, seal
from sealed.format.documents import load_documents
from sealed.format.errors import FormatError
from sealed.progress import Progress

EXTENSIONS = (".yaml", ".yml", ".json")
SEALED_MARK = ".sealed"
_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)

Encrypt = Callable[[bytes, bytes], bytes]


@dataclass
class Planned:
    source: Path
    target: Path
    secrets: int
    content: bytes


def manifest_files(paths: list[str]) -> Iterator[Path]:
    """YAML/JSON files under ``paths`` in a stable order, skipping our own ``*.sealed.*`` outputs."""
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FormatError("no such file or directory", raw)
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in candidates:
            hidden = file != path and any(p.startswith(".") for p in file.relative_to(path).parts[:-1])
            if (
                file.is_file()
                and file.suffix in EXTENSIONS
                and not file.stem.endswith(SEALED_MARK)
                and not hidden
            ):
                yield file


def target_for(source: Path, replace: bool) -> Path:
    return source if replace else source.with_name(source.stem + SEALED_MARK + source.suffix)


def _segments(text: str) -> list[str]:
    """YAML text split at ``---`` lines, each segment keeping its own text for verbatim reuse."""
    bounds = [m.start() for m in _SEPARATOR.finditer(text)]
    starts = [0, *bounds]
    ends = [*bounds, len(text)]
    return [text[s:e] for s, e in zip(starts, ends, strict=True)]


def plan_file(
    source: Path, encrypt: Encrypt, options: Any, replace: bool, render: Callable[[Any, str], str]
) -> Planned | None:
    """The new content for one file, or None when it holds no Secret."""
    data = source.read_bytes()
    documents = load_documents(data)
    if not any(is_kind(d, "Secret") for d in documents):
        return None
    output_format = "json" if source.suffix == ".json" else "yaml"
    count = 0

    def sealed(document: Any) -> str:
        nonlocal count
        count += 1
        return render(seal(parse_secret(document), encrypt, options), output_format)

    if output_format == "json" or not replace:
        parts = [sealed(d) for d in documents if is_kind(d, "Secret")]
        if replace and output_format == "json" and len(parts) != len(documents):
            raise FormatError("a JSON file mixing Secrets and other objects cannot be replaced in place")
        return Planned(source, target_for(source, replace), count, "".join(parts).encode())
    # --replace on YAML: Secret documents become SealedSecrets, everything else stays byte for byte.
    pieces = []
    for segment in _segments(data.decode()):
        body = segment
        if _SEPARATOR.match(segment):
            body = segment.split("\n", 1)[1] if "\n" in segment else ""
        docs = load_documents(body.encode()) if body.strip() else []
        if len(docs) == 1 and is_kind(docs[0], "Secret"):
            pieces.append(sealed(docs[0]))
        elif body.strip() or pieces:
            pieces.append(segment if segment.endswith("\n") else segment + "\n")
    return Planned(source, source, count, "".join(pieces).encode())


def run_in_place(args: SimpleNamespace, encrypt: Encrypt, default_namespace: str) -> int:
    from sealed.cli import Fail, render, seal_options
    from sealed.files import write_atomic

    try:
        files = list(manifest_files(args.in_place))
    except FormatError as error:
        raise Fail(error.message, error.where) from None
    options = seal_options(args, [])
    options.default_namespace = default_namespace
    progress = Progress(len(files), "sealing")
    planned: list[Planned] = []
    errors: list[str] = []
    for file in files:
        progress.step(file)
        try:
            result = plan_file(file, encrypt, options, args.replace, render)
        except FormatError as error:
            errors.append(str(error.at(str(file))))
            continue
        except (OSError, UnicodeDecodeError) as error:
            errors.append(f"{file}: {error}")
            continue
        if result is not None:
            planned.append(result)
    progress.done()
    if errors:
        for message in errors:
            sys.stderr.write(f"error: {message}\n")
        sys.stderr.write(f"{len(errors)} file(s) failed; nothing was written\n")
        return 1
    secrets = sum(p.secrets for p in planned)
    if args.dry_run:
        for item in planned:
            sys.stdout.write(f"would seal {item.secrets} Secret(s): {item.source} -> {item.target}\n")
        sys.stderr.write(f"dry run: {secrets} Secret(s) in {len(planned)} file(s); nothing written\n")
        return 0
    for item in planned:
        write_atomic(item.target, item.content)
    verb = "replaced" if args.replace else "wrote"
    sys.stderr.write(
        f"sealed {secrets} Secret(s) from {len(planned)} file(s); {verb} {len(planned)} file(s); "
        f"{len(files) - len(planned)} file(s) without Secrets skipped\n"
    )
    return 0
