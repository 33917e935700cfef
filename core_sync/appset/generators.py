"""Generators: each turns its spec (and the world it reads: cluster Secrets, Git trees) into parameter sets.

Parameters are flat ``str -> str`` maps as in Argo CD: nested list elements and labels become dotted keys.
The world is handed in (:class:`World`), so expansion is pure and the same for preview and controller.
"""

from __future__ import annotations

import base64
import fnmatch
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from core_sync.appset.template import AppSetError

Params = dict[str, str]
CLUSTER_LABEL = "lockstep.dev/cluster"  # value "true" registers a cluster Secret (Argo: secret-type: cluster)
MAX_ELEMENTS = 10_000  # parameter sets one ApplicationSet may produce


class World:
    """What generators read: registered cluster Secrets and a lister of a repository's directories."""

    def __init__(
        self,
        clusters: Sequence[Mapping[str, Any]] = (),
        directories: Callable[[str, str | None], Sequence[str]] | None = None,
    ) -> None:
        self.clusters = clusters
        self.directories = directories


def expand(generators: Sequence[Mapping[str, Any]], world: World) -> list[Params]:
    """Every generator's parameter sets, in order."""
    result: list[Params] = []
    for index, generator in enumerate(generators):
        result += generate(generator, world, f"generators[{index}]")
    if len(result) > MAX_ELEMENTS:
        raise AppSetError(f"generators produce {len(result)} elements, over the limit of {MAX_ELEMENTS}")
    return result


def generate(generator: Mapping[str, Any], world: World, where: str) -> list[Params]:
    if len(generator) != 1:
        raise AppSetError(f"{where}: needs exactly one of clusters, list, git, matrix")
    [(kind, body)] = generator.items()
    body = body or {}
    if kind == "list":
        return [_flatten(element, f"{where}.list") for element in body.get("elements") or ()]
    if kind == "clusters":
        return _clusters(body, world, where)
    if kind == "git":
        return _git(body, world, where)
    if kind == "matrix":
        return _matrix(body, world, where)
    raise AppSetError(f"{where}: generator {kind!r} is not supported (clusters, list, git, matrix)")


def _flatten(value: Any, where: str, prefix: str = "") -> Params:
    if not isinstance(value, Mapping):
        raise AppSetError(f"{where}: an element must be a mapping")
    params: Params = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            params.update(_flatten(item, where, f"{name}."))
        else:
            params[name] = (
                "" if item is None else (str(item).lower() if isinstance(item, bool) else str(item))
            )
    return params


def matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector against ``labels`` (an invalid selector is the set's error)."""
    from core_sync.selectors import SelectorError, label_selector_matches

    try:
        return label_selector_matches(selector, labels)
    except SelectorError as error:
        raise AppSetError(str(error)) from None


def cluster_params(secret: Mapping[str, Any]) -> Params:
    """``name`` and ``server`` (Argo CD's cluster Secret keys), ``secretName``, labels and annotations."""
    meta = secret.get("metadata") or {}
    data = secret.get("data") or {}

    def text(key: str) -> str:
        return base64.b64decode(data[key]).decode() if key in data else ""

    params: Params = {"name": text("name") or str(meta.get("name")), "server": text("server")}
    params["secretName"] = str(meta.get("name"))
    for key, value in (meta.get("labels") or {}).items():
        params[f"metadata.labels.{key}"] = str(value)
    for key, value in (meta.get("annotations") or {}).items():
        params[f"metadata.annotations.{key}"] = str(value)
    return params


def _clusters(body: Mapping[str, Any], world: World, where: str) -> list[Params]:
    selector = body.get("selector") or {}
    extra = _flatten(body.get("values") or {}, f"{where}.clusters.values", "values.")
    result = []
    for secret in sorted(world.clusters, key=lambda s: str((s.get("metadata") or {}).get("name"))):
        labels = (secret.get("metadata") or {}).get("labels") or {}
        if labels.get(CLUSTER_LABEL) == "true" and matches(selector, labels):
            result.append({**cluster_params(secret), **extra})
    return result


def _git(body: Mapping[str, Any], world: World, where: str) -> list[Params]:
    if not body.get("repoURL") or not body.get("directories"):
        raise AppSetError(f"{where}.git: needs repoURL and directories")
    if world.directories is None:
        raise AppSetError(f"{where}.git: no repository access here")
    found = world.directories(str(body["repoURL"]), body.get("revision"))
    include = [d["path"] for d in body["directories"] if not d.get("exclude")]
    exclude = [d["path"] for d in body["directories"] if d.get("exclude")]
    result = []
    for path in sorted(found):
        if any(_glob(path, p) for p in include) and not any(_glob(path, p) for p in exclude):
            parts = path.split("/")
            params = {"path": path, "path.basename": parts[-1]}
            params["path.basenameNormalized"] = "".join(c if c.isalnum() else "-" for c in parts[-1]).lower()
            params.update({f"path[{i}]": part for i, part in enumerate(parts)})
            result.append(params)
    return result


def _glob(path: str, pattern: str) -> bool:
    """Go's path.Match: ``*`` stays within one path segment."""
    parts, patterns = path.split("/"), pattern.strip("/").split("/")
    return len(parts) == len(patterns) and all(
        fnmatch.fnmatchcase(a, b) for a, b in zip(parts, patterns, strict=True)
    )


def _matrix(body: Mapping[str, Any], world: World, where: str) -> list[Params]:
    children = body.get("generators") or []
    if len(children) != 2:
        raise AppSetError(f"{where}.matrix: needs exactly two generators")
    first = generate(children[0], world, f"{where}.matrix.generators[0]")
    second = generate(children[1], world, f"{where}.matrix.generators[1]")
    if len(first) * len(second) > MAX_ELEMENTS:
        raise AppSetError(f"{where}.matrix: {len(first)} x {len(second)} elements, over {MAX_ELEMENTS}")
    return [{**a, **b} for a in first for b in second]
