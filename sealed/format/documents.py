"""Reading a stream of Kubernetes objects (JSON or YAML, several documents) from bytes.

JSON is read with the standard library; the block YAML of ordinary manifests by ``fastyaml``; PyYAML is
imported only for YAML beyond that subset. YAML is read the
way sigs.k8s.io/yaml reads it: YAML 1.1 scalars, but timestamps stay strings (go-yaml keeps them as
strings when decoding into a generic value), so an annotation like ``2001-12-14`` survives unchanged.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from core_sync import limits
from sealed.format.errors import FormatError


def load_documents(data: bytes) -> list[Any]:
    """Every non-empty document in ``data``; raises :class:`FormatError` on a syntax error or input over
    a limit (size, nesting depth, YAML alias expansion: :mod:`core_sync.limits`)."""
    try:
        limits.check_size(len(data))
    except limits.LimitExceeded as error:
        raise FormatError(str(error)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FormatError(f"input is not UTF-8 (byte {error.start})") from None
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        documents = _json_stream(stripped)
        if documents is not None:
            return documents
    from sealed.format.fastyaml import load

    fast = load(text)
    if fast is not None:
        return fast
    return _yaml_stream(text)


def _json_stream(text: str) -> list[Any] | None:
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
