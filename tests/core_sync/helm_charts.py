"""A small Helm chart for the chart-source tests (a vendored dependency, a CRD, a Secret) and a watcher
that proves no file is written while a chart with encrypted values renders."""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core_sync.testing import binaries
from core_sync.testing.oracles import sops_encrypt
from tests.core_sync.test_application_more import CRD

CHART = {
    "Chart.yaml": """\
        apiVersion: v2
        name: web
        version: 0.1.0
        dependencies:
          - name: sub
            version: 0.1.0
        """,
    "values.yaml": """\
        greeting: hello
        db:
          password: unset
        sub:
          color: blue
        """,
    "templates/config.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-config
        data:
          greeting: {{ .Values.greeting | quote }}
          kube: {{ .Capabilities.KubeVersion.Version | quote }}
          namespace: {{ .Release.Namespace | quote }}
          replicas: {{ .Values.replicas | default 1 | quote }}
          lockstepApi: {{ .Capabilities.APIVersions.Has "lockstep.dev/v1alpha1" | quote }}
        """,
    "templates/secret.yaml": """\
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{ .Release.Name }}-db
        stringData:
          password: {{ .Values.db.password | quote }}
        """,
    "templates/extra.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-extra
        data:
          kept: "until the template is removed"
        """,
    "crds/widgets.yaml": CRD,
    "charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    "charts/sub/values.yaml": "color: red\n",
    "charts/sub/templates/cm.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-sub
        data:
          color: {{ .Values.color | quote }}
        """,
}


def chart_files(prefix: str = "", *, crds: bool = True) -> dict[str, str]:
    """The chart's files under ``prefix`` (a directory in a repository), dedented."""
    import textwrap

    return {
        f"{prefix}{path}": textwrap.dedent(text)
        for path, text in CHART.items()
        if crds or not path.startswith("crds/")
    }


def write_chart(root: Path, *, crds: bool = True) -> Path:
    for rel, text in chart_files(crds=crds).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def encrypted_values(tmp_path: Path, recipient: str, plain: str) -> str:
    """``plain`` (a values file) encrypted by the real sops for ``recipient``, every value encrypted."""
    source = tmp_path / "plain-values.yaml"
    source.write_text(plain)
    try:
        return sops_encrypt(source, recipient, encrypted_regex="^(password|token)$")
    finally:
        source.unlink()


def helm_env(base: dict[str, str]) -> dict[str, str]:
    return {**base, "LOCKSTEP_HELM": str(binaries.helm())}


_IN_MODIFY, _IN_CLOSE_WRITE, _IN_MOVED_TO, _IN_CREATE = 0x2, 0x8, 0x80, 0x100
_EVENT = struct.Struct("iIII")


@contextmanager
def no_files_written(*roots: Path) -> Iterator[list[str]]:
    """Watch every directory under ``roots`` with inotify; the yielded list receives, on exit, every file
    created, written or moved in while the block ran (so a temp file deleted again is still caught)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK)
    assert fd >= 0, f"inotify_init1 failed: errno {ctypes.get_errno()}"
    watches: dict[int, Path] = {}
    mask = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE
    for root in roots:
        for directory in [root, *(p for p in root.rglob("*") if p.is_dir() and not p.is_symlink())]:
            wd = libc.inotify_add_watch(fd, str(directory).encode(), mask)
            assert wd >= 0, f"inotify_add_watch({directory}) failed: errno {ctypes.get_errno()}"
            watches[wd] = directory
    seen: list[str] = []
    try:
        yield seen
    finally:
        try:
            while True:
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    break
                offset = 0
                while offset < len(data):
                    wd, _, _, length = _EVENT.unpack_from(data, offset)
                    name = data[offset + _EVENT.size : offset + _EVENT.size + length].rstrip(b"\0")
                    seen.append(str(watches.get(wd, Path("?")) / name.decode(errors="replace")))
                    offset += _EVENT.size + length
        finally:
            os.close(fd)
