"""How to render a Helm chart: ``spec.source.helm`` (and the CLI flags that mirror it) as one value (pure).

Argo CD's field names are kept (``releaseName``, ``values``, ``valuesObject``, ``parameters``,
``skipCrds``, ``ignoreMissingValueFiles``, ``kubeVersion``, ``apiVersions``); values files are
``valuesFiles`` (Flux's spelling) or Argo CD's ``valueFiles``. Merge order is Argo CD's and Helm's: values
files in order, then the inline values (``valuesObject`` over ``values``), then ``parameters``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# What Helm accepts as a release name (helm's own rule: DNS-1123 subdomain-ish, at most 53 characters).
_RELEASE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
MAX_RELEASE_NAME = 53
_KUBE_VERSION = re.compile(r"^v?[0-9]+\.[0-9]+(\.[0-9]+)?([-+][0-9A-Za-z.+-]*)?$")
_SPEC = "spec.source.helm"


@dataclass(frozen=True)
class HelmParameter:
    """One ``--set`` (or ``--set-string`` with ``force_string``): Helm's own path syntax."""

    name: str
    value: str
    force_string: bool = False

    def argument(self) -> list[str]:
        # helm splits --set on unescaped commas; a value is one value (Argo CD escapes them the same way)
        value = re.sub(r"(?<!\\),", r"\\,", self.value)
        return ["--set-string" if self.force_string else "--set", f"{self.name}={value}"]


@dataclass(frozen=True)
class HelmSettings:
    """Everything ``helm template`` is told besides the chart, the namespace and the values' bytes.

    ``values_files`` are paths relative to the chart directory (an absolute one is a file the CLI user
    named); every one must stay inside the source root. ``inline_values`` is YAML/JSON text given in
    the Application itself (no file, nothing secret).
    """

    release_name: str
    values_files: tuple[str, ...] = ()
    inline_values: tuple[str, ...] = ()
    parameters: tuple[HelmParameter, ...] = ()
    include_crds: bool = True
    ignore_missing_values_files: bool = False
    kube_version: str | None = None
    api_versions: tuple[str, ...] = ()
    binary: str | None = None  # --helm PATH (the CLI); else $LOCKSTEP_HELM, beside Python, PATH
    from_spec: bool = False  # the Application set spec.source.helm (an error when the path is no chart)

    def arguments(self, chart: str, namespace: str, values: Sequence[str]) -> list[str]:
        """``helm template`` arguments; ``values`` are the paths helm reads each values document from, in
        order (files, then inline values)."""
        args = ["template", self.release_name, chart, "--namespace", namespace, "--skip-tests"]
        if self.include_crds:
            args.append("--include-crds")
        if self.kube_version:
            args += ["--kube-version", self.kube_version]
        for api_version in self.api_versions:
            args += ["--api-versions", api_version]
        for path in values:
            args += ["--values", path]
        for parameter in self.parameters:
            args += parameter.argument()
        return args


def check_release_name(name: str, what: str) -> None:
    if len(name) > MAX_RELEASE_NAME or not _RELEASE_NAME.match(name):
        raise ValueError(
            f"{what} {name!r} is not a valid Helm release name: lower-case letters, digits, '-' and '.', "
            f"starting and ending with a letter or digit, at most {MAX_RELEASE_NAME} characters"
        )


def check_kube_version(version: str, what: str) -> None:
    if not _KUBE_VERSION.match(version):
        raise ValueError(f"{what} {version!r} is not a version like v1.31.0")


def default_release_name(name: str) -> str:
    """A release name made from a name that may not be one (a directory name): lower-cased, cut to size."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:MAX_RELEASE_NAME].strip("-")
    return cleaned or "release"


def from_spec(helm: Any, release_name: str) -> HelmSettings | None:
    """``spec.source.helm`` (``None`` when absent) → settings; ``ValueError`` naming the field otherwise.

    ``release_name`` is the default (the Application's name). The CRD's schema checks types on a real
    API server; this checks them again for Applications read from files and older API servers.
    """
    if helm is None:
        return None
    if not isinstance(helm, Mapping):
        raise ValueError(f"{_SPEC} must be a mapping")
    release = _string(helm, "releaseName") or release_name
    check_release_name(release, f"{_SPEC}.releaseName" if helm.get("releaseName") else "release name")
    if helm.get("valuesFiles") is not None and helm.get("valueFiles") is not None:
        raise ValueError(f"{_SPEC}: set valuesFiles or valueFiles (Argo CD's spelling), not both")
    files_field = "valueFiles" if helm.get("valueFiles") is not None else "valuesFiles"
    files = _strings(helm, files_field)
    for path in files:
        check_values_path(path, f"{_SPEC}.{files_field}")
    inline: list[str] = []
    values = helm.get("values")
    if values is not None:
        if not isinstance(values, str):
            raise ValueError(f"{_SPEC}.values must be a string of YAML (use valuesObject for a mapping)")
        inline.append(values)
    values_object = helm.get("valuesObject")
    if values_object is not None:
        if not isinstance(values_object, Mapping):
            raise ValueError(f"{_SPEC}.valuesObject must be a mapping")
        inline.append(json.dumps(values_object))
    kube_version = _string(helm, "kubeVersion")
    if kube_version:
        check_kube_version(kube_version, f"{_SPEC}.kubeVersion")
    return HelmSettings(
        release_name=release,
        values_files=tuple(files),
        inline_values=tuple(inline),
        parameters=tuple(_parameters(helm.get("parameters"))),
        include_crds=not _flag(helm, "skipCrds"),
        ignore_missing_values_files=_flag(helm, "ignoreMissingValueFiles"),
        kube_version=kube_version,
        api_versions=tuple(_strings(helm, "apiVersions")),
        from_spec=True,
    )


def check_values_path(path: str, what: str) -> None:
    """A values file named in an Application: a relative path in the repository, never a URL (no
    network) nor an absolute path (nothing outside the checkout)."""
    if not path:
        raise ValueError(f"{what}: an empty path")
    if "://" in path:
        raise ValueError(f"{what}: {path!r}: remote values files are not supported (commit the file)")
    if path.startswith("/"):
        raise ValueError(f"{what}: {path!r}: must be relative to the chart directory")


def _string(helm: Mapping[str, Any], key: str) -> str | None:
    value = helm.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{_SPEC}.{key} must be a string")
    return value


def _flag(helm: Mapping[str, Any], key: str) -> bool:
    value = helm.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{_SPEC}.{key} must be true or false")
    return value


def _strings(helm: Mapping[str, Any], key: str) -> list[str]:
    value = helm.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{_SPEC}.{key} must be a list of strings")
    return list(value)


def _parameters(value: Any) -> list[HelmParameter]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{_SPEC}.parameters must be a list")
    out: list[HelmParameter] = []
    for index, item in enumerate(value):
        where = f"{_SPEC}.parameters[{index}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ValueError(f"{where} needs a name")
        raw = item.get("value", "")
        if not isinstance(raw, str):
            raise ValueError(f"{where}.value must be a string")
        force = item.get("forceString", False)
        if not isinstance(force, bool):
            raise ValueError(f"{where}.forceString must be true or false")
        out.append(HelmParameter(item["name"], raw, force))
    return out
