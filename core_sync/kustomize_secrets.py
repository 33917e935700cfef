"""The secret values a kustomization declares in ``secretGenerator``: literals and ``envs`` files.

Why: when ``kubectl kustomize`` fails it may echo a literal it could not parse (``invalid literal
source ...``), and that text becomes an error line, a status message and an Event. The build's error
is redacted with these values (:mod:`core_sync.redaction`). Only read after a failed build, through
the same confined reader and limited YAML loader the build uses (:mod:`core_sync.confine`,
:mod:`gocompat.limits`): anything unreadable or over a limit contributes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core_sync import confine
from core_sync.kustomize_refs import KUSTOMIZATION_FILES
from gocompat import limits

MAX_KUSTOMIZATIONS = 1000


def generator_secrets(root: Path) -> list[str]:
    """Every ``secretGenerator`` literal (whole, and its value) and ``envs`` line value under ``root``."""
    fence = root.resolve()
    found: list[str] = []
    for kfile in _kustomizations(fence):
        doc = _load(kfile, fence)
        generators = doc.get("secretGenerator") if isinstance(doc, dict) else None
        for generator in generators if isinstance(generators, list) else []:
            if not isinstance(generator, dict):
                continue
            for literal in _strings(generator.get("literals")):
                found += [literal, literal.partition("=")[2]]
            for env in _strings(generator.get("envs")) + _strings(generator.get("env")):
                found += _env_values(kfile.parent / env, fence)
    return [value for value in found if value]


def _kustomizations(fence: Path) -> Iterator[Path]:
    count = 0
    for directory, subdirs, files in os.walk(fence):
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        for name in KUSTOMIZATION_FILES:
            if name in files:
                count += 1
                if count > MAX_KUSTOMIZATIONS:
                    return
                yield Path(directory) / name


def _load(path: Path, fence: Path) -> Any:
    import yaml

    text = _read(path, fence)
    try:
        return limits.safe_load(text) if text else None
    except (yaml.YAMLError, limits.LimitExceeded, RecursionError):
        return None


def _read(path: Path, fence: Path) -> str:
    try:
        return confine.read_file(path, fence).decode("utf-8", errors="replace")
    except confine.ConfinementError:
        return ""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if isinstance(v, str | int | float)] if isinstance(value, list) else []


def _env_values(path: Path, fence: Path) -> list[str]:
    lines = _read(path, fence).splitlines()
    return [line.strip() for line in lines] + [line.partition("=")[2].strip() for line in lines]
