"""The git source over real protocols: git daemon and smart HTTP with basic and bearer auth."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core_sync.source import Checkout, GitCredentials, GitSource, SourceError
from core_sync.testing import ControlPlane, GitHttpServer, GitServer, SshGitServer
from core_sync.testing.services import git
from tests.core_sync.conftest import Apps, Operator, configmap


def test_branch_tag_commit_and_incremental_fetch(git_server: GitServer, tmp_path: Path) -> None:
    url = git_server.create_repo("src", {"deploy/a.yaml": "a: 1\n"})
    source = GitSource(tmp_path)
    first = source.fetch(url, "main")
    assert (first.path("deploy") / "a.yaml").read_text() == "a: 1\n"
    second_sha = git_server.commit("src", {"deploy/b.yaml": "b: 2\n"})
    second = source.fetch(url, "main")
    assert second.revision == second_sha and (second.path("deploy") / "b.yaml").exists()
    assert source.fetch(url, first.revision).revision == first.revision  # a commit SHA, already cached
    assert source.fetch(url).revision == second_sha  # the remote HEAD
    with pytest.raises(SourceError, match="no branch, tag or commit named 'nope'"):
        source.fetch(url, "nope")
    with pytest.raises(SourceError, match="path 'missing' not found"):
        second.path("missing")
    with pytest.raises(SourceError, match="leaves the repository"):
        second.path("../../etc")


def test_tags_annotated_and_lightweight_and_a_branch_wins_over_a_tag(
    git_server: GitServer, tmp_path: Path
) -> None:
    url = git_server.create_repo("tags", {"deploy/a.yaml": "a: 1\n"})
    first = git_server.commit("tags", {"deploy/a.yaml": "a: 1\n"}, message="first")
    second = git_server.commit("tags", {"deploy/a.yaml": "a: 2\n"}, message="second")
    bare = git_server.root / "tags.git"
    git("-C", str(bare), "tag", "-a", "v1", "-m", "release 1", first)
    git("-C", str(bare), "tag", "light", first)
    git("-C", str(bare), "tag", "same", first)
    git("-C", str(bare), "branch", "same", second)
    source = GitSource(tmp_path)
    assert source.fetch(url, "v1").revision == first  # the commit, not the tag object
    assert source.fetch(url, "refs/tags/v1").revision == first
    assert source.fetch(url, "light").revision == first
    assert source.fetch(url, "same").revision == second  # the branch, as before
    assert source.fetch(url, "refs/tags/same").revision == first
    assert (source.fetch(url, "v1").path("deploy") / "a.yaml").read_text() == "a: 1\n"


class CountingSource(GitSource):
    """A real GitSource that counts the fetches it makes."""

    fetches = 0

    def _fetch(self, url: str, ref: str | None, credentials: GitCredentials | None) -> Checkout:
        self.fetches += 1
        return super()._fetch(url, ref, credentials)


def test_concurrent_fetches_of_one_source_share_a_fetch_but_never_a_stale_one(
    git_server: GitServer, tmp_path: Path
) -> None:
    url = git_server.create_repo("shared", {"deploy/a.yaml": "a: 1\n"})
    source = CountingSource(tmp_path)
    together = threading.Barrier(8)

    def fetch_together(_: int) -> str:
        together.wait()
        return source.fetch(url, "main").revision

    with ThreadPoolExecutor(8) as pool:
        revisions = set(pool.map(fetch_together, range(8)))
    assert len(revisions) == 1
    assert 1 <= source.fetches <= 2  # 8 callers: the first fetch, and one for all who queued behind it
    pushed = git_server.commit("shared", {"deploy/a.yaml": "a: 2\n"})
    assert source.fetch(url, "main").revision == pushed  # a call after the push sees the push
    fetches = source.fetches
    newer = git_server.commit("shared", {"deploy/a.yaml": "a: 3\n"})
    assert source.fetch(url, "main", max_age=60).revision == pushed  # a recent fetch may serve: no new one
    assert source.fetches == fetches
    assert source.fetch(url, "main", max_age=0.001).revision == newer  # too old for this caller
    with pytest.raises(SourceError, match="no branch, tag or commit named 'gone'"):
        source.fetch(url, "gone")
    with ThreadPoolExecutor(4) as pool:  # a failed shared fetch fails every caller with its own error
        failures = list(pool.map(lambda _: _error_of(lambda: source.fetch(url, "gone")), range(4)))
    assert all("no branch, tag or commit named 'gone'" in f for f in failures)


def _error_of(call: Callable[[], object]) -> str:
    try:
        call()
    except SourceError as error:
        return str(error)
    return "no error"


def test_basic_auth_over_smart_http(tmp_path: Path) -> None:
    with GitHttpServer(tmp_path / "repos", basic=("deploy", "s3cret-pass")) as server:
        url = server.create_repo("private", {"deploy/a.yaml": "a: 1\n"})
        source = GitSource(tmp_path / "cache")
        with pytest.raises(SourceError) as refused:
            source.fetch(url, "main")
        assert "s3cret-pass" not in str(refused.value)
        good = source.fetch(url, "main", GitCredentials(username="deploy", password="s3cret-pass"))
        assert (good.path("deploy") / "a.yaml").exists()
        with pytest.raises(SourceError) as wrong:
            source.fetch(url, "main", GitCredentials(username="deploy", password="wrong-pass"))
        assert "wrong-pass" not in str(wrong.value)


def test_application_with_a_token_secret(
    operator: Operator, apps: Apps, control_plane: ControlPlane, tmp_path: Path
) -> None:
    with GitHttpServer(tmp_path / "repos", bearer="tok-123456") as server:
        url = server.create_repo("tokened", {"deploy/a.yaml": configmap("a", "1")})
        control_plane.client.create(
            f"/api/v1/namespaces/{apps.namespace}/secrets",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "git-creds"},
                "data": {"bearerToken": base64.b64encode(b"tok-123456").decode()},
            },
        )
        apps.create("tokened", url, secret_ref="git-creds", interval="1h")
        apps.wait_ready("tokened")
        assert control_plane.client.get(f"/api/v1/namespaces/{apps.namespace}/configmaps/a")["data"] == {
            "value": "1"
        }


def test_ssh_key_with_known_hosts(tmp_path: Path) -> None:
    with SshGitServer(tmp_path / "repos") as server:
        url = server.create_repo("over-ssh", {"deploy/a.yaml": "a: 1\n"})
        source = GitSource(tmp_path / "cache")
        creds = GitCredentials(ssh_identity=server.client_key, known_hosts=server.known_hosts)
        checkout = source.fetch(url, "main", creds)
        assert (checkout.path("deploy") / "a.yaml").read_text() == "a: 1\n"
        assert not list(Path("/dev/shm").glob("lockstep-ssh-*"))  # the key lived in memory, briefly
        wrong_host = GitCredentials(
            ssh_identity=server.client_key, known_hosts=b"[127.0.0.1]:1 ssh-ed25519 AAAA\n"
        )
        with pytest.raises(SourceError, match=r"Host key verification failed|No ED25519 host key"):
            GitSource(tmp_path / "cache2").fetch(url, "main", wrong_host)


def test_file_urls(git_server: GitServer, tmp_path: Path) -> None:
    git_server.create_repo("local", {"deploy/a.yaml": "a: 1\n"})
    checkout = GitSource(tmp_path).fetch(f"file://{git_server.root}/local.git", "main")
    assert (checkout.path("deploy") / "a.yaml").exists()


def test_mirror_maintenance_still_runs_after_fetches(git_server: GitServer, tmp_path: Path) -> None:
    """Fetches skip git's auto maintenance (its process start was on every push's way to the cluster) and
    GitSource starts it beside them: a mirror whose packs pass ``gc.autoPackLimit`` still gets repacked."""
    import time

    url = git_server.create_repo("kept", {"deploy/a.yaml": "a: 0\n"})
    source = GitSource(tmp_path)
    source.fetch(url, "main")
    (mirror,) = (tmp_path / "git" / "repos").glob("*.git")
    for name, value in (("fetch.unpackLimit", "1"), ("gc.autoPackLimit", "2"), ("gc.autoDetach", "false")):
        git("-C", str(mirror), "config", name, value)  # each fetch keeps its pack; three packs are too many

    def packs() -> int:
        return len(list((mirror / "objects" / "pack").glob("*.pack")))

    for n in range(1, 4):
        git_server.commit("kept", {"deploy/a.yaml": f"a: {n}\n"})
        source.fetch(url, "main")
    deadline = time.monotonic() + 30
    while packs() > 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert packs() <= 2, "the mirror's packs were never repacked"


def test_maintenance_runs_only_after_a_fetch_that_moved_the_revision(
    git_server: GitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator's shared fetches mostly find nothing new: those add no object, so no maintenance
    process is started for them (one per fetch was 3 replicas x every few seconds of process starts)."""
    url = git_server.create_repo("quiet", {"deploy/a.yaml": "a: 0\n"})
    source = GitSource(tmp_path)
    started: list[Path] = []
    monkeypatch.setattr(source, "_maintain", started.append)
    source.fetch(url, "main")
    source.fetch(url, "main")
    source.fetch(url, "main")
    assert len(started) == 1
    git_server.commit("quiet", {"deploy/a.yaml": "a: 1\n"})
    source.fetch(url, "main")
    assert len(started) == 2
