"""The live table of the Application's objects (rich on a terminal, plain lines otherwise)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GROUP_PATH = "/apis/lockstep.dev/v1alpha1"


NO_KUBELET_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod", "Job"}


@dataclass
class Row:
    kind: str
    name: str
    sync: str
    health: str
    changed: str


class Board:
    """The Application's objects (from its status), shown as a live table or as plain lines."""

    def __init__(self, client: Any, namespace: str, app: str, embedded: bool, interactive: bool) -> None:
        self.client = client
        self.namespace = namespace
        self.path = f"{GROUP_PATH}/namespaces/{namespace}/applications/{app}"
        self.embedded = embedded
        self.interactive = interactive
        self.versions: dict[tuple[str, str], tuple[str, float]] = {}
        self.live: Any = None
        self.title = "starting"

    def __enter__(self) -> Board:
        if self.interactive:
            from rich.live import Live

            self.live = Live(self.render(), refresh_per_second=4, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self.render())
            self.live.__exit__(None, None, None)

    def say(self, line: str) -> None:
        self.title = line
        if self.live is not None:
            self.live.console.print(line)
            self.live.update(self.render())
        else:
            print(line, flush=True)

    def application(self) -> dict[str, Any]:
        return dict(self.client.get_or_none(self.path) or {})

    def rows(self) -> list[Row]:
        status = self.application().get("status") or {}
        rows = []
        for res in status.get("resources") or []:
            key = (res.get("kind", ""), res.get("name", ""))
            version = self._resource_version(res)
            seen = self.versions.get(key)
            if seen is None or seen[0] != version:
                self.versions[key] = (version, time.time())
            health = {"Current": "Healthy"}.get(res.get("health") or "-", res.get("health") or "-")
            if self.embedded and key[0] in NO_KUBELET_KINDS and health != "Healthy":
                health = f"{health} (no kubelet)"
            changed = time.strftime("%H:%M:%S", time.localtime(self.versions[key][1]))
            rows.append(Row(key[0], key[1], res.get("status") or "-", health, changed))
        return rows

    def _resource_version(self, res: Mapping[str, Any]) -> str:
        from core_sync.kube import ApiError

        group, version = res.get("group") or "", res.get("version") or "v1"
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        plural = res.get("kind", "").lower() + "s"
        try:
            obj = self.client.get(
                f"{base}/namespaces/{res.get('namespace') or self.namespace}/{plural}/{res['name']}"
            )
        except (ApiError, KeyError):
            return ""
        return str((obj.get("metadata") or {}).get("resourceVersion", ""))

    def render(self) -> Any:
        from rich.table import Table

        table = Table(title=self.title, title_justify="left")
        for column in ("kind", "name", "sync", "health", "last change"):
            table.add_column(column)
        for row in self.rows():
            table.add_row(row.kind, row.name, row.sync, row.health, row.changed)
        return table

    def tick(self) -> None:
        if self.live is not None:
            self.live.update(self.render())

    def settled(self) -> bool:
        """Synced, and Healthy wherever health can be judged (no kubelet runs in the embedded cluster)."""
        app = self.application()
        conditions = (app.get("status") or {}).get("conditions") or []
        if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            return False
        rows = self.rows()
        return bool(rows) and all(
            r.sync == "Synced" and (r.health == "Healthy" or (self.embedded and "(no kubelet)" in r.health))
            for r in rows
        )

    def print_rows(self) -> None:
        if self.live is None:
            for row in self.rows():
                line = f"  {row.kind:<16} {row.name:<16} {row.sync:<10} {row.health:<26} {row.changed}"
                print(line, flush=True)
