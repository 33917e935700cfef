"""``discover``: does an app directory hold secrets Lockstep handles (SOPS files, SealedSecrets,
ExternalSecrets)?

Argo CD uses the plugin for an Application when the ``find`` command exits 0 *and* prints something, so
this prints one line per matching file and nothing otherwise. Files are recognised from their text (no
YAML parsing: discovery runs for every Application of every repository and must stay cheap); symlinks,
special files, hidden directories and files over the read limit are skipped, never followed.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
SOPS_SUFFIXES = (*MANIFEST_SUFFIXES, ".env", ".ini")
MAX_FILES = 20_000  # a bigger app directory is reported as an error rather than walked for minutes
_SOPS_VALUE = "ENC[AES256_GCM,data:"
_SOPS_METADATA = re.compile(r'^sops:|"sops"\s*:|^sops_mac=|^\[sops\]', re.MULTILINE)
_KINDS = "SealedSecret|ExternalSecret|ClusterExternalSecret"
_KIND = re.compile(  # YAML (a line of its own) or JSON (anywhere)
    r"^[\s-]*[\"']?kind[\"']?\s*:\s*[\"']?(" + _KINDS + r")[\"']?\s*$"
    r"|\"kind\"\s*:\s*\"(" + _KINDS + r")\"",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Found:
    path: str  # relative to the app directory, POSIX
    kind: str  # "sops", "SealedSecret", "ExternalSecret", "ClusterExternalSecret"


class DiscoverError(Exception):
    pass


def classify(name: str, text: str) -> list[str]:
    """What ``text`` (the content of file ``name``) holds that Lockstep handles (pure)."""
    kinds: list[str] = []
    suffix = Path(name).suffix.lower()
    if suffix in SOPS_SUFFIXES and _SOPS_VALUE in text and _SOPS_METADATA.search(text):
        kinds.append("sops")
    if suffix in MANIFEST_SUFFIXES:
        kinds += sorted({m.group(1) or m.group(2) for m in _KIND.finditer(text)})
    return kinds


def find_secrets(app_dir: Path, limit: int) -> list[Found]:
    """Every file under ``app_dir`` holding something Lockstep handles, in path order."""
    found: list[Found] = []
    seen = 0
    for directory, subdirs, files in os.walk(app_dir, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            seen += 1
            if seen > MAX_FILES:
                raise DiscoverError(f"{app_dir}: more than {MAX_FILES} files; not a single application")
            if not name.lower().endswith(SOPS_SUFFIXES) or name.startswith("."):
                continue
            path = Path(directory) / name
            text = _read(path, limit)
            if text is None:
                continue
            rel = path.relative_to(app_dir).as_posix()
            found += [Found(rel, kind) for kind in classify(name, text)]
    return found


def _read(path: Path, limit: int) -> str | None:
    """The file's text when it is a regular file (not a symlink) within ``limit``; else ``None``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return None  # a symlink (O_NOFOLLOW), or unreadable: not ours to judge here
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        return handle.read(limit).decode("utf-8", "replace")
