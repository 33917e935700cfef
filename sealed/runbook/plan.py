"""Which files of each repo the runbook touches, and how: pure apart from reading the tracked files.

Only files git tracks are considered (the working tree is clean, so that is every file that matters, and
build output or vendored trees in ``.gitignore`` stay out), and only regular files: a tracked symlink is
skipped with its reason, never written through (see :func:`not_rewritable`). A YAML/JSON file holding a
SealedSecret is a ``sealed`` item; a file a rotator plugin claims (SOPS) is an item of that plugin. A
file that mentions ``SealedSecret`` but cannot be parsed (a Helm template, say) is listed as skipped with
the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sealed.format.errors import FormatError
from sealed.runbook.gitrepo import GitRepo
from sealed.runbook.reseal import sealed_documents
from sealed.runbook.rotators import FileRotator

SEALED = "sealed"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
CANDIDATE_SUFFIXES = (*MANIFEST_SUFFIXES, ".env", ".ini")
MAX_FILE_BYTES = 8 << 20  # a SealedSecret/SOPS file larger than this is not a hand-kept manifest


@dataclass
class Item:
    repo: GitRepo
    path: str  # relative to the repo root, POSIX
    kind: str  # "sealed" or a rotator's name
    rotator: FileRotator | None = None
    sealed_secrets: int = 0

    @property
    def file(self) -> Path:
        return self.repo.root / self.path


@dataclass
class RepoPlan:
    repo: GitRepo
    items: list[Item] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def plan_repo(repo: GitRepo, rotators: list[FileRotator]) -> RepoPlan:
    plan = RepoPlan(repo)
    for path in repo.tracked_files():
        if not path.endswith(CANDIDATE_SUFFIXES):
            continue
        file = repo.root / path
        refused = not_rewritable(file, repo.root)
        if refused:
            plan.skipped.append(f"{path}: {refused}")
            continue
        try:
            if file.stat().st_size > MAX_FILE_BYTES:
                continue
            data = file.read_bytes()
        except OSError as error:
            plan.skipped.append(f"{path}: cannot read: {error.strerror}")
            continue
        if path.endswith(MANIFEST_SUFFIXES) and b"SealedSecret" in data:
            try:
                count = len(sealed_documents(data))
            except FormatError as error:
                plan.skipped.append(f"{path}: mentions SealedSecret but is not YAML/JSON: {error.message}")
                continue
            if count:
                plan.items.append(Item(repo, path, SEALED, sealed_secrets=count))
                continue
        for rotator in rotators:
            if rotator.claims(file, data):
                plan.items.append(Item(repo, path, rotator.name, rotator))
                break
    return plan


def not_rewritable(file: Path, root: Path) -> str | None:
    """Why ``file`` is not rewritten in place, or None for a regular file. The runbook never writes
    through a symlink: one leaving the repository (or absolute, or looping) would rewrite a file outside
    it, and one inside points at a tracked file that is rotated where it lives. Special files are not
    read (a FIFO would block)."""
    from core_sync.confine import ConfinementError, check_entry

    try:
        real_root = root.resolve()
        check_entry(real_root / file.relative_to(root), real_root)
    except ConfinementError as error:
        return f"{error.reason}: not followed, skipped"
    if file.is_symlink():
        return "symlink: skipped (its target is rotated where it lives)"
    return None if file.is_file() else "not a regular file: skipped"
