"""The five steps of ``lockstep keys rotate``, in order, each idempotent through the repo's journal.

1 preflight (controller/backup, clean or resumable working trees), 2 the target key, 3 re-encrypt every file
(SealedSecrets here, other formats through rotator plugins), 4 verify every file from disk, 5 optionally
commit to a new branch. Nothing changes before ``confirm`` says yes, and ``dry_run`` stops after the plan.
A failure in one file is reported and leaves the journal open: fix it and run the same command again.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from core_sync.files import write_atomic
from core_sync.progress import Progress
from sealed.format.errors import FormatError
from sealed.runbook.gitrepo import GitRepo
from sealed.runbook.keysource import KeySource
from sealed.runbook.parallel import reseal_many
from sealed.runbook.plan import SEALED, Item, RepoPlan, plan_repo
from sealed.runbook.report import FileReport, Report
from sealed.runbook.reseal import Cipher, FileReseal, LocalCipher, verify_file, verify_written
from sealed.runbook.rotators import FileRotator, load_rotators
from sealed.runbook.state import Journal, digest, edited_meanwhile, leftover_temps

# Fault injection for the resume tests: "kill-before-write:N" SIGKILLs this process after journaling the
# batch holding the N-th write but before writing it, "kill-after-write:N" once N files are written,
# "kill-after-key:1" right after making the new key — as a crash would.
FAULT_ENV = "LOCKSTEP_ROTATE_FAULT"
WRITE_BATCH = 16
WRITE_THREADS = 8


class RunbookError(Exception):
    """Preflight or setup refused the run; ``problems`` are phrased for the user."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class RunOptions:
    repos: list[Path]
    dry_run: bool = False
    use_current: bool = False
    check_backup: bool = True
    commit: str | None = None
    progress: bool = True
    rotators: list[FileRotator] | None = None
    after_verify: list[Callable[[Report], None]] = field(default_factory=list)


def _open_repos(paths: list[Path]) -> list[GitRepo]:
    repos: dict[Path, GitRepo] = {}
    for path in paths:
        if not path.is_dir():
            raise RunbookError([f"{path}: not a directory"])
        repo = GitRepo(path)
        repos.setdefault(repo.root, repo)
    return list(repos.values())


def _preflight(
    repos: list[GitRepo], journals: dict[Path, Journal], source: KeySource, options: RunOptions
) -> str | None:
    """Problems stop the run; returns the target fingerprint of an interrupted run, if any (an interrupted
    run that had not recorded its target yet sets ``journal.pending_since`` instead)."""
    resuming = any(j.unfinished for j in journals.values())
    problems = list(source.preflight(options.check_backup and not resuming))
    targets = set()
    leftovers: list[Path] = []
    for repo in repos:
        journal = journals[repo.root]
        dirty = repo.dirty()
        if journal.unfinished:
            assert journal.header is not None
            if journal.header.get("target"):
                targets.add(journal.header["target"])
            expected = journal.committed["commit"] if journal.committed else journal.header["head"]
            if repo.head() != expected and not dirty:
                # Nothing of the interrupted run is left in the tree (reset, fixed, committed): start the
                # files over, keeping its key.
                journal.restart = True
                continue
            litter = leftover_temps(journal, dirty)
            leftovers += [repo.root / path for path in litter]
            dirty = [p for p in dirty if p not in litter]
            if repo.head() != expected:
                problems.append(f"{repo.root}: HEAD moved since the interrupted run started; not resuming")
            edited = edited_meanwhile(journal, dirty, lambda p, root=repo.root: (root / p).read_bytes())
            if edited:
                problems.append(f"{repo.root}: edited since the interrupted run; refusing to resume")
                problems += [f"  {line}" for line in edited]
        elif dirty:
            shown = ", ".join(dirty[:3]) + (" ..." if len(dirty) > 3 else "")
            problems.append(
                f"{repo.root}: working tree not clean ({len(dirty)} changed: {shown}); commit or stash first"
            )
    if len(targets) > 1:
        problems.append(
            f"interrupted runs in these repos re-encrypt to different keys: {', '.join(sorted(targets))}"
        )
    if problems:
        raise RunbookError(problems)
    for path in leftovers:  # only once the run goes ahead: a refused run changes nothing
        path.unlink(missing_ok=True)
    return targets.pop() if targets else None


def _fault(stage: str, count: int) -> None:
    wanted = os.environ.get(FAULT_ENV, "")
    if wanted == f"{stage}:{count}":
        os.kill(os.getpid(), signal.SIGKILL)


class Runbook:
    def __init__(self, source: KeySource, options: RunOptions) -> None:
        self.source = source
        self.options = options
        self.report = Report(mode=source.mode, dry_run=options.dry_run)
        self.writes = 0
        self.sessions: dict[str, dict[str, bytes]] = {}  # path -> new value -> session key (memory only)
        self._writers: ThreadPoolExecutor | None = None  # one pool of writer threads for the whole run

    def plan(self) -> tuple[list[RepoPlan], dict[Path, Journal], str | None]:
        """Steps 1 and the plan: nothing changes here."""
        repos = _open_repos(self.options.repos)
        journals = {repo.root: Journal.load(repo.git_dir) for repo in repos}
        resume = _preflight(repos, journals, self.source, self.options)
        rotators = self.options.rotators if self.options.rotators is not None else load_rotators()
        plans = [plan_repo(repo, rotators) for repo in repos]
        for plan in plans:
            self.report.skipped += [f"{plan.repo.root}/{reason}" for reason in plan.skipped]
            for item in plan.items:
                self.report.files.append(
                    FileReport(str(plan.repo.root), item.path, item.kind, sealed_secrets=item.sealed_secrets)
                )
        return plans, journals, resume

    def describe_plan(self, resume: str | None) -> None:
        target = self.source.target(resume, self.options.use_current, dry_run=True)
        self.report.target_key, self.report.target_fingerprint = target.name, target.fingerprint
        if not (self.options.use_current or resume) and self.source.mode == "controller":
            self.report.notes.append("a new active key will be created; the target shown is the current one")

    def execute(self, plans: list[RepoPlan], journals: dict[Path, Journal], resume: str | None) -> Report:
        """Steps 2-5; call only after the user agreed. The journals are opened before the key step, so a run
        killed after making its key finds that key again instead of making another."""
        pending = [
            float(j.header.get("started") or 0)
            for j in journals.values()
            if j.unfinished and j.header is not None and not j.header.get("target")
        ]
        adopt_since = min(pending) if pending and resume is None else None
        for plan in plans:
            journal = journals[plan.repo.root]
            if journal.unfinished and not journal.restart:
                self.report.resumed.append(str(plan.repo.root))
            else:
                kept = journal.header.get("target") if journal.restart and journal.header else None
                run = {"run": os.urandom(8).hex(), "head": plan.repo.head(), "mode": self.source.mode}
                journal.start({**run, "started": time.time(), **({"target": kept} if kept else {})})
                if kept:
                    self.report.notes.append(
                        f"{plan.repo.root}: the interrupted run's changes are gone; started over"
                    )
        target = self.source.target(resume, self.options.use_current, dry_run=False, adopt_since=adopt_since)
        if target.created:
            _fault("kill-after-key", 1)
        for journal in journals.values():
            if journal.header is not None and not journal.header.get("target"):
                journal.record({"target": target.fingerprint, "key": target.name})
        self.report.target_key, self.report.target_fingerprint = target.name, target.fingerprint
        self.report.key_created = target.created
        if target.created:
            self.report.notes.append(f"new key {target.name}: back it up now (lockstep keys backup -o FILE)")
        cipher = self.source.cipher(target)
        names = self.source.names()
        reports = {(r.repo, r.path): r for r in self.report.files}
        for plan in plans:
            journal = journals[plan.repo.root]
            try:
                self._rotate(plan, journal, cipher, target.fingerprint, names, reports)
                self._verify(plan, journal, cipher, reports)
                ok = all(reports[(str(plan.repo.root), i.path)].status != "failed" for i in plan.items)
                if ok and self.options.commit:
                    self._commit(plan, journal, target.name)
                if ok:
                    journal.record({"finished": True})
            finally:
                journal.close()
        if self._writers is not None:
            self._writers.shutdown()
        return self.report

    def _rotate(
        self,
        plan: RepoPlan,
        journal: Journal,
        cipher: Cipher,
        target: str,
        names: dict[str, str],
        reports: dict[tuple[str, str], FileReport],
    ) -> None:
        contents: dict[str, bytes] = {}
        todo: list[Item] = []
        for item in plan.items:
            entry = reports[(str(plan.repo.root), item.path)]
            try:
                contents[item.path] = item.file.read_bytes()
            except OSError as error:
                entry.status, entry.error = "failed", _reason(error)
                continue
            done = journal.writes.get(item.path)
            if done and digest(contents[item.path]) == done["after"]:
                entry.status, entry.old_key, entry.new_key = "rotated", done["old_key"], done["new_key"]
            else:
                todo.append(item)
        progress = Progress(len(todo), "re-encrypting") if self.options.progress else None
        sealed = [item for item in todo if item.kind == SEALED]
        results = reseal_many(
            [contents[i.path] for i in sealed], cipher, parallel=isinstance(cipher, LocalCipher)
        )
        batch: list[tuple[Item, bytes, bytes, FileReport]] = []
        for item in todo:
            entry = reports[(str(plan.repo.root), item.path)]
            if progress:
                progress.step(item.path)
            result = next(results) if item.kind == SEALED else None
            try:
                if isinstance(result, str):
                    raise FormatError(result)
                new = self._rotate_one(item, contents[item.path], result, target, names, entry)
            except (FormatError, ValueError, OSError) as error:
                entry.status, entry.error = "failed", _reason(error)
                continue
            if new is not None:
                batch.append((item, contents[item.path], new, entry))
            if len(batch) >= WRITE_BATCH:
                self._write(batch, journal)
                batch = []
        self._write(batch, journal)
        if progress:
            progress.done()

    def _write(self, batch: list[tuple[Item, bytes, bytes, FileReport]], journal: Journal) -> None:
        """Journal a batch of writes, then make them on several threads (each file atomic and fsynced by
        the shared helper; the fsyncs overlap, which is ~10x faster than one after another). A kill at any
        point leaves every file of the batch either as it was or as journaled, which resuming handles."""
        if not batch:
            return
        first = self.writes + 1
        for item, current, new, entry in batch:
            journal.record(
                {
                    "write": item.path,
                    "before": digest(current),
                    "after": digest(new),
                    "old_key": entry.old_key,
                    "new_key": entry.new_key,
                }
            )
        for number in range(first, first + len(batch)):
            _fault("kill-before-write", number)
        if self._writers is None:
            self._writers = ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="rotate-write")
        futures = {self._writers.submit(write_atomic, item.file, new): entry for item, _, new, entry in batch}
        for future in as_completed(futures):
            entry = futures[future]
            try:
                future.result()
                entry.status = "rotated"
            except OSError as error:
                entry.status, entry.error = "failed", _reason(error)
            self.writes += 1
            _fault("kill-after-write", self.writes)

    def _rotate_one(
        self,
        item: Item,
        current: bytes,
        result: FileReseal | None,
        target: str,
        names: dict[str, str],
        entry: FileReport,
    ) -> bytes | None:
        """The file's new bytes (None: already on the target key)."""
        if result is not None:
            old_keys = sorted(names.get(k, k) for k in result.old_keys)
            entry.old_key, entry.new_key = ",".join(old_keys), names.get(target, target)
            if result.old_keys == {target}:
                entry.status = "current"
                return None
            new = result.content
            if result.sessions:  # sealed here (offline); the controller's output is checked by /v1/verify
                self.sessions[item.path] = result.sessions
        else:
            assert item.rotator is not None
            entry.old_key = item.rotator.keys(item.file, current)
            new = item.rotator.rotate(item.file, current)
            entry.new_key = item.rotator.keys(item.file, new)
        assert new is not None
        return new

    def _verify(
        self, plan: RepoPlan, journal: Journal, cipher: Cipher, reports: dict[tuple[str, str], FileReport]
    ) -> None:
        for item in plan.items:
            entry = reports[(str(plan.repo.root), item.path)]
            if entry.status == "failed":
                continue
            try:
                data = item.file.read_bytes()
                if item.kind == SEALED and item.path in self.sessions:
                    verify_written(data, self.sessions[item.path])
                elif item.kind == SEALED:
                    verify_file(data, cipher)
                else:
                    assert item.rotator is not None
                    entry.new_key = item.rotator.verify(item.file, data)
            except (FormatError, ValueError, OSError) as error:
                entry.status, entry.error = "failed", f"verify: {_reason(error)}"
                continue
            entry.verified = True
            journal.record({"verified": item.path})

    def _commit(self, plan: RepoPlan, journal: Journal, key_name: str) -> None:
        assert self.options.commit is not None
        if journal.committed:
            self.report.committed[str(plan.repo.root)] = journal.committed["commit"]
            return
        changed = [p for p in plan.repo.dirty() if p in journal.writes]
        message = (
            f"Re-encrypt {len(changed)} secret file(s) to sealing key {key_name}\n\nby lockstep keys rotate"
        )
        commit = plan.repo.commit_to_branch(self.options.commit, changed, message)
        journal.record({"committed": self.options.commit, "commit": commit})
        self.report.committed[str(plan.repo.root)] = commit


def _reason(error: Exception) -> str:
    if isinstance(error, FormatError):
        return str(error)
    if isinstance(error, OSError):
        return f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")
    return str(error)
