"""``lockstep seal --in-place PATH...``: every Secret manifest under the paths, sealed in one process.

Why one process: a kubeseal loop pays process start, certificate parsing and (often) a cluster round trip
per file; here the certificate is read once and each Secret costs only its RSA and AES operations.
All files are sealed in memory first and each result is checked (no Secret data left, with ``--replace`` every
other document unchanged); if any file fails, nothing is written (no half-converted tree), and the files are
then written all or nothing through ``core_sync.files``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core_sync.progress import Progress
from sealed.format.convert import is_kind, parse_secret, seal
from sealed.format.documents import BOM, line_ending, load_documents, split_stream
from sealed.format.errors import FormatError

if TYPE_CHECKING:
    from sealed.seal_args import SealArgs

EXTENSIONS = (".yaml", ".yml", ".json")
SEALED_MARK = ".sealed"

Encrypt = Callable[[bytes, bytes], bytes]


@dataclass
class Planned:
    source: Path
    target: Path
    secrets: int
    content: bytes


def manifest_files(paths: list[str]) -> Iterator[Path]:
    """YAML/JSON files under ``paths`` in a stable order, skipping our own ``*.sealed.*`` outputs; a file
    reached twice (``a.yaml`` and its directory, or a symlink to it) is sealed once.

    Each file is confined to the root it was reached from (the directory given, or a named file's own
    directory), as sources are: a symlink that is absolute or leaves that root, a symlink loop, or a FIFO,
    socket or device with a manifest's name is refused with a :class:`FormatError` naming it, so the run
    writes nothing rather than rewrite (or block on) a file outside the tree it was given.
    """
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise FormatError("no such file or directory", raw)
        is_dir = path.is_dir() and not path.is_symlink()
        root = path.resolve() if is_dir else path.absolute().parent.resolve()
        candidates = sorted(path.rglob("*")) if is_dir else [path]
        for file in candidates:
            hidden = file != path and any(p.startswith(".") for p in file.relative_to(path).parts[:-1])
            if file.suffix not in EXTENSIONS or file.stem.endswith(SEALED_MARK) or hidden:
                continue
            _confine(file, root / file.relative_to(path) if is_dir else root / file.name, root)
            if file.is_file() and file.resolve() not in seen:
                seen.add(file.resolve())
                yield file


def _confine(file: Path, entry: Path, root: Path) -> None:
    """``entry`` (``file`` as seen from the resolved ``root``) must be a regular file, a directory or a
    relative symlink staying inside ``root``, and must not be reached through a directory symlink that
    leaves it."""
    from core_sync.confine import ConfinementError, check_entry, resolve

    try:
        check_entry(entry, root)
        resolve(entry, root)
    except ConfinementError as error:
        raise FormatError(f"{error.reason} (in-place sealing stays inside {root})", str(file)) from None


def target_for(source: Path, replace: bool) -> Path:
    return source if replace else source.with_name(source.stem + SEALED_MARK + source.suffix)


def plan_file(
    source: Path, encrypt: Encrypt, options: Any, replace: bool, render: Callable[[Any, str], str]
) -> Planned | None:
    """The new content for one file, or None when it holds no Secret. Raises :class:`FormatError` when the
    result would leave any Secret's data in plaintext (checked on the exact bytes that would be written)."""
    data = source.read_bytes()
    documents = load_documents(data)
    for index, document in enumerate(documents):
        if _nested_secret(document):
            raise FormatError(
                f"document {index + 1} is a {document.get('kind')} holding Secrets, which cannot be sealed "
                "in place: put each Secret in its own document"
            )
    if not any(is_kind(d, "Secret") for d in documents):
        return None
    output_format = "json" if source.suffix == ".json" else "yaml"
    text = data.decode("utf-8")
    eol = line_ending(text)
    count = 0

    def sealed(document: Any) -> str:
        nonlocal count
        count += 1
        return render(seal(parse_secret(document), encrypt, options), output_format).replace("\n", eol)

    if output_format == "json" or not replace:
        parts = [sealed(d) for d in documents if is_kind(d, "Secret")]
        if replace and output_format == "json" and len(parts) != len(documents):
            raise FormatError("a JSON file mixing Secrets and other objects cannot be replaced in place")
        content = "".join(parts)
    else:
        content = _replace_secrets(text, sealed)
    _verify(documents, content, replace)
    return Planned(source, target_for(source, replace), count, content.encode())


def _replace_secrets(text: str, sealed: Callable[[Any], str]) -> str:
    """``text`` with each Secret document swapped for its SealedSecret; every other byte stays as it was
    (comments, other documents, a byte-order mark, CRLF line breaks)."""
    bom = BOM if text.startswith(BOM) else ""
    pieces: list[str] = []
    for piece in split_stream(text.removeprefix(BOM)):
        docs = load_documents(piece.encode())
        if len(docs) > 1:
            raise FormatError("could not cut the YAML stream into single documents")
        if pieces and not pieces[-1].endswith(("\n", "\r")):
            pieces[-1] += line_ending(text)
        pieces.append(sealed(docs[0]) if docs and is_kind(docs[0], "Secret") else piece)
    return bom + "".join(pieces)


def _verify(original: list[Any], content: str, replace: bool) -> None:
    """The hard rule of in-place sealing, checked on the bytes about to be written: no Secret data remains,
    and with ``--replace`` every other document reads back exactly as before."""
    written = load_documents(content.encode())
    leaks = [n + 1 for n, d in enumerate(written) if _holds_secret_data(d)]
    if leaks:
        raise FormatError(f"sealing would leave Secret data in plaintext (document {leaks[0]})")
    if not replace:
        return
    if len(written) != len(original):
        raise FormatError(
            f"the sealed file would hold {len(written)} documents instead of {len(original)}: "
            "the YAML stream could not be split safely"
        )
    for index, (before, after) in enumerate(zip(original, written, strict=True)):
        expected_kind = "SealedSecret" if is_kind(before, "Secret") else None
        if (expected_kind and not is_kind(after, expected_kind)) or (not expected_kind and before != after):
            raise FormatError(f"document {index + 1} would change or be lost while sealing")


def _holds_secret_data(document: Any) -> bool:
    if is_kind(document, "Secret"):
        return any(document.get(field) for field in ("data", "stringData"))
    return _nested_secret(document)


def _nested_secret(document: Any) -> bool:
    """A ``List`` (or any ``*List``) whose items include a Secret with data."""
    if not isinstance(document, dict) or not str(document.get("kind", "")).endswith("List"):
        return False
    items = document.get("items")
    return isinstance(items, list) and any(_holds_secret_data(item) for item in items)


def run_in_place(args: SealArgs, encrypt: Encrypt, default_namespace: str) -> int:
    from core_sync.files import WriteError, check_writable, write_files
    from sealed.sealing import SEALED_FILE_MODE, render, seal_options

    try:
        files = list(manifest_files(args.in_place or []))
    except FormatError as error:
        return _report_failure([str(error)])
    options = seal_options(args, [])
    options.default_namespace = default_namespace
    progress = Progress(len(files), "sealing")
    planned: list[Planned] = []
    errors: list[str] = []
    for file in files:
        progress.step(file)
        try:
            result = plan_file(file, encrypt, options, args.replace, render)
            if result is not None and not args.dry_run:
                check_writable(result.target)
        except FormatError as error:
            errors.append(str(error.at(str(file))))
            continue
        except WriteError as error:
            errors.append(f"{error.path}: {error.reason}")
            continue
        except OSError as error:
            errors.append(f"{file}: {error.strerror or error}")
            continue
        except UnicodeDecodeError as error:
            errors.append(f"{file}: input is not UTF-8 (byte {error.start})")
            continue
        if result is not None:
            planned.append(result)
    progress.done()
    if errors:
        return _report_failure(errors)
    secrets = sum(p.secrets for p in planned)
    if args.dry_run:
        for item in planned:
            sys.stdout.write(f"would seal {item.secrets} Secret(s): {item.source} -> {item.target}\n")
        sys.stderr.write(f"dry run: {secrets} Secret(s) in {len(planned)} file(s); nothing written\n")
        return 0
    try:
        write_files([(item.target, item.content) for item in planned], SEALED_FILE_MODE)
    except WriteError as error:
        return _report_failure([f"{error.path}: {error.reason}"])
    for item in planned:
        _check_written(item)
    verb = "replaced" if args.replace else "wrote"
    sys.stderr.write(
        f"sealed {secrets} Secret(s) from {len(planned)} file(s); {verb} {len(planned)} file(s); "
        f"{len(files) - len(planned)} file(s) without Secrets skipped\n"
    )
    return 0


def _report_failure(errors: list[str]) -> int:
    for message in errors:
        sys.stderr.write(f"error: {message}\n")
    sys.stderr.write(f"{len(errors)} file(s) failed; nothing was written\n")
    return 1


def _check_written(item: Planned) -> None:
    """Read the written file back: another process racing us must not leave plaintext unnoticed."""
    from sealed.sealing import Fail

    try:
        ok = item.target.read_bytes() == item.content
    except OSError:
        ok = False
    if not ok:
        raise Fail("the file changed while it was written: check it for plaintext Secrets", str(item.target))
