"""The runbook's output: a per-file table, or a JSON report (``-o json``).

Pure formatting apart from writing to the given streams; nothing here names a secret value.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class FileReport:
    repo: str
    path: str
    kind: str
    old_key: str = ""
    new_key: str = ""
    status: str = "planned"  # planned | rotated | current | failed
    verified: bool = False
    sealed_secrets: int = 0
    error: str = ""


@dataclass
class Report:
    mode: str
    dry_run: bool
    target_key: str = ""
    target_fingerprint: str = ""
    key_created: bool = False
    files: list[FileReport] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    committed: dict[str, str] = field(default_factory=dict)  # repo -> commit
    resumed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    compromised: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(f.status == "failed" for f in self.files)

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.files:
            counts[item.status] = counts.get(item.status, 0) + 1
        return counts

    def to_json(self) -> str:
        data = asdict(self)
        data["summary"] = self.summary()
        data["ok"] = self.ok
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def to_text(self) -> str:
        verb = "would re-encrypt" if self.dry_run else "re-encrypted"
        created = " (new)" if self.key_created else ""
        lines = [f"target key: {self.target_key}{created} {self.target_fingerprint}  [{self.mode}]"]
        if self.files:
            width = max(len(f"{f.repo}/{f.path}") for f in self.files)
            lines.append(f"{'FILE'.ljust(width)}  {'KIND':6}  {'STATUS':11}  OLD KEY -> NEW KEY")
            for f in self.files:
                detail = f"{f.old_key} -> {f.new_key}" if not f.error else f.error
                status = f.status + ("+ok" if f.verified else "")
                lines.append(f"{f'{f.repo}/{f.path}'.ljust(width)}  {f.kind:6}  {status:11}  {detail}")
        lines += [f"skipped: {reason}" for reason in self.skipped]
        lines += [f"resumed an interrupted run in {repo}" for repo in self.resumed]
        lines += [f"committed {commit} in {repo}" for repo, commit in self.committed.items()]
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.summary().items())) or "no files"
        lines.append(f"{verb}: {counts}")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines) + "\n"
