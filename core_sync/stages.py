"""The render-stage protocol and the ordered pipeline.

A stage takes the objects built from Git and returns them transformed (a SealedSecret becomes the Secret it
seals, a SOPS document is decrypted, ...), plus diagnostics. Stages register under the ``lockstep.stages``
entry-point group, so a new stage plugs in without the engine importing it. Order: ``sops``, ``sealed``,
``external``, then any other stage by name.

One failure rule: if any stage reports an error for any object, the pipeline raises :class:`RenderFailed`
and the engine applies nothing and prunes nothing.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from core_sync.kube import KubeClient

KubeObject = dict[str, Any]
ENTRY_POINT_GROUP = "lockstep.stages"
BUILTIN_ORDER = ("sops", "sealed", "external")


def object_ref(obj: Mapping[str, Any], source: str | None = None) -> str:
    """``Kind/namespace/name`` (plus the file it came from): how errors name an object."""
    meta = obj.get("metadata") or {}
    ref = "/".join(
        p for p in (str(obj.get("kind", "?")), meta.get("namespace"), str(meta.get("name", "?"))) if p
    )
    return f"{ref} ({source})" if source else ref


@dataclass(frozen=True)
class Diagnostic:
    """What a stage says about one object; ``error`` stops the revision from being applied."""

    level: Literal["error", "warning", "info"]
    object: str
    message: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.object}: {self.message}"


@dataclass
class StageResult:
    """A stage's output. ``secret_ids`` holds the ``id`` of every returned object that carries plaintext
    the stage decrypted or fetched (a SOPS-encrypted ConfigMap as much as a Secret): such objects are
    masked in render/diff output, feed the message redactor and get no digest annotation."""

    objects: list[KubeObject]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    secret_ids: set[int] = field(default_factory=set)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "error"]


class DeadlineExceeded(TimeoutError):
    """The reconcile's deadline passed while a stage was working."""


@dataclass
class StageContext:
    """What a stage may use: where the objects go, cluster access, decryption settings, a deadline.

    ``decryption`` is the Application's ``spec.decryption`` as written (each stage reads its own key);
    ``read_secret(name)`` returns a Secret's decoded data from the Application's namespace.
    ``client`` reads as the Application's identity (its impersonated ServiceAccount, if any), so a stage
    cannot read for a tenant what the tenant may not; ``operator_client`` (when set) is the operator's own
    identity, only for what belongs to the operator itself (the sealing keys).
    """

    namespace: str
    application: str | None = None
    client: KubeClient | None = None
    operator_client: KubeClient | None = None
    decryption: Mapping[str, Any] = field(default_factory=dict)
    read_secret: Callable[[str], dict[str, bytes]] | None = None
    deadline: float | None = None
    sources: Mapping[int, str] = field(default_factory=dict)  # id(obj) -> file it came from
    files: Mapping[int, str] = field(default_factory=dict)  # id(obj) -> that file's whole text (plain builds)
    # (path, text) of every manifest file under the checkout root, read when called: where a stage finds
    # an object's original document after kustomize re-ordered its keys (core_sync.build.manifest_texts)
    source_files: Callable[[], Iterable[tuple[str, str]]] | None = None
    # The user's own keys (sops' environment variables and default key file) may be used: only when the
    # user runs the CLI, never in the operator, whose environment belongs to no tenant.
    local_identities: bool = False
    # Where those keys are looked up, for the no-identity message ("the sidecar's environment"); empty: the
    # CLI user's own environment, where the message also offers the default key file and --sops-secret.
    local_identities_from: str = ""
    secret_ids: set[int] = field(default_factory=set)  # filled by the pipeline: see StageResult.secret_ids

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlineExceeded("render deadline exceeded")

    def source_of(self, obj: Mapping[str, Any]) -> str | None:
        return self.sources.get(id(obj))

    def file_text(self, obj: Mapping[str, Any]) -> str | None:
        """The text of the file ``obj`` was read from, when it came straight from a file.

        Why: some formats must be read from the original bytes (SOPS verifies its MAC over the file as
        its own YAML reader sees it, across every document of the file).
        """
        return self.files.get(id(obj))

    def ref(self, obj: Mapping[str, Any]) -> str:
        return object_ref(obj, self.source_of(obj))


@runtime_checkable
class Stage(Protocol):
    """A render stage. ``name`` orders it and names it in diagnostics."""

    name: str

    def render(self, objects: Sequence[KubeObject], context: StageContext) -> StageResult: ...


@dataclass(frozen=True)
class DecryptedFile:
    """A whole file a stage decrypted in memory: its plaintext, and the values that were encrypted in it
    (what error messages must never show)."""

    plaintext: bytes
    secrets: list[bytes] = field(default_factory=list)


class FileDecryptFailed(Exception):
    """A file in a stage's format that could not be decrypted; the message names the file and why."""


@runtime_checkable
class FileDecryptor(Protocol):
    """A stage that can also decrypt a whole file, not only objects: a Helm values file, say.

    Why on the stage: the identities are the stage's (``spec.decryption``, the CLI user's keys), and the
    engine finds stages through entry points without importing their packages. ``decrypt_file`` returns
    ``None`` for a file that is not in its format, raises :class:`FileDecryptFailed` for one it cannot
    decrypt; the plaintext stays in memory.
    """

    name: str

    def decrypt_file(self, data: bytes, source: str, context: StageContext) -> DecryptedFile | None: ...


def decrypt_file(
    stages: Sequence[Stage], data: bytes, source: str, context: StageContext
) -> DecryptedFile | None:
    """``data`` decrypted by the first stage whose format it is in; ``None`` when none claims it."""
    for stage in stages:
        if isinstance(stage, FileDecryptor):
            decrypted = stage.decrypt_file(data, source, context)
            if decrypted is not None:
                return decrypted
    return None


class RenderFailed(RuntimeError):
    """A stage reported errors; nothing from this revision may be applied. ``secret_material`` is the
    plaintext known so far (for redacting the messages)."""

    def __init__(
        self, stage: str, diagnostics: Sequence[Diagnostic], secret_material: Sequence[bytes] = ()
    ) -> None:
        self.stage = stage
        self.secret_material = list(secret_material)
        self.diagnostics = list(diagnostics)
        summary = "; ".join(str(d) for d in self.diagnostics[:5])
        more = f" (+{len(self.diagnostics) - 5} more)" if len(self.diagnostics) > 5 else ""
        super().__init__(f"render stage {stage!r} failed: {summary}{more}")


def _order_key(stage: Stage) -> tuple[int, str]:
    try:
        return (BUILTIN_ORDER.index(stage.name), stage.name)
    except ValueError:
        return (len(BUILTIN_ORDER), stage.name)


def discover_stages(enabled: Sequence[str] | None = None) -> list[Stage]:
    """Load every stage registered under ``lockstep.stages`` (optionally only ``enabled`` names), in order.

    Fresh stage objects each call; the entry points are scanned once per process (the scan reads every
    installed distribution's metadata, ~20 ms, which the operator would pay on every reconcile).
    """
    stages: list[Stage] = []
    for entry in _stage_entry_points():
        if enabled is not None and entry.name not in enabled:
            continue
        factory = entry.load()
        stage = factory()
        if not isinstance(stage, Stage):
            raise TypeError(f"entry point {entry.value} did not produce a render stage")
        stages.append(stage)
    return sorted(stages, key=_order_key)


@functools.cache
def _stage_entry_points() -> tuple[EntryPoint, ...]:
    from importlib.metadata import entry_points

    return tuple(entry_points(group=ENTRY_POINT_GROUP))


@dataclass
class Pipeline:
    """The ordered stages; ``run`` returns the final objects and every non-error diagnostic."""

    stages: Sequence[Stage]

    def run(
        self, objects: Sequence[KubeObject], context: StageContext, secret_ids: Collection[int] = ()
    ) -> StageResult:
        """Run the stages in order. Secret marks follow the objects: by identity, and by
        ``apiVersion``/``kind``/namespace/name when a later stage (a plugin, say) returns a copy.
        ``secret_ids`` marks input objects that already carry secrets (a chart rendered with decrypted
        values)."""
        from core_sync.redaction import secret_values

        current = list(objects)
        notes: list[Diagnostic] = []
        marked: set[int] = set(secret_ids)
        marked_keys: set[tuple[str, ...]] = {_identity(o) for o in current if id(o) in marked}
        for stage in sorted(self.stages, key=_order_key):
            context.check_deadline()
            result = stage.render(current, context)
            marked_keys |= {_identity(o) for o in result.objects if id(o) in result.secret_ids}
            known = marked | result.secret_ids
            if result.errors:
                material = [
                    value
                    for obj in [*current, *result.objects]
                    for value in secret_values(obj, secret_bearing=id(obj) in known)
                ]
                raise RenderFailed(stage.name, result.errors, material)
            marked = {
                id(o)
                for o in result.objects
                if id(o) in known or (marked_keys and _identity(o) in marked_keys)
            }
            notes += result.diagnostics
            current = result.objects
        return StageResult(current, notes, marked)


def _identity(obj: Mapping[str, Any]) -> tuple[str, ...]:
    meta = obj.get("metadata") or {}
    return tuple(
        str(v) for v in (obj.get("apiVersion"), obj.get("kind"), meta.get("namespace"), meta.get("name"))
    )
