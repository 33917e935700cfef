"""What Argo CD's cmp-server hands a plugin command, read and checked (pure: a mapping in, a value out).

The cmp-server runs ``generate`` in the application's source directory with the sidecar's environment plus
the build environment (``ARGOCD_APP_NAME``, ``ARGOCD_APP_NAMESPACE``, ``ARGOCD_APP_SOURCE_PATH``,
``ARGOCD_APP_REVISION``, ``KUBE_VERSION``, ...), the Application's ``plugin.env`` prefixed ``ARGOCD_ENV_``,
and its ``plugin.parameters`` twice: as JSON in ``ARGOCD_APP_PARAMETERS`` and as ``PARAM_<NAME>`` variables
(arrays ``PARAM_<NAME>_<i>``, maps ``PARAM_<NAME>_<KEY>``). A malformed value is an error naming the
variable, never a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

ParameterValue = str | list[str] | dict[str, str]

MAX_PARAMETERS_BYTES = 256 * 1024
DEFAULT_EXEC_TIMEOUT = 90.0  # the cmp-server's ARGOCD_EXEC_TIMEOUT default
SCOPES = ("strict", "namespace-wide", "cluster-wide")
# Parameters this plugin announces (plugin.yaml spec.parameters.static) and reads.
SEALING_SCOPE = "sealing-scope"
KNOWN_PARAMETERS = (SEALING_SCOPE,)


class ArgoEnvironmentError(ValueError):
    """A variable the cmp-server set (or the user set through the Application) that cannot be used."""


@dataclass(frozen=True)
class ArgoEnvironment:
    app_name: str = ""
    namespace: str = ""  # ARGOCD_APP_NAMESPACE: the Application's destination namespace
    source_path: str = ""  # ARGOCD_APP_SOURCE_PATH: the app directory inside the repository
    revision: str = ""
    kube_version: str = ""
    exec_timeout: float = DEFAULT_EXEC_TIMEOUT
    parameters: dict[str, ParameterValue] = field(default_factory=dict)
    user_env: dict[str, str] = field(default_factory=dict)  # ARGOCD_ENV_* without the prefix

    @property
    def sealing_scope(self) -> str:
        value = self.parameters.get(SEALING_SCOPE, "strict")
        if not isinstance(value, str) or value not in SCOPES:
            raise ArgoEnvironmentError(
                f"parameter {SEALING_SCOPE}: expected one of {', '.join(SCOPES)}, got {value!r}"
            )
        return value

    def unknown_parameters(self) -> list[str]:
        return sorted(name for name in self.parameters if name not in KNOWN_PARAMETERS)


def from_environ(environ: Mapping[str, str]) -> ArgoEnvironment:
    """The cmp-server's variables; raises :class:`ArgoEnvironmentError` naming the variable."""
    from gocompat.duration import parse_strict

    raw_timeout = environ.get("ARGOCD_EXEC_TIMEOUT", "")
    try:
        timeout = parse_strict(raw_timeout, DEFAULT_EXEC_TIMEOUT) if raw_timeout else DEFAULT_EXEC_TIMEOUT
    except ValueError as invalid:
        raise ArgoEnvironmentError(f"ARGOCD_EXEC_TIMEOUT: {invalid}") from None
    if timeout <= 0:
        raise ArgoEnvironmentError(f"ARGOCD_EXEC_TIMEOUT {raw_timeout!r} must be positive")
    return ArgoEnvironment(
        app_name=environ.get("ARGOCD_APP_NAME", ""),
        namespace=environ.get("ARGOCD_APP_NAMESPACE", ""),
        source_path=environ.get("ARGOCD_APP_SOURCE_PATH", ""),
        revision=environ.get("ARGOCD_APP_REVISION", ""),
        kube_version=environ.get("KUBE_VERSION", ""),
        exec_timeout=timeout,
        parameters=parameters(environ),
        user_env={
            k.removeprefix("ARGOCD_ENV_"): v for k, v in environ.items() if k.startswith("ARGOCD_ENV_")
        },
    )


def parameters(environ: Mapping[str, str]) -> dict[str, ParameterValue]:
    """``ARGOCD_APP_PARAMETERS`` when set (the JSON is the source of truth), else the known parameters
    from their ``PARAM_*`` variables (an older Argo CD, or a hand-run command)."""
    text = environ.get("ARGOCD_APP_PARAMETERS")
    if text is None or not text.strip():
        return _from_param_variables(environ)
    if len(text.encode()) > MAX_PARAMETERS_BYTES:
        raise ArgoEnvironmentError(f"ARGOCD_APP_PARAMETERS is over the limit of {MAX_PARAMETERS_BYTES} bytes")
    from gocompat.limits import LimitExceeded, load_json

    try:
        items = load_json(text)
    except (ValueError, LimitExceeded) as invalid:
        first = str(invalid).splitlines()[0] if str(invalid) else type(invalid).__name__
        raise ArgoEnvironmentError(f"ARGOCD_APP_PARAMETERS: not valid JSON: {first}") from None
    if not isinstance(items, list):
        raise ArgoEnvironmentError("ARGOCD_APP_PARAMETERS: expected a JSON list of parameters")
    out: dict[str, ParameterValue] = {}
    for index, item in enumerate(items):
        where = f"ARGOCD_APP_PARAMETERS[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ArgoEnvironmentError(f"{where}: expected an object with a non-empty string 'name'")
        out[item["name"]] = _value(item, f"{where} ({item['name']})")
    return out


def _value(item: Mapping[str, object], where: str) -> ParameterValue:
    if "map" in item and item["map"] is not None:
        value = item["map"]
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ArgoEnvironmentError(f"{where}: 'map' must map names to strings")
        return {str(k): str(v) for k, v in value.items()}
    if "array" in item and item["array"] is not None:
        value = item["array"]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ArgoEnvironmentError(f"{where}: 'array' must be a list of strings")
        return [str(v) for v in value]
    value = item.get("string", "")
    if not isinstance(value, str):
        raise ArgoEnvironmentError(f"{where}: 'string' must be a string")
    return value


def param_variable(name: str) -> str:
    """Argo CD's ``PARAM_`` name for a parameter: upper case, every other character than A-Z0-9 as ``_``."""
    return "PARAM_" + re.sub(r"[^A-Z0-9_]", "_", name.upper())


def _from_param_variables(environ: Mapping[str, str]) -> dict[str, ParameterValue]:
    out: dict[str, ParameterValue] = {}
    for name in KNOWN_PARAMETERS:
        value = environ.get(param_variable(name))
        if value is not None:
            out[name] = value
    return out


def repository_root(app_dir: str, source_path: str) -> str:
    """The directory the cmp-server unpacked the repository into: ``app_dir`` minus ``source_path``.

    Why: an overlay names ``../base``; reads are confined to the repository, not to the app directory.
    When the path does not end with ``source_path`` (a hand-run command), the app directory itself.
    """
    parts = [p for p in PurePosixPath(source_path).parts if p not in (".", "/")]
    if not parts or ".." in parts:
        return app_dir
    app = PurePosixPath(app_dir)
    if len(app.parts) > len(parts) and list(app.parts[-len(parts) :]) == parts:
        return str(PurePosixPath(*app.parts[: -len(parts)]))
    return app_dir
