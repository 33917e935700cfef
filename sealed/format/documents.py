"""Reading a stream of Kubernetes objects (JSON or YAML, several documents) from bytes.

JSON is read with the standard library; the block YAML of ordinary manifests by
``gocompat.yaml.v2.reader``; PyYAML is imported only for YAML beyond that subset. YAML is read the
way sigs.k8s.io/yaml reads it: YAML 1.1 scalars, but timestamps stay strings (go-yaml keeps them as
strings when decoding into a generic value), so an annotation like ``2001-12-14`` survives unchanged.
"""

from __future__ import annotations

import re
from functools import cache

from gocompat import limits
from gocompat.lazy_regex import LazyRegex
from sealed.format.errors import FormatError

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep seal` must start fast
if TYPE_CHECKING:
    from typing import Any

BOM = "\ufeff"
_LINE = LazyRegex(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def load_documents(data: bytes) -> list[Any]:
    """Every non-empty document in ``data``; raises :class:`FormatError` on a syntax error or input over
    a limit (size, nesting depth, YAML alias expansion: :mod:`gocompat.limits`), never a RecursionError."""
    try:
        limits.check_size(len(data))
    except limits.LimitExceeded as error:
        raise FormatError(str(error)) from None
    try:
        return _load(data)
    except RecursionError:
        raise FormatError("input is nested too deeply") from None


def _load(data: bytes) -> list[Any]:
    try:
        text = data.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as error:
        raise FormatError(f"input is not UTF-8 (byte {error.start})") from None
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        documents = _json_stream(stripped)
        if documents is not None:
            return documents
    from gocompat.yaml.v2.reader import read

    fast = read(text)
    if fast is not None:
        return fast
    return _yaml_stream(text)


def _json_stream(text: str) -> list[Any] | None:
    import json  # only for JSON input: its import compiles several regexes

    decoder = json.JSONDecoder()
    documents, position = [], 0
    while position < len(text):
        try:
            value, end = decoder.raw_decode(text, position)
            limits.check_depth(value)
        except RecursionError:
            raise FormatError(f"invalid JSON: nesting deeper than {limits.MAX_DEPTH} levels") from None
        except limits.LimitExceeded as error:
            raise FormatError(f"invalid JSON: {error}") from None
        except ValueError:
            return None
        documents.append(value)
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    return documents


@cache
def _loader() -> Any:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class KubeLoader(base):  # type: ignore[misc, valid-type]
        """SafeLoader that keeps timestamp-looking scalars as strings."""

    def timestamp_as_string(loader: Any, node: Any) -> str:
        return str(loader.construct_scalar(node))

    KubeLoader.add_constructor("tag:yaml.org,2002:timestamp", timestamp_as_string)
    return KubeLoader


def _yaml_stream(text: str) -> list[Any]:
    import yaml

    try:
        return [doc for doc in limits.iter_yaml(text, _loader()) if doc is not None]
    except limits.LimitExceeded as error:
        raise FormatError(f"invalid YAML: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise FormatError(f"invalid YAML{where}: {problem}") from None
    except ValueError as error:  # an integer beyond Python's digit limit
        raise FormatError(f"invalid YAML: {error}") from None


def line_ending(text: str) -> str:
    """The line break a text uses (its first one), so rewritten parts can keep a CRLF file CRLF."""
    match = re.search(r"\r\n|\r|\n", text)
    return match.group() if match else "\n"


def split_stream(text: str) -> list[str]:
    """A YAML stream cut into pieces that each hold at most one document, verbatim (joined, they give
    ``text`` back). A document's piece holds its directives (``%YAML``), its ``---`` line with any inline
    content (``--- {...}``, ``--- !tag``), its body and its ``...`` end; comments and blank lines between
    documents get pieces of their own, so a rewritten document does not take them along.

    Markers are ``---``/``...`` at column 0 followed by a space, tab or line break (YAML forbids them inside
    content); every line break form counts (LF, CRLF, CR). The caller parses each piece and must check that
    the result equals the whole stream's documents: this cut is textual.
    """
    pieces: list[str] = []
    current: list[str] = []  # the open document's lines
    between: list[str] = []  # lines after a document ended (or at the start) and before the next one
    for line in _LINE.findall(text):
        content = line.rstrip("\r\n")
        if _marker(content, "---"):
            if current:
                pieces.append("".join(current))
            current = [*_take_directives(between, pieces), line]
            between = []
        elif current and _marker(content, "..."):
            current.append(line)
            pieces.append("".join(current))
            current = []
        elif current:
            current.append(line)
        elif _starts_document(content):
            current = [*_take_directives(between, pieces), line]  # a bare document (no ``---``)
            between = []
        else:
            between.append(line)
    if current:
        pieces.append("".join(current))
    if between:
        pieces.append("".join(between))
    return pieces


def _starts_document(content: str) -> bool:
    """Outside a document: a line of content (not blank, a comment, a directive or a stray ``...``)."""
    if not content.strip() or content.lstrip().startswith("#"):
        return False
    return not content.startswith(("%", "..."))


def _marker(content: str, marker: str) -> bool:
    return content.startswith(marker) and (len(content) == 3 or content[3] in " \t")


def _take_directives(between: list[str], pieces: list[str]) -> list[str]:
    """Lines before a document: comments stay a piece of their own, directives open the document."""
    first = next((n for n, line in enumerate(between) if line.startswith("%")), len(between))
    if first:
        pieces.append("".join(between[:first]))
    return between[first:]
