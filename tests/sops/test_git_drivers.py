"""``lockstep sops git-setup`` in a real repository: real ``git merge`` of branches that changed the same SOPS
file (different keys → clean, and the real sops 3.13.2 decrypts both changes; the same key → a conflict git
reports, with no plaintext in the work tree), ``git diff`` through the textconv driver (masked, or values
with ``--show-values``), idempotent re-runs and ``--unset``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import AgeKey, Sops

PLAIN = b"db:\n    user: admin\n    password: hunter2\napi_token: tok-1\nport: 5432\n"
ENC = re.compile(rb"ENC\[AES256_GCM,[^\]]*\]")
LOCKSTEP = Path(sys.executable).parent / "lockstep"


class Repo:
    def __init__(self, root: Path, key: AgeKey, sops_bin: Sops) -> None:
        self.root = root
        self.key = key
        self.sops = sops_bin
        home = root.parent / "home"
        home.mkdir(exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "GIT_", "EDITOR"))}
        self.env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / "xdg"),
            GIT_CONFIG_NOSYSTEM="1",
            SOPS_AGE_KEY_FILE=str(key.file),
            SOPS_DISABLE_VERSION_CHECK="1",
        )

    def run(
        self, *args: str, check: bool = True, editor: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env, EDITOR=editor) if editor else self.env
        done = subprocess.run(args, cwd=self.root, env=env, capture_output=True, text=True, check=False)
        if check:
            assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args, check=check)

    def lockstep(
        self, *args: str, check: bool = True, editor: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run(str(LOCKSTEP), "sops", *args, check=check, editor=editor)

    def edit(self, path: str, sed: str) -> None:
        self.lockstep("edit", path, editor=f"sed -i {sed}")

    def decrypt(self, path: str, key_file: Path | None = None) -> bytes:
        return self.sops.ok("decrypt", path, key_file=key_file or self.key.file, cwd=self.root)


def new_repo(tmp_path: Path, key: AgeKey, sops_bin: Sops) -> Repo:
    """An empty repository on branch main with a committer configured."""
    root = tmp_path / "repo"
    root.mkdir(exist_ok=True)
    r = Repo(root, key, sops_bin)
    r.git("init", "-q", "-b", "main")
    r.git("config", "user.email", "dev@example.com")
    r.git("config", "user.name", "dev")
    return r


@pytest.fixture
def repo(tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops) -> Repo:
    r = new_repo(tmp_path, key1, sops_latest_bin)
    root = r.root
    (root / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: {key1.recipient}\n"
    )
    (root / "secrets").mkdir()
    (root / "plain.yaml").write_bytes(PLAIN)
    enc = sops_latest_bin.ok(
        "encrypt", "--filename-override", "secrets/db.enc.yaml", "plain.yaml", key_file=key1.file, cwd=root
    )
    (root / "plain.yaml").unlink()
    (root / "secrets" / "db.enc.yaml").write_bytes(enc)
    r.git("add", "-A")
    r.git("commit", "-qm", "init")
    r.lockstep("git-setup")
    r.git("add", ".gitattributes")
    r.git("commit", "-qm", "sops drivers")
    return r


def _branches(repo: Repo, ours: str, theirs: str) -> None:
    """Branch ``feature`` applies ``theirs`` (a sed expression), main applies ``ours``."""
    repo.git("checkout", "-qb", "feature")
    repo.edit("secrets/db.enc.yaml", theirs)
    repo.git("commit", "-qam", "theirs")
    repo.git("checkout", "-q", "main")
    repo.edit("secrets/db.enc.yaml", ours)
    repo.git("commit", "-qam", "ours")


def test_merge_of_different_keys_is_clean_and_keeps_ciphertexts(repo: Repo) -> None:
    _branches(repo, "s/hunter2/hunter3/", "s/tok-1/tok-2/")
    path = repo.root / "secrets" / "db.enc.yaml"
    ours_values = ENC.findall(path.read_bytes())
    theirs_values = ENC.findall(repo.git("show", "feature:secrets/db.enc.yaml").stdout.encode())
    done = repo.git("merge", "--no-edit", "feature")
    assert "CONFLICT" not in done.stdout + done.stderr
    assert repo.git("status", "--porcelain").stdout == ""
    assert repo.decrypt("secrets/db.enc.yaml") == PLAIN.replace(b"hunter2", b"hunter3").replace(
        b"tok-1", b"tok-2"
    )
    merged = ENC.findall(path.read_bytes())
    # user, password, port from ours, api_token from theirs: each byte-identical to the side it came from
    assert merged[:2] == ours_values[:2] and merged[3] == ours_values[3]
    assert merged[2] == theirs_values[2]


def test_merge_of_the_same_key_conflicts_without_plaintext(repo: Repo) -> None:
    _branches(repo, "-e s/5432/7000/", "-e s/5432/6000/ -e s/admin/root/")
    done = repo.git("merge", "--no-edit", "feature", check=False)
    assert done.returncode != 0
    assert "CONFLICT (sops): secrets/db.enc.yaml: changed on both sides: port" in done.stderr
    unmerged = repo.git("ls-files", "-u").stdout
    assert "secrets/db.enc.yaml" in unmerged  # git reports it as conflicted
    assert repo.git("status", "--porcelain").stdout.startswith("UU secrets/db.enc.yaml")
    text = (repo.root / "secrets" / "db.enc.yaml").read_bytes()
    for secret in (b"hunter2", b"7000", b"6000", b"root", b"admin", b"<<<<<<<"):
        assert secret not in text
    # still a valid SOPS file: the merge, with our value at the conflicting key
    assert repo.decrypt("secrets/db.enc.yaml") == PLAIN.replace(b"5432", b"7000").replace(b"admin", b"root")


def test_the_same_change_on_both_sides_is_clean(repo: Repo) -> None:
    _branches(repo, "s/5432/6000/", "s/5432/6000/")
    repo.git("merge", "--no-edit", "feature")
    assert repo.decrypt("secrets/db.enc.yaml") == PLAIN.replace(b"5432", b"6000")


def test_merge_encrypts_for_the_recipients_of_sops_yaml(repo: Repo, key2: AgeKey) -> None:
    _branches(repo, "s/hunter2/hunter3/", "s/tok-1/tok-2/")
    (repo.root / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: {repo.key.recipient},{key2.recipient}\n"
    )
    repo.git("commit", "-qam", "add a recipient")
    with pytest.raises(AssertionError):
        repo.decrypt("secrets/db.enc.yaml", key2.file)  # updatekeys was not run on either branch
    repo.git("merge", "--no-edit", "feature")
    expected = PLAIN.replace(b"hunter2", b"hunter3").replace(b"tok-1", b"tok-2")
    assert repo.decrypt("secrets/db.enc.yaml", key2.file) == expected


def test_a_plain_file_under_the_pattern_gets_gits_text_merge(repo: Repo) -> None:
    notes = repo.root / "secrets" / "notes.enc.yaml"
    notes.write_text("a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "notes")
    repo.git("checkout", "-qb", "feature")
    notes.write_text("a: 1\nb: 2\nc: 3\nd: 4\ne: 50\n")
    repo.git("commit", "-qam", "e")
    repo.git("checkout", "-q", "main")
    notes.write_text("a: 10\nb: 2\nc: 3\nd: 4\ne: 5\n")
    repo.git("commit", "-qam", "a")
    repo.git("merge", "--no-edit", "feature")
    assert notes.read_text() == "a: 10\nb: 2\nc: 3\nd: 4\ne: 50\n"


def test_git_diff_masks_values_unless_show_values(repo: Repo) -> None:
    repo.edit("secrets/db.enc.yaml", "s/hunter2/a-much-longer-password-than-before/")
    diff = repo.git("diff").stdout
    assert "hunter2" not in diff and "a-much-longer" not in diff and "ENC[" not in diff
    removed = re.findall(r"^-\s*password: <secret:([0-9a-f]{8})>$", diff, re.M)
    added = re.findall(r"^\+\s*password: <secret:([0-9a-f]{8})>$", diff, re.M)
    assert len(removed) == len(added) == 1 and removed != added  # same length, whatever the value's length
    assert re.search(r"^ \s*user: <secret:[0-9a-f]{8}>$", diff, re.M)  # unchanged: context, same tag
    assert "+port" not in diff and "-port" not in diff

    repo.lockstep("git-setup", "--show-values")
    diff = repo.git("diff").stdout
    assert "-    password: hunter2" in diff
    assert "+    password: a-much-longer-password-than-before" in diff
    assert repo.git("config", "diff.sops.cachetextconv").stdout.strip() == "false"


def test_setup_is_idempotent_keeps_other_lines_and_unsets(repo: Repo) -> None:
    attributes = repo.root / ".gitattributes"
    attributes.write_text("*.png binary\n" + attributes.read_text() + "*.sh text eol=lf\n")
    repo.lockstep("git-setup")
    first = (attributes.read_text(), repo.git("config", "--local", "--list").stdout)
    repo.lockstep("git-setup")
    assert (attributes.read_text(), repo.git("config", "--local", "--list").stdout) == first
    assert first[0].count("*.enc.yaml diff=sops merge=sops") == 1
    assert first[0].startswith("*.png binary\n") and "*.sh text eol=lf\n" in first[0]

    repo.lockstep("git-setup", "--unset")
    assert attributes.read_text() == "*.png binary\n*.sh text eol=lf\n"
    assert "sops" not in repo.git("config", "--local", "--list").stdout
    repo.lockstep("git-setup", "--unset")  # nothing left to remove: still fine


def test_setup_lists_sops_files_no_glob_reaches(tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops) -> None:
    r = new_repo(tmp_path, key1, sops_latest_bin)
    root = r.root
    (root / "deploy").mkdir()
    (root / "deploy" / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: _secret\\.ya?ml$\n    age: {key1.recipient}\n"
    )
    (root / "deploy" / "plain.yaml").write_bytes(PLAIN)
    enc = sops_latest_bin.ok(
        "encrypt",
        "--filename-override",
        "db_secret.yml",
        "plain.yaml",
        key_file=key1.file,
        cwd=root / "deploy",
    )
    (root / "deploy" / "plain.yaml").unlink()
    (root / "deploy" / "db_secret.yml").write_bytes(enc)
    (root / "deploy" / "readme_secret.yaml").write_text("not: encrypted\n")
    r.git("add", "-A")
    done = r.run(str(LOCKSTEP), "sops", "git-setup", "--config", "deploy/.sops.yaml")
    assert "/deploy/db_secret.yml diff=sops merge=sops" in (root / ".gitattributes").read_text()
    assert "readme_secret" not in (root / ".gitattributes").read_text()
    assert "/deploy/db_secret.yml" in done.stderr
    check = r.git("check-attr", "merge", "diff", "--", "deploy/db_secret.yml").stdout
    assert check == "deploy/db_secret.yml: merge: sops\ndeploy/db_secret.yml: diff: sops\n"


def test_setup_outside_a_repository_fails_clearly(
    tmp_path: Path, key1: AgeKey, sops_latest_bin: Sops
) -> None:
    r = Repo(tmp_path, key1, sops_latest_bin)
    done = r.lockstep("git-setup", check=False)
    assert done.returncode == 1
    assert (
        "lockstep sops git-setup: git rev-parse --show-toplevel: fatal: not a git repository" in done.stderr
    )
    assert "Traceback" not in done.stderr


def test_merge_without_the_key_is_a_conflict_holding_ours(repo: Repo, key2: AgeKey) -> None:
    _branches(repo, "s/hunter2/hunter3/", "s/tok-1/tok-2/")
    path = repo.root / "secrets" / "db.enc.yaml"
    ours = path.read_bytes()
    repo.env["SOPS_AGE_KEY_FILE"] = str(key2.file)  # a key that opens none of the versions
    done = repo.git("merge", "--no-edit", "feature", check=False)
    assert done.returncode != 0
    assert "secrets/db.enc.yaml (ours): Failed to get the data key" in done.stderr
    assert "not merged; it holds our version" in done.stderr
    assert "Traceback" not in done.stderr
    assert path.read_bytes() == ours
    assert repo.git("status", "--porcelain").stdout.startswith("UU secrets/db.enc.yaml")


def test_git_diff_without_the_key_shows_the_file_as_stored(repo: Repo, key2: AgeKey) -> None:
    repo.edit("secrets/db.enc.yaml", "s/hunter2/hunter3/")
    repo.env["SOPS_AGE_KEY_FILE"] = str(key2.file)
    done = repo.git("diff")
    assert re.search(r"^\+\s*password: ENC\[AES256_GCM,", done.stdout, re.M)
    assert "showing it encrypted" in done.stderr
    assert "hunter" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("name", "plain", "ours", "theirs", "merged"),
    [
        (
            "app.enc.json",
            b'{\n\t"user": "admin",\n\t"password": "hunter2",\n\t"port": 5432\n}\n',
            "s/hunter2/hunter3/",
            "s/5432/6000/",
            b'{\n\t"user": "admin",\n\t"password": "hunter3",\n\t"port": 6000\n}\n',
        ),
        (
            "app.enc.env",
            b"USER=admin\nPASSWORD=hunter2\nPORT=5432\n",
            "s/admin/root/",
            "s/5432/6000/",
            b"USER=root\nPASSWORD=hunter2\nPORT=6000\n",
        ),
    ],
)
def test_other_formats_merge_key_by_key_through_listed_files(
    tmp_path: Path,
    key1: AgeKey,
    sops_latest_bin: Sops,
    name: str,
    plain: bytes,
    ours: str,
    theirs: str,
    merged: bytes,
) -> None:
    r = new_repo(tmp_path, key1, sops_latest_bin)
    root = r.root
    # a path_regex with no gitattributes equivalent: git-setup lists the file itself
    (root / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: \\.enc\\.(json|env)$\n    age: {key1.recipient}\n"
    )
    (root / name).write_bytes(plain)
    sops_latest_bin.ok("encrypt", "-i", name, key_file=key1.file, cwd=root)
    r.git("add", "-A")
    r.git("commit", "-qm", "init")
    r.lockstep("git-setup")
    assert f"/{name} diff=sops merge=sops" in (root / ".gitattributes").read_text()
    r.git("add", ".gitattributes")
    r.git("commit", "-qm", "drivers")
    r.git("checkout", "-qb", "feature")
    r.edit(name, theirs)
    r.git("commit", "-qam", "theirs")
    r.git("checkout", "-q", "main")
    r.edit(name, ours)
    r.git("commit", "-qam", "ours")
    r.git("merge", "--no-edit", "feature")
    assert r.git("status", "--porcelain").stdout == ""
    assert r.decrypt(name) == merged


def test_setup_with_a_broken_sops_yaml_says_so(repo: Repo) -> None:
    (repo.root / ".sops.yaml").write_text("creation_rules: [\n")
    before = (repo.root / ".gitattributes").read_text()
    done = repo.lockstep("git-setup", check=False)
    assert done.returncode == 1
    assert ".sops.yaml: not valid YAML" in done.stderr and "Traceback" not in done.stderr
    assert (repo.root / ".gitattributes").read_text() == before
