"""One sync of one revision: build → render stages → plan (SSA dry-run) → apply in waves → prune → health.

Safety rules (DESIGN.md §1): a failed build, render or validation applies nothing and prunes nothing;
an empty desired set never prunes everything unless allowed; prune touches only objects this Application
tracks; failed deletes stay in the inventory. The engine is synchronous and side-effect free except
through :class:`core_sync.apply.Cluster`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core_sync import health as health_rules
from core_sync import inventory as inv
from core_sync.apply import UNREACHABLE_REASON, Cluster, ObjectError
from core_sync.build import BuildError, build, manifest_texts
from core_sync.confine import local_root, relative
from core_sync.helm import CHART_FILE, RenderedChart, ValuesDecryptFailed, is_chart, render_chart
from core_sync.helm_settings import HelmSettings, default_release_name
from core_sync.kube import ApiError, ApiUnreachable, KubeClient
from core_sync.kustomize_secrets import generator_secrets
from core_sync.masking import is_secret
from core_sync.ordering import OrderingError, crd_names_by_group_kind, kind_rank, plan_waves
from core_sync.plan import ObjectPlan, Plan, classify, fingerprinted, provably_unchanged
from core_sync.redaction import Redactor, one_line, secret_values
from core_sync.stages import (
    KubeObject,
    Pipeline,
    RenderFailed,
    Stage,
    StageContext,
    decrypt_file,
    discover_stages,
    object_ref,
)

HEALTH_POLL_S = 1.0


class SyncFailed(RuntimeError):
    """The revision was not (fully) applied. ``reason`` is a Flux-style condition reason."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        revision: str = "",
        inventory: Sequence[inv.InventoryEntry] | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.revision = revision
        self.inventory = list(inventory) if inventory is not None else None
        self.unreachable = unreachable  # the API server gave no answer: an outage, retried as one


def _unreachable(*errors: ObjectError | None) -> bool:
    """Whether one of the object errors is the API server not answering (not the object's fault)."""
    return any(error is not None and error.reason == UNREACHABLE_REASON for error in errors)


@dataclass
class SyncOptions:
    app: inv.AppRef
    namespace: str
    prune: bool = True
    allow_empty: bool = False
    wait: bool = False
    timeout: float = 300.0
    create_namespace: bool = False
    prune_last: bool = False
    decryption: Mapping[str, Any] = field(default_factory=dict)
    read_secret: Callable[[str], dict[str, bytes]] | None = None
    local_identities: bool = False  # see StageContext.local_identities: the CLI only
    # the Application's Project: why a placed object is not allowed (None: allowed); checked before any
    # dry-run, so a refused object means nothing is applied or pruned
    admit: Callable[[KubeObject], str | None] | None = None
    helm: HelmSettings | None = None  # how to render a chart (release name, values); see render_directory


@dataclass
class ResourceStatus:
    """One managed object in the Application status: sync status and health."""

    group: str
    version: str
    kind: str
    namespace: str
    name: str
    status: str
    health: str = ""
    message: str = ""

    @classmethod
    def of(cls, obj: Mapping[str, Any], status: str, health: str = "", message: str = "") -> ResourceStatus:
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        meta = obj.get("metadata") or {}
        return cls(
            group,
            version,
            str(obj.get("kind")),
            meta.get("namespace") or "",
            meta["name"],
            status,
            health,
            message,
        )

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


@dataclass
class SyncResult:
    revision: str
    inventory: list[inv.InventoryEntry]
    resources: list[ResourceStatus]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0
    healthy: bool = True
    health_message: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.pruned)

    def summary(self) -> str:
        counts = (
            (self.created, "created"),
            (self.updated, "configured"),
            (self.unchanged, "unchanged"),
            (self.pruned, "pruned"),
        )
        return ", ".join(f"{n} {label}" for n, label in counts)


def encode_desired(obj: KubeObject) -> bytes:
    """``obj`` as compact JSON (how :attr:`Engine.desired` keeps it)."""
    return json.dumps(obj, separators=(",", ":")).encode()


def decode_desired(raw: bytes) -> KubeObject:
    """An object of :attr:`Engine.desired`, a fresh dict each time."""
    decoded: KubeObject = json.loads(raw)
    return decoded


def render_directory(
    directory: Path,
    context: StageContext,
    stages: Sequence[Stage] | None = None,
    boundary: Path | None = None,
    helm: HelmSettings | None = None,
) -> list[KubeObject]:
    """Build ``directory`` and run every render stage; raises :class:`SyncFailed` (nothing is applied).

    ``boundary`` (the checkout root) is the root nothing read may leave; a local directory's default is
    the Git work tree holding it, else the directory itself (:func:`core_sync.confine.local_root`).
    A directory holding a ``Chart.yaml`` is rendered with ``helm template`` (``helm``: release name,
    values; default release name: the directory's name). Failure messages carry tool and stage output,
    so they pass through the revision's :class:`Redactor` (the generator literals of the
    kustomizations, the decrypted values of a chart, the secret values known when the stage failed). On
    success ``context.secret_ids`` holds the ids of the returned objects that carry secrets.
    """
    if boundary is None:
        boundary = local_root(directory) if directory.is_dir() else None
    pipeline = Pipeline(list(stages) if stages is not None else discover_stages())
    chart_secrets: list[bytes] = []
    try:
        if is_chart(directory):
            chart = _render_chart(directory, boundary or directory, context, pipeline.stages, helm)
            built, chart_secrets = chart.objects, chart.secrets
        else:
            if helm is not None and (helm.from_spec or helm.values_files):
                where = relative(directory.absolute(), boundary.resolve()) if boundary else str(directory)
                problem = f"Helm settings are given but there is no {CHART_FILE}: not a Helm chart"
                raise BuildError(where, problem)
            built = build(directory, boundary=boundary, namespace=context.namespace)
    except ValuesDecryptFailed as error:
        raise SyncFailed("DecryptFailed", one_line(str(error))) from error
    except BuildError as error:
        redactor = Redactor(generator_secrets(boundary or directory))
        raise SyncFailed("BuildFailed", redactor.redact(str(error))) from error
    objects = [b.obj for b in built]
    context.sources = {id(b.obj): b.source for b in built}
    context.files = {id(b.obj): b.text for b in built if b.text is not None}
    fence = (boundary or (directory if directory.is_dir() else directory.parent)).resolve()
    context.source_files = lambda: manifest_texts(fence)
    try:
        result = pipeline.run(objects, context, _mentioning(objects, chart_secrets))
    except RenderFailed as failed:
        reason = "DecryptFailed" if failed.stage == "sops" else "RenderFailed"
        redactor = Redactor([*failed.secret_material, *chart_secrets])
        raise SyncFailed(reason, redactor.redact(str(failed))) from failed
    context.secret_ids = result.secret_ids
    return result.objects


def _render_chart(
    directory: Path,
    boundary: Path,
    context: StageContext,
    stages: Sequence[Stage],
    settings: HelmSettings | None,
) -> RenderedChart:
    """``helm template`` of the chart, its encrypted values files decrypted by the stage of their format
    and the Kubernetes version the destination's API server reports (unless the settings name one)."""
    if settings is None:
        settings = HelmSettings(default_release_name(directory.absolute().name))
    version, api_versions = _server_capabilities(context.client)
    settings = replace(
        settings,
        kube_version=settings.kube_version or version,
        api_versions=tuple(dict.fromkeys([*settings.api_versions, *api_versions])),
    )
    return render_chart(
        directory,
        boundary.resolve(),
        settings,
        context.namespace,
        decrypt=lambda data, source: decrypt_file(stages, data, source, context),
        deadline=context.deadline,
    )


def _server_capabilities(client: KubeClient | None) -> tuple[str | None, list[str]]:
    """The destination's ``gitVersion`` (``--kube-version``) and its API group versions, CRDs' included
    (``--api-versions``, so ``.Capabilities.APIVersions.Has`` sees what the cluster serves, as in Argo
    CD). Without a cluster, or when it cannot be read, helm's defaults (the plan that follows reports an
    unreachable cluster)."""
    if client is None:
        return None, []
    try:
        version = client.get("/version").get("gitVersion")
        groups = client.get("/apis").get("groups") or []
    except (ApiError, ApiUnreachable, OSError, ValueError):
        return None, []
    api_versions = [
        str(v["groupVersion"])
        for group in groups
        if isinstance(group, Mapping)
        for v in group.get("versions") or []
        if isinstance(v, Mapping) and v.get("groupVersion")
    ]
    return (version if isinstance(version, str) and version else None), api_versions


def _mentioning(objects: Sequence[KubeObject], secrets: Sequence[bytes]) -> set[int]:
    """The objects rendered from decrypted values that hold one of them: treated as a secret stage's
    output (masked in render/diff, no digest, their values redacted from messages)."""
    if not secrets:
        return set()
    redactor = Redactor(secrets)
    return {id(o) for o in objects if redactor.mentions(json.dumps(o, ensure_ascii=False))}


def revision_redactor(objects: Sequence[KubeObject], secret_ids: Collection[int]) -> Redactor:
    """A redactor for every secret value of a rendered revision (gathered when first needed; it keeps
    only the objects that hold secrets alive, since the engine holds it until the next revision)."""
    holders = [(o, id(o) in secret_ids) for o in objects if id(o) in secret_ids or is_secret(o)]
    return Redactor(
        later=lambda: [v for o, bearing in holders for v in secret_values(o, secret_bearing=bearing)]
    )


@contextmanager
def redacted_failures(redactor: Redactor) -> Iterator[None]:
    """Let :class:`SyncFailed` out only with its message redacted (API errors may echo field values)."""
    try:
        yield
    except SyncFailed as failed:
        failed.message = redactor.redact(failed.message)
        failed.args = (failed.message,)
        raise


class Engine:
    """Plans and applies revisions for Applications; remembers what it applied to skip no-op dry-runs."""

    def __init__(self, cluster: Cluster, operator_client: KubeClient | None = None) -> None:
        self.cluster = cluster
        # the operator's own identity when ``cluster`` impersonates a tenant: stages read as the tenant
        # and use this only for the operator's own secrets (the sealing keys)
        self.operator_client = operator_client
        # object key -> the resourceVersion our last apply of it produced (what is not drift)
        self._applied: dict[inv.ObjectKey, str] = {}
        # the stamped, placed objects of the last applied revision, each JSON-encoded (what drift correction
        # re-applies): a fraction of their dicts' size, kept for every Application of a fleet; replaced by
        # each apply, never changed in place (a reader may keep the one it got)
        self.desired: Mapping[inv.ObjectKey, bytes] = {}
        self.redactor = Redactor()  # the secret values of the last rendered revision

    def is_own_write(self, key: inv.ObjectKey, live: Mapping[str, Any]) -> bool:
        """Whether ``live`` is exactly what our last apply of ``key`` left (so it is not drift)."""
        remembered = self._applied.get(key)
        return remembered is not None and remembered == (live.get("metadata") or {}).get("resourceVersion")

    def reapply(self, desired: KubeObject) -> bool:
        """Re-apply one object if the cluster drifted from it; ``False`` when the dry-run shows no drift.

        A failure's message is redacted: the API server may echo the object's values.
        """
        try:
            return self._reapply(desired)
        except ObjectError as error:
            raise ObjectError(error.ref, error.reason, self.redactor.redact(error.detail)) from None

    def _reapply(self, desired: KubeObject) -> bool:
        live = self.cluster.get(desired)
        predicted = self.cluster.dry_run(desired)
        if classify(live, predicted) == "unchanged":
            if live is not None:
                self._applied[inv.ObjectKey.of(desired)] = live["metadata"]["resourceVersion"]
            return False
        if live is not None:
            self.cluster.drop_foreign_edit_managers(live)
        applied = self.cluster.apply(desired)
        self._applied[inv.ObjectKey.of(desired)] = applied["metadata"]["resourceVersion"]
        return True

    def collections(self) -> set[str]:
        """Cluster-wide collection paths of every kind in the last desired set (what drift watches)."""
        paths = set()
        for obj in map(decode_desired, self.desired.values()):
            try:
                paths.add(self.cluster.resource(obj).collection_path())
            except ObjectError:
                continue
        return paths

    # -- plan ------------------------------------------------------------------------------------------
    def plan(
        self,
        revision: str,
        desired: Sequence[KubeObject],
        previous: Sequence[inv.InventoryEntry],
        opts: SyncOptions,
        secret_ids: Collection[int] = (),
    ) -> Plan:
        """Dry-run every desired object; any invalid object fails the plan (nothing applied or pruned).

        ``secret_ids``: ids of the ``desired`` objects a secret stage produced (they get no digest).
        """
        try:
            inv.check_not_wiping(previous, desired, allow_empty=opts.allow_empty, app=opts.app)
        except inv.PruneGuardError as guard:
            raise SyncFailed("PruneGuard", str(guard), revision=revision) from guard
        pending_crds = crd_names_by_group_kind(desired)
        placed: list[KubeObject] = []
        errors: list[str] = []
        bearing: set[int] = set()  # ids of placed objects holding secret data
        for obj in desired:
            if id(obj) in secret_ids or is_secret(obj):
                bearing.add(len(placed))
            try:
                placed.append(inv.stamp(self.cluster.place(obj, opts.namespace), opts.app))
            except ObjectError as error:
                group, _, _ = str(obj.get("apiVersion", "")).rpartition("/")
                if (group, obj.get("kind")) in pending_crds:
                    placed.append(
                        inv.stamp(_with_namespace(obj, opts.namespace), opts.app)
                    )  # CRD applied first
                else:
                    errors.append(str(error))
        errors += _duplicates(placed)
        if errors:
            raise SyncFailed("ValidationFailed", _join(errors), revision=revision)
        refused = [r for r in (opts.admit(o) for o in placed) if r] if opts.admit else []
        if refused:
            raise SyncFailed("ProjectDenied", _join(refused), revision=revision)
        bearing = {id(placed[i]) for i in bearing}

        try:
            snapshot = self.cluster.snapshot(placed)
        except ObjectError as error:
            raise SyncFailed(
                "ValidationFailed", str(error), revision=revision, unreachable=_unreachable(error)
            ) from error
        manager = self.cluster.field_manager
        new_namespaces = {
            o["metadata"]["name"]
            for o in placed
            if o.get("kind") == "Namespace" and o.get("apiVersion") == "v1"
        } - {name for (_, _, name), live in snapshot.items() if live.get("kind") == "Namespace"}

        def examine(obj: KubeObject) -> ObjectPlan:
            key = self.cluster.snapshot_key(obj)
            hidden = id(obj) in bearing
            if key is None or key[1] in new_namespaces:
                # kind served only once its CRD (in this revision) is applied, or its Namespace is
                # created by this revision in an earlier step
                return ObjectPlan(fingerprinted(obj, None, hidden), "create", secret_bearing=hidden)
            live = snapshot.get(key)
            obj = fingerprinted(obj, live, hidden)
            if provably_unchanged(obj, live, manager):
                return ObjectPlan(obj, "unchanged", live=live, predicted=live, secret_bearing=hidden)
            if live is None:
                predicted = self.cluster.dry_run_create(obj)
                return ObjectPlan(obj, "create", predicted=predicted, secret_bearing=hidden)
            predicted = self.cluster.dry_run(obj)
            action = classify(live, predicted)
            return ObjectPlan(obj, action, live=live, predicted=predicted, secret_bearing=hidden)

        outcomes = self.cluster.each(placed, examine)
        failures = [o.error for o in outcomes if o.error is not None]
        if failures:
            raise SyncFailed(
                "ValidationFailed",
                _join([str(e) for e in failures]),
                revision=revision,
                unreachable=_unreachable(*failures),
            )
        plan = Plan(revision, [o.value for o in outcomes])
        if opts.prune:
            try:
                decision = inv.prune_set(previous, placed, self._live_entry, app=opts.app)
            except ObjectError as error:
                raise SyncFailed(
                    "ValidationFailed", str(error), revision=revision, unreachable=_unreachable(error)
                ) from error
            plan.prune = list(decision.delete)
            plan.prune_skipped = list(decision.skipped)
        return plan

    def _live_entry(self, entry: inv.InventoryEntry) -> KubeObject | None:
        try:
            return self.cluster.get_entry(entry)
        except ApiError as error:  # e.g. a tenant that may no longer read it: keep it, name it
            raise ObjectError(str(entry.key), error.reason or str(error.status), error.message) from error

    # -- apply -----------------------------------------------------------------------------------------
    def apply(self, plan: Plan, previous: Sequence[inv.InventoryEntry], opts: SyncOptions) -> SyncResult:
        deadline = time.monotonic() + opts.timeout
        by_id = {id(p.desired): p for p in plan.objects}
        try:
            waves = plan_waves([p.desired for p in plan.objects])
        except OrderingError as error:
            raise SyncFailed("ValidationFailed", str(error), revision=plan.revision) from error
        applied: dict[inv.ObjectKey, KubeObject] = {}
        result = SyncResult(plan.revision, [], [])
        for wave in waves:
            before, after = wave.split()
            self._apply_objects(before, by_id, applied, result, plan, previous)
            if wave.awaits_crds:
                try:
                    self.cluster.wait_for_crds(wave.awaits_crds, deadline)
                except ObjectError as error:
                    raise SyncFailed(
                        "ApplyFailed",
                        str(error),
                        revision=plan.revision,
                        inventory=_merge(previous, applied.values()),
                        unreachable=_unreachable(error),
                    ) from error
            self._apply_objects(after, by_id, applied, result, plan, previous)
        self.desired = {inv.ObjectKey.of(p.desired): encode_desired(p.desired) for p in plan.objects}
        if opts.prune and opts.prune_last:
            # PruneLast (Argo CD): prune only once everything applied is healthy; if it never gets
            # there, nothing is pruned and the inventory still holds the stale objects.
            result.inventory = _merge(previous, applied.values())
            self._assess(plan, applied, result, deadline, wait=True)
            remaining = self._prune(plan, result)
            result.inventory = sorted({*inv.inventory_of(applied.values()), *remaining}, key=lambda e: e.id)
            return result
        remaining = self._prune(plan, result) if opts.prune else []
        result.inventory = sorted({*inv.inventory_of(applied.values()), *remaining}, key=lambda e: e.id)
        self._assess(plan, applied, result, deadline, wait=opts.wait)
        return result

    def _apply_objects(
        self,
        objects: Sequence[KubeObject],
        by_id: Mapping[int, ObjectPlan],
        applied: dict[inv.ObjectKey, KubeObject],
        result: SyncResult,
        plan: Plan,
        previous: Sequence[inv.InventoryEntry],
    ) -> None:
        """Apply consecutive objects of the same kind rank concurrently; stop at the first failing group."""
        for group in _rank_groups(objects):
            todo = [by_id[id(o)] for o in group]

            def apply_one(item: ObjectPlan) -> KubeObject:
                if item.action == "unchanged":
                    assert item.live is not None
                    return item.live
                if item.live is not None:
                    self.cluster.drop_foreign_edit_managers(item.live)
                return self.cluster.apply(item.desired)

            outcomes = self.cluster.each(todo, apply_one)
            errors = []
            for item, outcome in zip(todo, outcomes, strict=True):
                if outcome.error is not None:
                    errors.append(outcome.error)
                    continue
                live = outcome.value
                key = inv.ObjectKey.of(item.desired)
                applied[key] = live
                self._applied[key] = live["metadata"]["resourceVersion"]
                counter = {"create": "created", "update": "updated", "unchanged": "unchanged"}[item.action]
                setattr(result, counter, getattr(result, counter) + 1)
            if errors:
                raise SyncFailed(
                    "ApplyFailed",
                    _join([str(e) for e in errors]),
                    revision=plan.revision,
                    inventory=_merge(previous, applied.values()),
                    unreachable=_unreachable(*errors),
                )

    def _prune(self, plan: Plan, result: SyncResult) -> list[inv.InventoryEntry]:
        """Delete the prune set in reverse apply order; entries whose delete failed are kept."""
        entries = sorted(plan.prune, key=lambda e: kind_rank(e.stub()), reverse=True)
        outcomes = self.cluster.each(entries, self.cluster.delete)
        kept = []
        for entry, outcome in zip(entries, outcomes, strict=True):
            if outcome.error is not None:
                kept.append(entry)
                result.notes.append(f"prune failed: {outcome.error}")
                result.resources.append(
                    ResourceStatus.of(entry.stub(), "PruneFailed", message=outcome.error.detail)
                )
            else:
                result.pruned += 1
                self._applied.pop(entry.key, None)
                result.resources.append(ResourceStatus.of(entry.stub(), "Pruned"))
        for entry, reason in plan.prune_skipped:
            result.resources.append(ResourceStatus.of(entry.stub(), "PruneSkipped", message=reason))
        return kept

    def _assess(
        self,
        plan: Plan,
        applied: Mapping[inv.ObjectKey, KubeObject],
        result: SyncResult,
        deadline: float,
        *,
        wait: bool,
    ) -> None:
        current = dict(applied)
        while True:
            healths = {key: health_rules.assess(obj) for key, obj in current.items()}
            pending = [key for key, h in healths.items() if not h.healthy]
            if not wait or not pending or time.monotonic() > deadline:
                break
            time.sleep(HEALTH_POLL_S)
            for key in pending:
                live = self.cluster.get(current[key])
                if live is not None:
                    current[key] = live
        synced = [
            ResourceStatus.of(obj, "Synced", healths[key].status, healths[key].message)
            for key, obj in current.items()
        ]
        result.resources = synced + result.resources
        worst = health_rules.worst(healths.values()) if healths else health_rules.Health("Current")
        result.healthy = worst.healthy
        result.health_message = worst.message
        if wait and not worst.healthy:
            names = ", ".join(str(k) for k in pending[:5])
            raise SyncFailed(
                "HealthCheckFailed",
                f"timeout waiting for health of: {names} ({worst.message})",
                revision=plan.revision,
                inventory=result.inventory,
            )

    # -- whole sync ------------------------------------------------------------------------------------
    def sync(
        self,
        revision: str,
        directory: Path,
        previous: Sequence[inv.InventoryEntry],
        opts: SyncOptions,
        stages: Sequence[Stage] | None = None,
        boundary: Path | None = None,
        apply: bool = True,
    ) -> SyncResult:
        """Render, plan and (unless ``apply`` is false) apply ``revision``.

        With ``apply=False`` nothing is written: the result lists each object as Synced or OutOfSync
        (how ``selfHeal: false`` reports drift instead of correcting it).
        """
        context = StageContext(
            namespace=opts.namespace,
            application=str(opts.app),
            client=self.cluster.client,
            operator_client=self.operator_client,
            decryption=opts.decryption,
            read_secret=opts.read_secret,
            deadline=time.monotonic() + opts.timeout,
            local_identities=opts.local_identities,
        )
        try:
            desired = render_directory(directory, context, stages, boundary, opts.helm)
        except SyncFailed as failed:
            failed.revision = revision
            raise
        self.redactor = revision_redactor(desired, context.secret_ids)
        with redacted_failures(self.redactor):
            return self._sync_rendered(revision, desired, context.secret_ids, previous, opts, apply)

    def _sync_rendered(
        self,
        revision: str,
        desired: Sequence[KubeObject],
        secret_ids: Collection[int],
        previous: Sequence[inv.InventoryEntry],
        opts: SyncOptions,
        apply: bool,
    ) -> SyncResult:
        if apply and opts.create_namespace:
            try:
                self.cluster.ensure_namespace(opts.namespace)  # before the dry-runs, which need it
            except ApiError as error:
                raise SyncFailed(
                    "ApplyFailed", f"Namespace/{opts.namespace}: {error.message}", revision=revision
                ) from error
        plan = self.plan(revision, desired, previous, opts, secret_ids)
        if not apply:
            resources = [
                ResourceStatus.of(p.desired, "Synced" if p.action == "unchanged" else "OutOfSync")
                for p in plan.objects
            ]
            resources += [
                ResourceStatus.of(e.stub(), "OutOfSync", message="would be pruned") for e in plan.prune
            ]
            return SyncResult(
                revision, list(previous), resources, unchanged=len(plan.objects) - len(plan.changes)
            )
        return self.apply(plan, previous, opts)


def _with_namespace(obj: KubeObject, namespace: str) -> KubeObject:
    meta = dict(obj.get("metadata") or {})
    meta.setdefault("namespace", namespace)
    return {**obj, "metadata": meta}


def _duplicates(placed: Sequence[KubeObject]) -> list[str]:
    """Objects defined twice once placed (namespace defaulted or stripped by scope): one silently
    winning over the other would be a wrong success, so each is an error."""
    seen: set[inv.ObjectKey] = set()
    found = []
    for obj in placed:
        key = inv.ObjectKey.of(obj)
        if key in seen:
            found.append(f"{key} is defined more than once in the revision")
        seen.add(key)
    return found


def _rank_groups(objects: Sequence[KubeObject]) -> Iterable[list[KubeObject]]:
    group: list[KubeObject] = []
    for obj in objects:
        if group and kind_rank(group[-1]) != kind_rank(obj):
            yield group
            group = []
        group.append(obj)
    if group:
        yield group


def _merge(previous: Sequence[inv.InventoryEntry], applied: Iterable[KubeObject]) -> list[inv.InventoryEntry]:
    return sorted({*previous, *inv.inventory_of(applied)}, key=lambda e: e.id)


def _join(errors: Sequence[str], limit: int = 10) -> str:
    more = f" (+{len(errors) - limit} more)" if len(errors) > limit else ""
    return "; ".join(errors[:limit]) + more


__all__ = [
    "Engine",
    "ResourceStatus",
    "SyncFailed",
    "SyncOptions",
    "SyncResult",
    "object_ref",
    "render_directory",
]
