"""Talking to the cluster for a sync: resolve kinds, read live objects, SSA dry-run, apply, delete.

Every call is per object and runs on a bounded thread pool (keep-alive connection per thread); errors
come back per object so one bad manifest is named, not lost in a batch.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from core_sync.inventory import InventoryEntry
from core_sync.kube import ApiError, ApiUnreachable, KubeClient
from core_sync.kube.discovery import Discovery, Resource, UnknownKind
from core_sync.stages import KubeObject, object_ref

FIELD_MANAGER = "lockstep"
# Field managers whose entries are dropped before applying, so fields they added by hand (kubectl edit,
# client-side apply) do not survive a sync that removed them from Git. Flux does the same.
FOREIGN_EDIT_MANAGERS = frozenset(
    {"kubectl", "kubectl-edit", "kubectl-client-side-apply", "before-first-apply"}
)
# a kind and namespace with at most this many wanted objects is read by GETs, beyond by one LIST
SNAPSHOT_GET_MAX = 32
T = TypeVar("T")
R = TypeVar("R")


class ObjectError(RuntimeError):
    """One object failed (unknown kind, invalid, forbidden, conflict); the message names it."""

    def __init__(self, obj: KubeObject | str, reason: str, message: str) -> None:
        self.ref = obj if isinstance(obj, str) else object_ref(obj)
        self.reason = reason
        self.detail = message
        super().__init__(f"{self.ref}: {message}")


UNREACHABLE_REASON = "Unreachable"  # an object's call got no answer from the API server


def item_ref(item: object) -> str:
    """How an error names an item of :meth:`Cluster.each`: its object's ``Kind/namespace/name``, never its
    contents (a plan holds a rendered Secret's data, so ``str(plan)`` must not reach a message)."""
    if isinstance(item, Mapping):
        return object_ref(item)
    desired = getattr(item, "desired", None)
    if isinstance(desired, Mapping):
        return object_ref(desired)
    named = getattr(item, "id", None)
    if isinstance(named, str):
        return named
    if isinstance(item, tuple) and item and isinstance(item[0], str):
        return item[0]  # (path, ...) reads
    return type(item).__name__


@dataclass(frozen=True)
class Outcome:
    """The result of one call on one item: a value or an error."""

    value: Any = None
    error: ObjectError | None = None


class Cluster:
    """The cluster operations of the engine, bound to one client."""

    def __init__(
        self, client: KubeClient, *, field_manager: str = FIELD_MANAGER, concurrency: int = 16
    ) -> None:
        self.client = client
        self.discovery = Discovery(client)
        self.field_manager = field_manager
        self.concurrency = concurrency
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="lockstep-kube")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- bulk helper -----------------------------------------------------------------------------------
    def each(self, items: Sequence[T], call: Callable[[T], R]) -> list[Outcome]:
        """``call`` on every item concurrently; outcomes in input order."""

        def guarded(item: T) -> Outcome:
            try:
                return Outcome(value=call(item))
            except ObjectError as error:
                return Outcome(error=error)
            except ApiError as error:
                reason = error.reason or str(error.status)
                return Outcome(error=ObjectError(item_ref(item), reason, error.message))
            except ApiUnreachable as error:  # mid-apply: what was applied stays in the inventory
                return Outcome(error=ObjectError(item_ref(item), UNREACHABLE_REASON, str(error)))

        if len(items) <= 1:
            return [guarded(item) for item in items]
        return list(self._pool.map(guarded, items))

    # -- single objects --------------------------------------------------------------------------------
    def resource(self, obj: KubeObject) -> Resource:
        try:
            return self.discovery.for_object(obj)
        except UnknownKind as unknown:
            raise ObjectError(obj, "UnknownKind", str(unknown)) from unknown

    def place(self, obj: KubeObject, default_namespace: str) -> KubeObject:
        """Give a namespaced object the default namespace; strip it from a cluster-scoped one."""
        resource = self.resource(obj)
        meta = dict(obj.get("metadata") or {})
        if resource.namespaced:
            meta.setdefault("namespace", default_namespace)
            if not meta["namespace"]:
                meta["namespace"] = default_namespace
        else:
            meta.pop("namespace", None)
        return {**obj, "metadata": meta}

    def path(self, obj: KubeObject) -> str:
        resource = self.resource(obj)
        meta = obj.get("metadata") or {}
        return resource.object_path(meta["name"], meta.get("namespace"))

    def entry_path(self, entry: InventoryEntry) -> str:
        key = entry.key
        resource = self.discovery.resource(entry.api_version, key.kind)
        return resource.object_path(key.name, key.namespace or None)

    def snapshot(self, objects: Sequence[KubeObject]) -> dict[tuple[str, str, str], KubeObject]:
        """Live objects for ``objects`` by ``(collection path, namespace, name)``. Kinds not served yet
        are simply absent.

        A kind and namespace with many wanted objects is read with one LIST; one with a few is read with
        a GET per object, because a LIST costs what the whole namespace holds: a thousand small
        Applications sharing a namespace would each read everyone's objects (quadratic in the fleet).
        """
        collections: dict[str, list[KubeObject]] = {}
        for obj in objects:
            try:
                resource = self.resource(obj)
            except ObjectError:
                continue
            path = resource.collection_path((obj.get("metadata") or {}).get("namespace"))
            collections.setdefault(path, []).append(obj)

        def list_all(path: str) -> list[KubeObject]:
            items: list[KubeObject] = []
            token = None
            while True:
                page = self.client.get(path, limit=500, **({"continue": token} if token else {}))
                kind = str(page.get("kind", "")).removesuffix("List")
                for item in page.get("items") or []:
                    items.append({"apiVersion": page.get("apiVersion"), "kind": kind, **item})
                token = (page.get("metadata") or {}).get("continue")
                if not token:
                    return items

        def get_one(obj: KubeObject) -> list[KubeObject]:
            live = self.get(obj)
            return [] if live is None else [live]

        # (collection path, the objects a failure names, how to read them)
        reads: list[tuple[str, list[KubeObject], Callable[[], list[KubeObject]]]] = []
        for path, wanted in collections.items():
            if len(wanted) > SNAPSHOT_GET_MAX:
                reads.append((path, wanted, functools.partial(list_all, path)))
            else:
                reads += [(path, [obj], functools.partial(get_one, obj)) for obj in wanted]
        found: dict[tuple[str, str, str], KubeObject] = {}
        for (path, wanted, _), outcome in zip(reads, self.each(reads, lambda read: read[2]()), strict=True):
            if outcome.error is not None:  # name the objects the read was for, not just its URL
                more = f" (and {len(wanted) - 1} more)" if len(wanted) > 1 else ""
                raise ObjectError(
                    object_ref(wanted[0]) + more, outcome.error.reason, f"cannot read: {outcome.error.detail}"
                )
            for item in outcome.value:
                meta = item.get("metadata") or {}
                found[(path, meta.get("namespace") or "", meta["name"])] = item
        return found

    def snapshot_key(self, obj: KubeObject) -> tuple[str, str, str] | None:
        try:
            resource = self.resource(obj)
        except ObjectError:
            return None
        meta = obj.get("metadata") or {}
        return (resource.collection_path(meta.get("namespace")), meta.get("namespace") or "", meta["name"])

    def get(self, obj: KubeObject) -> KubeObject | None:
        return self.client.get_or_none(self.path(obj))

    def get_entry(self, entry: InventoryEntry) -> KubeObject | None:
        try:
            return self.client.get_or_none(self.entry_path(entry))
        except UnknownKind:
            return None  # the kind itself is gone (its CRD was deleted): nothing left to prune

    def dry_run(self, obj: KubeObject) -> KubeObject:
        return self._apply(obj, dry_run=True)

    def dry_run_create(self, obj: KubeObject) -> KubeObject:
        """Validate a new object as a create would (strict fields, defaults, admission) without writing.

        Cheaper for the API server than an apply dry-run (no field-ownership computation), and for an
        object that does not exist yet it checks the same things.
        """
        meta = obj.get("metadata") or {}
        path = self.resource(obj).collection_path(meta.get("namespace"))
        params = {"dryRun": "All", "fieldManager": self.field_manager, "fieldValidation": "Strict"}
        try:
            return self.client.request("POST", path, params=params, body=obj)
        except ApiError as error:
            if error.conflict:  # created by someone else since the snapshot: let the apply dry-run judge
                return self.dry_run(obj)
            reason = "Invalid" if error.status in (400, 422) else (error.reason or str(error.status))
            raise ObjectError(obj, reason, error.message) from error

    def apply(self, obj: KubeObject) -> KubeObject:
        return self._apply(obj, dry_run=False)

    def _apply(self, obj: KubeObject, *, dry_run: bool) -> KubeObject:
        try:
            return self.client.apply(
                self.path(obj), obj, field_manager=self.field_manager, force=True, dry_run=dry_run
            )
        except ApiError as error:
            reason = "Invalid" if error.status == 422 else (error.reason or str(error.status))
            raise ObjectError(obj, reason, error.message) from error

    def drop_foreign_edit_managers(self, live: KubeObject) -> None:
        """Remove kubectl's Update entries from ``managedFields`` so what they added is not kept forever."""
        entries = (live.get("metadata") or {}).get("managedFields") or []
        kept = [
            m
            for m in entries
            if not (m.get("manager") in FOREIGN_EDIT_MANAGERS and m.get("operation") == "Update")
        ]
        if len(kept) == len(entries) or not kept:
            return
        path = self.path(live)
        self.client.request(
            "PATCH",
            path,
            body=[
                {
                    "op": "test",
                    "path": "/metadata/resourceVersion",
                    "value": live["metadata"]["resourceVersion"],
                },
                {"op": "replace", "path": "/metadata/managedFields", "value": kept},
            ],
            content_type="application/json-patch+json",
        )

    def delete(self, entry: InventoryEntry) -> None:
        try:
            self.client.request(
                "DELETE",
                self.entry_path(entry),
                body={"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"},
            )
        except ApiError as error:
            if not error.not_found:
                raise ObjectError(str(entry.key), error.reason or str(error.status), error.message) from error

    def ensure_namespace(self, name: str) -> None:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        self.client.apply(f"/api/v1/namespaces/{name}", body, field_manager=self.field_manager)

    def wait_for_crds(self, names: Iterable[str], deadline: float) -> None:
        """Wait until each CRD is Established, then forget cached discovery of its group."""
        for name in names:
            path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
            while True:
                crd = self.client.get(path)
                conditions = {
                    c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions") or []
                }
                if conditions.get("Established") == "True":
                    for version in crd["spec"]["versions"]:
                        self.discovery.invalidate(f"{crd['spec']['group']}/{version['name']}")
                    break
                if time.monotonic() > deadline:
                    raise ObjectError(
                        f"CustomResourceDefinition/{name}", "Timeout", "not Established in time"
                    )
                time.sleep(0.1)
