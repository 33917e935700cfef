"""Git source: resolve a ref to a commit, fetch it into a per-repository cache, export the tree.

One bare mirror per repository URL under ``~/.cache/lockstep/repos`` is fetched incrementally (only the
asked ref, only when its commit is missing). Credentials reach git through environment-only config
(``GIT_CONFIG_*``), never the URL or the command line, so they show up in no process listing or error.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
# ``git fetch`` of one ref: maintenance is started by :meth:`GitSource._maintain` instead
FETCH = ("fetch", "--quiet", "--no-tags", "--no-auto-maintenance")
KEEP_CHECKOUTS = 2


class SourceError(RuntimeError):
    """Git could not deliver the revision: unreachable server, unknown ref, missing path.

    The message (git's stderr included) is made one line without credentials in URLs.
    """

    def __init__(self, message: str) -> None:
        from core_sync.redaction import one_line

        super().__init__(one_line(message))


@dataclass(frozen=True)
class GitCredentials:
    """From ``spec.source.secretRef``: ``username``/``password``, ``bearerToken``, or ``identity``."""

    username: str | None = None
    password: str | None = None
    bearer_token: str | None = None
    ssh_identity: bytes | None = None
    known_hosts: bytes | None = None

    @classmethod
    def from_secret_data(cls, data: Mapping[str, bytes]) -> GitCredentials:
        def text(key: str) -> str | None:
            return data[key].decode() if key in data else None

        return cls(
            username=text("username"),
            password=text("password"),
            bearer_token=text("bearerToken") or text("token"),
            ssh_identity=data.get("identity"),
            known_hosts=data.get("known_hosts"),
        )


@dataclass(frozen=True)
class Checkout:
    url: str
    ref: str
    revision: str
    root: Path

    def path(self, relative: str | None) -> Path:
        """The directory ``relative`` inside the checkout; an error if it is not in the revision."""
        from core_sync.confine import ConfinementError, resolve

        root = self.root.resolve()
        try:
            target = resolve(root / (relative or "").strip("/"), root)
        except ConfinementError as refused:
            raise SourceError(f"path {relative!r} leaves the repository ({refused.reason})") from None
        if not target.is_dir():
            raise SourceError(f"path {relative!r} not found in {self.url}@{self.revision[:12]}")
        return target


def _default_cache() -> Path:
    return Path(os.environ.get("LOCKSTEP_CACHE", Path.home() / ".cache" / "lockstep"))


class GitSource:
    """Fetches revisions of many repositories into one cache directory (safe across processes)."""

    def __init__(self, cache_root: Path | None = None, timeout: float = 60.0) -> None:
        self.root = (cache_root or _default_cache()) / "git"
        self.timeout = timeout
        self._flights: dict[tuple[str, str | None, GitCredentials | None], _Flight] = {}
        self._flights_lock = threading.Lock()
        self._fetched: dict[Path, str] = {}  # each mirror's last fetched revision (under the mirror's lock)

    # -- public ----------------------------------------------------------------------------------------
    def fetch(
        self,
        url: str,
        ref: str | None = None,
        credentials: GitCredentials | None = None,
        *,
        max_age: float = 0.0,
    ) -> Checkout:
        """Resolve ``ref`` (branch, tag, commit SHA; default the remote HEAD) and export its tree.

        Calls for the same source share fetches. By default never staleness: a caller gets the result of
        a fetch that began after it asked (callers that queue behind a running fetch share the next one).
        ``max_age`` > 0 also accepts the last fetch if it began at most that many seconds before the call
        (the operator's interval and first reconciles: a fleet of Applications of one repository then
        costs one ``git fetch`` every few seconds, as one Flux GitRepository serves many Kustomizations).
        """
        flight = self._flight((url, ref, credentials))
        return flight.run(lambda: self._fetch(url, ref, credentials), max_age)

    # -- steps -----------------------------------------------------------------------------------------
    def _flight(self, key: tuple[str, str | None, GitCredentials | None]) -> _Flight:
        with self._flights_lock:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = _Flight()
            return flight

    def _fetch(self, url: str, ref: str | None, credentials: GitCredentials | None) -> Checkout:
        key = hashlib.sha256(url.encode()).hexdigest()[:20]
        mirror = self.root / "repos" / f"{key}.git"
        with self._locked(mirror), self._git_env(credentials) as env:
            if not (mirror / "HEAD").exists():
                mirror.mkdir(parents=True, exist_ok=True)
                self._git(["init", "--bare", "--quiet", str(mirror)], env)
            if ref and SHA_RE.match(ref):
                revision = self._fetch_commit(url, ref, mirror, env)
            else:
                revision = self._fetch_named(url, ref, mirror, env)
            root = self._export(mirror, key, revision, env)
            brought_objects = self._fetched.get(mirror) != revision
            self._fetched[mirror] = revision
        if brought_objects:
            self._maintain(mirror)
        return Checkout(url=url, ref=ref or "HEAD", revision=revision, root=root)

    def _maintain(self, mirror: Path) -> None:
        """What ``git fetch`` would run after fetching (``git maintenance run --auto``: repack when loose
        objects pile up), in a thread: its process start was on every push's way to the cluster. Only
        after a fetch that moved the revision: a fetch that found nothing new added no object, so the
        thresholds cannot have been crossed (an operator's shared fetches are mostly such)."""

        def run() -> None:
            with self._git_env(None) as env, contextlib.suppress(SourceError):  # timed out: next fetch's turn
                self._git_result(["-C", str(mirror), "maintenance", "run", "--auto", "--quiet"], env)

        threading.Thread(target=run, name="git-maintenance", daemon=True).start()

    def _fetch_named(self, url: str, ref: str | None, mirror: Path, env: dict[str, str]) -> str:
        """One connection for the common case: fetch the branch (or the remote HEAD, or a full ref name)
        and read its commit from FETCH_HEAD. A short name that is no branch (a tag) is resolved by
        listing the remote, so a branch still wins over a tag of the same name."""
        remote = ref if ref is None or ref == "HEAD" or ref.startswith("refs/") else f"refs/heads/{ref}"
        local = remote if remote and remote.startswith("refs/") else "refs/remote-head"
        fetched = self._git_result(["-C", str(mirror), *FETCH, url, f"+{remote or 'HEAD'}:{local}"], env)
        if fetched.returncode == 0:
            sha = _fetch_head(mirror)
            if sha is not None and (remote is None or not remote.startswith("refs/tags/")):
                return sha
            return self._peel(mirror, local, env)  # a tag named in full: its commit, not the tag object
        if ref and remote != ref and "couldn't find remote ref" in fetched.stderr:
            revision, refspec = self._resolve(url, ref, env)
            self._git(["-C", str(mirror), *FETCH, url, refspec], env, what=f"fetch {url}")
            return revision
        raise SourceError(
            _no_ref(url, ref)
            if "couldn't find remote ref" in fetched.stderr
            else f"git fetch {url}: {fetched.stderr.strip() or 'exit ' + str(fetched.returncode)}"
        )

    def _fetch_commit(self, url: str, sha: str, mirror: Path, env: dict[str, str]) -> str:
        """A commit SHA: nothing to fetch when it is cached, else fetch the branches and look again."""
        if self._has_commit(mirror, sha, env):
            return sha
        self._git(
            ["-C", str(mirror), *FETCH, url, "+refs/heads/*:refs/remotes/origin/*"],
            env,
            what=f"fetch {url}",
        )
        if not self._has_commit(mirror, sha, env):
            raise SourceError(f"{url}: commit {sha} not found after fetching +refs/heads/*")
        return sha

    def _resolve(self, url: str, ref: str, env: dict[str, str]) -> tuple[str, str]:
        """``ref`` by listing the remote: a tag (peeled to its commit) or any full ref name."""
        listing = self._git(["ls-remote", url], env, what=f"ls-remote {url}")
        refs: dict[str, str] = {}
        for line in listing.splitlines():
            sha, _, name = line.partition("\t")
            if name:
                refs[name] = sha
        for name in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}"):
            if name in refs:
                remote = name.removesuffix("^{}")
                return refs[name], f"+{remote}:{remote}"
        raise SourceError(_no_ref(url, ref))

    def _peel(self, mirror: Path, name: str, env: dict[str, str]) -> str:
        return self._git(["-C", str(mirror), "rev-parse", "--verify", f"{name}^{{commit}}"], env).strip()

    def _has_commit(self, mirror: Path, revision: str, env: dict[str, str]) -> bool:
        result = subprocess.run(
            ["git", "-C", str(mirror), "cat-file", "-e", f"{revision}^{{commit}}"],
            env=env,
            capture_output=True,
            check=False,
            timeout=self.timeout,
        )
        return result.returncode == 0

    def _export(self, mirror: Path, key: str, revision: str, env: dict[str, str]) -> Path:
        checkouts = self.root / "checkouts" / key
        target = checkouts / revision
        if target.is_dir():
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{revision[:12]}-", dir=_mkdir(checkouts)))
        try:
            self._extract(mirror, revision, env, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        staging.rename(target)
        for old in sorted(checkouts.iterdir(), key=lambda p: p.stat().st_mtime)[:-KEEP_CHECKOUTS]:
            shutil.rmtree(old, ignore_errors=True)
        return target

    def _extract(self, mirror: Path, revision: str, env: dict[str, str], staging: Path) -> None:
        """Check ``revision`` out into ``staging`` with git itself, then refuse the tree when one of its
        symlinks is absolute or points outside it.

        Why a checkout and not ``git archive`` through tarfile's ``data`` filter: git writes only regular
        files, executables and symlinks, refuses paths with ``..`` or ``.git`` and never writes through a
        symlink, so the filter's other checks cannot fire; and the checkout costs a third of the CPU (a
        1,500-file tree: 0.10 against 0.29 CPU-s), which every operator replica pays once per revision. It
        is also the tree Argo CD and Flux see (``export-ignore`` is an archive rule). A private index file
        keeps concurrent exports of one mirror apart."""
        index = staging.with_name(staging.name + ".index")
        git_env = {**env, "GIT_INDEX_FILE": str(index)}
        what = f"checkout {revision[:12]}"
        try:
            self._git(["--git-dir", str(mirror), "read-tree", revision], git_env, what)
            self._git(
                ["--git-dir", str(mirror), "--work-tree", str(staging), "checkout-index", "--all"],
                git_env,
                what,
            )
            links = self._symlinks(mirror, git_env)
        finally:
            index.unlink(missing_ok=True)
        root = staging.resolve()
        for name in links:
            reason = _link_refusal(root, name)
            if reason is not None:
                raise SourceError(f"revision {revision[:12]}: {name}: {reason}")

    def _symlinks(self, mirror: Path, env: dict[str, str]) -> list[str]:
        """The paths the index holds as symlinks (mode 120000), decoded as the file system names them."""
        try:
            listed = subprocess.run(
                ["git", "--git-dir", str(mirror), "ls-files", "--stage", "-z"],
                env=env,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SourceError(f"git ls-files: timed out after {self.timeout:.0f} s") from None
        if listed.returncode != 0:
            raise SourceError(f"git ls-files: {listed.stderr.decode(errors='replace').strip()}")
        return [
            os.fsdecode(entry.split(b"\t", 1)[1])
            for entry in listed.stdout.split(b"\0")
            if entry.startswith(b"120000 ")
        ]

    # -- plumbing --------------------------------------------------------------------------------------
    def _git(self, args: list[str], env: dict[str, str], what: str | None = None) -> str:
        result = self._git_result(args, env, what)
        if result.returncode != 0:
            raise SourceError(
                f"git {what or args[0]}: {result.stderr.strip() or 'exit ' + str(result.returncode)}"
            )
        return result.stdout

    def _git_result(
        self, args: list[str], env: dict[str, str], what: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                ["git", *args], env=env, capture_output=True, text=True, timeout=self.timeout
            )
        except subprocess.TimeoutExpired as expired:
            raise SourceError(f"git {what or args[0]}: timed out after {self.timeout:.0f} s") from expired

    @contextlib.contextmanager
    def _locked(self, mirror: Path) -> Iterator[None]:
        lock_path = _mkdir(mirror.parent) / f"{mirror.name}.lock"
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _git_env(self, credentials: GitCredentials | None) -> Iterator[dict[str, str]]:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
        }
        config: list[tuple[str, str]] = [("protocol.file.allow", "always")]
        key_dir: Path | None = None
        if credentials is not None:
            if credentials.bearer_token:
                config.append(("http.extraHeader", f"Authorization: Bearer {credentials.bearer_token}"))
            elif credentials.username is not None:
                basic = base64.b64encode(
                    f"{credentials.username}:{credentials.password or ''}".encode()
                ).decode()
                config.append(("http.extraHeader", f"Authorization: Basic {basic}"))
            if credentials.ssh_identity:
                key_dir = Path(tempfile.mkdtemp(prefix="lockstep-ssh-", dir="/dev/shm"))  # memory, never disk
                identity = key_dir / "identity"
                identity.write_bytes(credentials.ssh_identity)
                identity.chmod(0o600)
                ssh = ["ssh", "-i", str(identity), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"]
                if credentials.known_hosts:
                    (key_dir / "known_hosts").write_bytes(credentials.known_hosts)
                    ssh += [
                        "-o",
                        f"UserKnownHostsFile={key_dir / 'known_hosts'}",
                        "-o",
                        "StrictHostKeyChecking=yes",
                    ]
                env["GIT_SSH_COMMAND"] = " ".join(ssh)
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for index, (name, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"] = name
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        try:
            yield env
        finally:
            if key_dir is not None:
                shutil.rmtree(key_dir, ignore_errors=True)


class _Flight:
    """Single flight for one source: a caller waits for the next fetch that starts after it asked (or
    takes one begun at most ``max_age`` seconds before); the callers queued behind a running fetch are all
    answered by one following fetch."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = False
        self._started = 0  # fetches begun
        self._finished = 0  # fetches ended; ``_outcome`` is the last one's, begun at ``_began``
        self._began = 0.0
        self._outcome: Checkout | SourceError | None = None

    def run(self, fetch: Callable[[], Checkout], max_age: float = 0.0) -> Checkout:
        with self._changed:
            asked = time.monotonic()
            wanted = self._started + 1  # the first fetch to begin from now on
            while self._running:
                self._changed.wait()
            if self._finished >= wanted:  # another caller led the fetch this one waited for
                return self._result()
            if max_age > 0 and self._finished and self._began >= asked - max_age:
                return self._result()
            self._running = True
            self._started += 1
            began = time.monotonic()
        outcome: Checkout | SourceError | None = None  # None: an unexpected error, raised to the leader
        try:
            outcome = fetch()
        except SourceError as error:
            outcome = error
        finally:
            with self._changed:
                self._running = False
                self._finished = self._started
                self._began = began
                self._outcome = outcome
                self._changed.notify_all()
        return _checkout_of(outcome)

    def _result(self) -> Checkout:
        return _checkout_of(self._outcome)


def _checkout_of(outcome: Checkout | SourceError | None) -> Checkout:
    if isinstance(outcome, Checkout):
        return outcome
    raise SourceError(str(outcome) if outcome is not None else "the shared git fetch failed")


def _fetch_head(mirror: Path) -> str | None:
    """The commit of the single ref just fetched (``FETCH_HEAD``'s first field)."""
    try:
        first = (mirror / "FETCH_HEAD").read_text().split("\t", 1)[0].strip()
    except OSError:
        return None
    return first if SHA_RE.match(first) else None


def _no_ref(url: str, ref: str | None) -> str:
    return f"{url}: no branch, tag or commit named {ref or 'HEAD'!r}"


def _link_refusal(root: Path, name: str) -> str | None:
    """Why the symlink ``name`` under ``root`` (resolved) is refused, in the words the build uses
    (core_sync.confine)."""
    link = root / name
    if link.readlink().is_absolute():
        return "absolute symlink is not allowed (symlinks must be relative)"
    try:
        resolved = link.resolve()  # a chain of links is followed to its end
    except RuntimeError:  # a loop (Python < 3.13): it leads nowhere; the build names it when it is read
        return None
    if resolved != root and root not in resolved.parents:
        return "symlink points outside the repository"
    return None


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
