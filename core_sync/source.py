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
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
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

    # -- public ----------------------------------------------------------------------------------------
    def fetch(self, url: str, ref: str | None = None, credentials: GitCredentials | None = None) -> Checkout:
        """Resolve ``ref`` (branch, tag, commit SHA; default the remote HEAD) and export its tree."""
        key = hashlib.sha256(url.encode()).hexdigest()[:20]
        mirror = self.root / "repos" / f"{key}.git"
        with self._locked(mirror), self._git_env(credentials) as env:
            if not (mirror / "HEAD").exists():
                mirror.mkdir(parents=True, exist_ok=True)
                self._git(["init", "--bare", "--quiet", str(mirror)], env)
            revision, refspec = self._resolve(url, ref, mirror, env)
            if not self._has_commit(mirror, revision, env):
                self._git(
                    ["-C", str(mirror), "fetch", "--quiet", "--no-tags", url, refspec],
                    env,
                    what=f"fetch {url}",
                )
                if not self._has_commit(mirror, revision, env):
                    raise SourceError(f"{url}: commit {revision} not found after fetching {refspec}")
            root = self._export(mirror, key, revision, env)
        return Checkout(url=url, ref=ref or "HEAD", revision=revision, root=root)

    # -- steps -----------------------------------------------------------------------------------------
    def _resolve(self, url: str, ref: str | None, mirror: Path, env: dict[str, str]) -> tuple[str, str]:
        if ref and SHA_RE.match(ref):
            if self._has_commit(mirror, ref, env):
                return ref, ref
            return ref, "+refs/heads/*:refs/remotes/origin/*"  # a commit: fetch branches, then look again
        listing = self._git(["ls-remote", url], env, what=f"ls-remote {url}")
        refs: dict[str, str] = {}
        for line in listing.splitlines():
            sha, _, name = line.partition("\t")
            if name:
                refs[name] = sha
        candidates = (
            ["HEAD"] if not ref else [ref, f"refs/heads/{ref}", f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}"]
        )
        for name in candidates:
            if name in refs:
                remote = name.removesuffix("^{}")
                local = remote if remote.startswith("refs/") else "refs/remote-head"
                return refs[name], f"+{remote}:{local}"
        raise SourceError(f"{url}: no branch, tag or commit named {ref or 'HEAD'!r}")

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
        archive = subprocess.run(
            ["git", "-C", str(mirror), "archive", "--format=tar", revision],
            env=env,
            capture_output=True,
            check=False,
            timeout=self.timeout,
        )
        if archive.returncode != 0:
            raise SourceError(f"git archive {revision}: {archive.stderr.decode(errors='replace').strip()}")
        staging = Path(tempfile.mkdtemp(prefix=f".{revision[:12]}-", dir=_mkdir(checkouts)))
        try:
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                tar.extractall(staging, filter="data")
        except tarfile.FilterError as refused:
            shutil.rmtree(staging, ignore_errors=True)
            name = refused.tarinfo.name
            raise SourceError(f"revision {revision[:12]}: {name}: {_refusal(refused)}") from None
        staging.rename(target)
        for old in sorted(checkouts.iterdir(), key=lambda p: p.stat().st_mtime)[:-KEEP_CHECKOUTS]:
            shutil.rmtree(old, ignore_errors=True)
        return target

    # -- plumbing --------------------------------------------------------------------------------------
    def _git(self, args: list[str], env: dict[str, str], what: str | None = None) -> str:
        try:
            result = subprocess.run(
                ["git", *args], env=env, capture_output=True, text=True, timeout=self.timeout
            )
        except subprocess.TimeoutExpired as expired:
            raise SourceError(f"git {what or args[0]}: timed out after {self.timeout:.0f} s") from expired
        if result.returncode != 0:
            raise SourceError(
                f"git {what or args[0]}: {result.stderr.strip() or 'exit ' + str(result.returncode)}"
            )
        return result.stdout

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


def _refusal(refused: tarfile.FilterError) -> str:
    """Why the tree is refused: the same words the build uses for such files (core_sync.confine)."""
    if isinstance(refused, tarfile.AbsoluteLinkError):
        return "absolute symlink is not allowed (symlinks must be relative)"
    if isinstance(refused, tarfile.LinkOutsideDestinationError):
        return "symlink points outside the repository"
    if isinstance(refused, tarfile.SpecialFileError):
        return "is not a regular file"
    return "path leaves the repository"


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
