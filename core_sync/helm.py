"""Render a Helm chart with the real ``helm template``: the chart source of the engine (an edge: runs helm).

Why the binary and not a re-implementation: charts depend on every detail of Helm's template engine,
Sprig and its value merging. What Lockstep adds around it:

- confinement: the chart tree (hidden files included, symlinked directories followed) and every values
  file must stay inside the source root, checked before helm reads anything (:mod:`core_sync.confine`);
- values files are read by Lockstep (regular files, size limit) and handed to helm through pipes
  (``--values /dev/fd/N``), so an encrypted one is decrypted in memory by the render stage that knows
  its format (:class:`core_sync.stages.FileDecryptor`) and its plaintext never touches disk;
- helm runs without the caller's ``HELM_*``/``KUBECONFIG`` environment, within a deadline, its output
  capped and parsed by the engine's limited YAML loader (:func:`core_sync.build.parse_documents`);
- a failure is a :class:`~core_sync.build.BuildError` naming the chart, its message redacted.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core_sync import confine
from core_sync.build import BuildError, BuiltObject, check_duplicates, find_tool, parse_documents
from core_sync.helm_settings import HelmSettings
from core_sync.redaction import Redactor
from core_sync.stages import DecryptedFile, FileDecryptFailed
from gocompat import limits

CHART_FILE = "Chart.yaml"
HELM_TIMEOUT = 120.0
MAX_STDERR_BYTES = 64 * 1024
HELM_MEMORY_BYTES = 2 * 2**30  # address space; helm renders large charts in a few hundred MiB
_OUT_OF_MEMORY = re.compile(rb"fatal error: (runtime: )?out of memory")  # Go's words for it
INSTALL_HINT = (
    "a Helm chart needs it: install Helm 3 (https://helm.sh/docs/intro/install/), "
    "or pass --helm PATH / set LOCKSTEP_HELM"
)
# The environment helm keeps: never the caller's HELM_* (HELM_DEBUG prints values), KUBECONFIG or secrets.
_KEPT_ENV = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL")
_SOURCE = re.compile(r"\A\s*# Source: (.+)")
_PIPE = re.compile(r"/dev/fd/[0-9]+")
_DOCUMENT_START = re.compile(r"(?m)^---[ \t]*$\n?")

Decrypt = Callable[[bytes, str], DecryptedFile | None]


class HelmNotFound(BuildError):
    """No helm binary to render a chart with."""


class ValuesDecryptFailed(BuildError):
    """An encrypted values file that could not be decrypted (``DecryptFailed``, as for an object)."""


@dataclass
class RenderedChart:
    """The chart's objects, and the plaintext of every encrypted value they were rendered with."""

    objects: list[BuiltObject]
    secrets: list[bytes]


def is_chart(directory: Path) -> bool:
    """Whether ``directory`` holds a chart (``Chart.yaml``, a symlink to one included: checked later)."""
    return directory.is_dir() and os.path.lexists(directory / CHART_FILE)


def find_helm(override: str | None = None) -> Path:
    """``--helm``, else ``$LOCKSTEP_HELM``, else the ``helm`` beside this interpreter, else PATH."""
    overrides = [("--helm", override), ("LOCKSTEP_HELM", os.environ.get("LOCKSTEP_HELM"))]
    return find_tool("helm", overrides, HelmNotFound, INSTALL_HINT)


def render_chart(
    directory: Path,
    fence: Path,
    settings: HelmSettings,
    namespace: str,
    *,
    decrypt: Decrypt,
    deadline: float | None = None,
) -> RenderedChart:
    """``helm template`` of the chart in ``directory`` (inside ``fence``, resolved), as built objects.

    Raises :class:`BuildError` (never a traceback) for a chart or values file outside the root, a
    missing helm, a values file that cannot be read or decrypted, a template error or bad output;
    every message passes through a redactor knowing the decrypted values.
    """
    try:
        return _render(directory, fence, settings, namespace, decrypt, deadline)
    except confine.ConfinementError as error:
        raise BuildError(error.path, error.reason) from None


def _render(
    directory: Path,
    fence: Path,
    settings: HelmSettings,
    namespace: str,
    decrypt: Decrypt,
    deadline: float | None,
) -> RenderedChart:
    chart_dir = confine.resolve(directory.absolute(), fence)
    where = confine.relative(chart_dir / CHART_FILE, fence)
    confine.read_file(chart_dir / CHART_FILE, fence)  # a regular file inside the root, or refused
    confine.check_followed_tree(chart_dir, fence)
    documents, secrets = _values(chart_dir, fence, settings, decrypt)
    redactor = Redactor(secrets)
    helm = find_helm(settings.binary)
    timeout = HELM_TIMEOUT if deadline is None else max(0.1, min(HELM_TIMEOUT, deadline - time.monotonic()))
    try:
        code, out, err, names = _run(helm, settings, str(chart_dir), namespace, documents, timeout)
    except _Failed as failed:
        raise BuildError(where, redactor.redact(str(failed))) from None
    if code != 0:
        message = _stderr(err, names, chart_dir)
        raise BuildError(where, redactor.redact(f"helm template failed: {message}"))
    try:
        objects = parse_output(out.decode("utf-8", errors="replace"), where)
    except BuildError as error:
        raise BuildError(error.path, redactor.redact(error.reason)) from None
    check_duplicates(objects, namespace)
    return RenderedChart(objects, secrets)


def _values(
    chart_dir: Path, fence: Path, settings: HelmSettings, decrypt: Decrypt
) -> tuple[list[tuple[str, bytes]], list[bytes]]:
    """Each values document helm gets, named as the user knows it, in order; and the decrypted secrets."""
    documents: list[tuple[str, bytes]] = []
    secrets: list[bytes] = []
    for entry in settings.values_files:
        path = chart_dir / entry  # an absolute path (named on the command line) stays as it is
        rel = confine.relative(path, fence)
        real = confine.resolve(path, fence)
        if not os.path.lexists(real):
            if settings.ignore_missing_values_files:
                continue
            raise BuildError(rel, "values file does not exist")
        data = confine.read_file(path, fence)
        try:
            decrypted = decrypt(data, rel)
        except FileDecryptFailed as failed:
            raise ValuesDecryptFailed(rel, str(failed)) from None
        if decrypted is not None:
            data = decrypted.plaintext
            secrets += decrypted.secrets
        elif _carries_sops_metadata(data):  # never hand helm ciphertext as if it were the values
            problem = "is SOPS-encrypted but no render stage decrypts SOPS files (is sops_plugin installed?)"
            raise ValuesDecryptFailed(rel, problem)
        documents.append((rel, data))
    documents += [("inline values", text.encode()) for text in settings.inline_values]
    return documents, secrets


def _carries_sops_metadata(data: bytes) -> bool:
    """A top-level ``sops`` mapping with a MAC: what every SOPS-encrypted YAML/JSON file has."""
    if b"sops" not in data:
        return False
    try:
        doc = limits.safe_load(data.decode("utf-8"))
    except Exception:  # not YAML: helm reports it
        return False
    meta = doc.get("sops") if isinstance(doc, dict) else None
    return isinstance(meta, dict) and "mac" in meta


class _Failed(Exception):
    """helm could not be run, or did not finish in time, or said too much."""


def _run(
    helm: Path,
    settings: HelmSettings,
    chart: str,
    namespace: str,
    documents: Sequence[tuple[str, bytes]],
    timeout: float,
) -> tuple[int, bytes, bytes, dict[str, str]]:
    """Run helm with each values document on a pipe of its own; (exit code, stdout, stderr, pipe names).

    Each pipe is written by its own thread, so a document larger than a pipe's buffer cannot block helm
    reading another; the plaintext exists only in this process's memory and the pipes.
    """
    pipes = [os.pipe() for _ in documents]
    names = {f"/dev/fd/{read}": name for (read, _), (name, _) in zip(pipes, documents, strict=True)}
    argv = [str(helm), *settings.arguments(chart, namespace, list(names))]
    env = {key: os.environ[key] for key in _KEPT_ENV if key in os.environ}
    # Go's collector works harder near this soft limit, so churn stays under the hard cap (_limit_memory)
    env["GOMEMLIMIT"] = f"{HELM_MEMORY_BYTES * 3 // 4 // 2**20}MiB"
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=[read for read, _ in pipes],
            env=env,
            cwd=chart,
        )
    except OSError as exc:
        for read, write in pipes:
            os.close(read)
            os.close(write)
        raise _Failed(f"cannot run {helm}: {exc.strerror}") from None
    _limit_memory(proc.pid)
    writers = []
    for (read, write), (_, data) in zip(pipes, documents, strict=True):
        os.close(read)
        writers.append(threading.Thread(target=_feed, args=(write, data), daemon=True))
        writers[-1].start()
    assert proc.stdout is not None and proc.stderr is not None
    out = _Capture(proc.stdout, limits.MAX_FILE_BYTES, proc)
    err = _Capture(proc.stderr, MAX_STDERR_BYTES, None)  # the head: helm's "Error: ..." comes first
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise _Failed(f"helm template did not finish within {timeout:g}s") from None
    finally:
        for thread in (*writers, out.thread, err.thread):
            thread.join(5)
    if out.overflow:
        raise _Failed(f"helm template printed more than {limits.MAX_FILE_BYTES} bytes")
    if proc.returncode != 0 and _OUT_OF_MEMORY.search(err.data()):
        raise _Failed(f"helm template ran out of memory (limit {HELM_MEMORY_BYTES // 2**30} GiB)")
    return proc.returncode, out.data(), err.data(), names


def _limit_memory(pid: int) -> None:
    """Cap helm's address space, so a chart that allocates without bound (``until 1000000000``) makes
    helm fail fast instead of exhausting the operator's node. Set right after start (``preexec_fn`` is
    unsafe in a threaded process); where the platform does not enforce it, the timeout still holds."""
    try:
        import resource

        resource.prlimit(pid, resource.RLIMIT_AS, (HELM_MEMORY_BYTES, HELM_MEMORY_BYTES))
    except (ImportError, AttributeError, OSError, ValueError):
        pass


def _feed(fd: int, data: bytes) -> None:
    """Write one values document to its pipe; helm exiting early (a template error) closes the pipe."""
    try:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(data)
    except BrokenPipeError:
        pass


class _Capture:
    """Read a stream on a thread, keeping its first ``limit`` bytes; with ``proc``, going over the limit
    kills it (a chart printing gigabytes is refused, not buffered), else the rest is read and dropped."""

    def __init__(self, stream: IO[bytes], limit: int, proc: subprocess.Popen[bytes] | None) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.overflow = False
        self.limit, self.proc, self.stream = limit, proc, stream
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with self.stream:
            while chunk := self.stream.read(65536):
                if self.size + len(chunk) <= self.limit:
                    self.chunks.append(chunk)
                    self.size += len(chunk)
                elif self.proc is not None:
                    self.overflow = True
                    self.proc.kill()
                    return
                elif self.size < self.limit:
                    self.chunks.append(chunk[: self.limit - self.size])
                    self.size = self.limit

    def data(self) -> bytes:
        return b"".join(self.chunks)


def _stderr(err: bytes, names: dict[str, str], chart_dir: Path) -> str:
    """helm's message with the pipes named as the values files they carry and the chart path relative."""
    text = err.decode("utf-8", errors="replace").strip()
    text = _PIPE.sub(lambda m: names.get(m.group(0), m.group(0)), text)
    text = text.replace(str(chart_dir) + os.sep, "").replace(str(chart_dir), ".")
    return text.removeprefix("Error: ") or "no error output"


def parse_output(text: str, where: str) -> list[BuiltObject]:
    """helm's manifest stream → objects, each named by the template it came from (``# Source:``)."""
    limits.check_size(len(text), "helm template output")
    objects: list[BuiltObject] = []
    counts: dict[str, int] = {}
    for chunk in _DOCUMENT_START.split(text):
        if not chunk.strip():
            continue
        match = _SOURCE.match(chunk)
        source = match.group(1).strip() if match else where
        for built in parse_documents(chunk, source):
            index = counts.get(source, 0)
            counts[source] = index + 1
            objects.append(BuiltObject(built.obj, source, index))
    return objects
