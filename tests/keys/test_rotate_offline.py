"""The runbook offline (``--offline --keys BACKUP``) on a real Git repo: kubeseal and sops are the oracles."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from core_sync.testing.binaries import sops
from tests.keys.conftest import AgeKey, Keys, git, kubeseal_unseal, lockstep, tree_bytes

CIPHERTEXT = re.compile(r"A[gQ][A-Za-z0-9+/]{300,}={0,2}")
SEALED_FILES = 18
SOPS_FILES = 5


def sops_env(identity: AgeKey) -> dict[str, str]:
    return {"SOPS_AGE_KEY_FILE": str(identity.file)}


def rotate(
    repo: Path, keys: Keys, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return lockstep(
        "keys", "rotate", "--repo", str(repo), "--offline", "--keys", str(keys.backup), *extra, env=env
    )


def sealed_files(repo: Path) -> list[Path]:
    return sorted(p for p in (repo / "apps").iterdir() if not p.name.startswith("."))  # not write temps


def unsealed_data(data: bytes, key: Path) -> list[dict[str, str]]:
    """kubeseal --recovery-unseal of every SealedSecret document in a file, one document at a time."""
    out = []
    for document in yaml.safe_load_all(data):
        if not document or document.get("kind") != "SealedSecret":
            continue
        done = kubeseal_unseal(json.dumps(document).encode(), key)
        assert done.returncode == 0, done.stderr.decode()
        out.append(json.loads(done.stdout)["data"])
    return out


def sops_decrypt(path: Path, identity: AgeKey) -> bytes:
    done = subprocess.run(
        [str(sops()), "decrypt", str(path)],
        capture_output=True,
        env={
            "SOPS_AGE_KEY_FILE": str(identity.file),
            "SOPS_DISABLE_VERSION_CHECK": "1",
            "HOME": "/nonexistent",
        },
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def test_rotates_every_file_and_each_opens_with_the_new_key_only(
    repo: Path, sealing_keys: Keys, age_keys: tuple[AgeKey, AgeKey]
) -> None:
    a, b = age_keys
    before = tree_bytes(repo)
    plain_before = {p.name: unsealed_data(p.read_bytes(), sealing_keys.old.key) for p in sealed_files(repo)}
    sops_before = {i: sops_decrypt(repo / "secrets" / f"s{i}.yaml", a) for i in range(SOPS_FILES)}

    done = rotate(repo, sealing_keys, "--yes", "-o", "json", env=sops_env(a))
    assert done.returncode == 0, done.stderr + done.stdout
    report = json.loads(done.stdout)
    assert report["target_key"] == sealing_keys.new.name
    assert report["target_fingerprint"] == sealing_keys.new.pair.fingerprint
    assert report["summary"] == {"rotated": SEALED_FILES + SOPS_FILES}
    assert all(f["verified"] for f in report["files"])
    sealed = [f for f in report["files"] if f["kind"] == "sealed"]
    assert {f["old_key"] for f in sealed} == {sealing_keys.old.name}
    assert {f["new_key"] for f in sealed} == {sealing_keys.new.name}
    assert sum(f["sealed_secrets"] for f in sealed) == 20
    sops_reports = [f for f in report["files"] if f["kind"] == "sops"]
    assert {f["old_key"] for f in sops_reports} == {a.recipient}
    assert {f["new_key"] for f in sops_reports} == {",".join(sorted([a.recipient, b.recipient]))}

    after = tree_bytes(repo)
    for path in sealed_files(repo):
        data = path.read_bytes()
        # each value opens with the new key (kubeseal as the oracle), to the same plaintext ...
        assert unsealed_data(data, sealing_keys.new.key) == plain_before[path.name]
        # ... and no longer with the old one
        first = next(d for d in yaml.safe_load_all(data) if d and d.get("kind") == "SealedSecret")
        assert kubeseal_unseal(json.dumps(first).encode(), sealing_keys.old.key).returncode != 0
        # the file layout is unchanged apart from the ciphertexts (comments, order, other objects)
        rel = str(path.relative_to(repo))
        assert CIPHERTEXT.sub("X", data.decode()) == CIPHERTEXT.sub("X", before[rel].decode())
        assert data != before[rel]
    for i in range(SOPS_FILES):
        path = repo / "secrets" / f"s{i}.yaml"
        assert after[str(path.relative_to(repo))] != before[str(path.relative_to(repo))]
        assert sops_decrypt(path, b) == sops_before[i]  # B was added from .sops.yaml: opens with B alone
        assert sops_decrypt(path, a) == sops_before[i]
    assert after["README.md"] == before["README.md"]
    assert git(repo, "status", "--porcelain").count("\n") == SEALED_FILES + SOPS_FILES


def test_dry_run_changes_nothing(repo: Path, sealing_keys: Keys, age_keys: tuple[AgeKey, AgeKey]) -> None:
    before = tree_bytes(repo)
    git_dir_before = sorted(p.name for p in (repo / ".git").iterdir())
    done = rotate(repo, sealing_keys, "--dry-run", env=sops_env(age_keys[0]))
    assert done.returncode == 0, done.stderr
    assert "would re-encrypt: 23 planned" in done.stdout
    assert sealing_keys.new.name in done.stdout
    assert tree_bytes(repo) == before
    assert sorted(p.name for p in (repo / ".git").iterdir()) == git_dir_before  # no journal either
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("fault", ["kill-after-write:7", "kill-before-write:20"])
def test_a_killed_run_resumes_and_finishes(
    repo: Path, sealing_keys: Keys, age_keys: tuple[AgeKey, AgeKey], fault: str
) -> None:
    a, b = age_keys
    plain_before = {p.name: unsealed_data(p.read_bytes(), sealing_keys.old.key) for p in sealed_files(repo)}
    killed = rotate(repo, sealing_keys, "--yes", env={**sops_env(a), "LOCKSTEP_ROTATE_FAULT": fault})
    assert killed.returncode == -9, killed.stderr
    changed = git(repo, "status", "--porcelain").splitlines()
    if fault.startswith("kill-before"):  # the first batch of 16 was written, the second journaled only
        assert len(changed) == 16
    else:  # at least 7 written; writes in flight on other threads may have landed too
        assert 7 <= len(changed) <= 16
    assert (repo / ".git" / "lockstep-rotate.jsonl").exists()

    done = rotate(repo, sealing_keys, "--yes", "-o", "json", env=sops_env(a))
    assert done.returncode == 0, done.stderr + done.stdout
    report = json.loads(done.stdout)
    assert report["resumed"] == [str(repo)]
    assert report["summary"] == {"rotated": SEALED_FILES + SOPS_FILES}
    assert all(f["verified"] for f in report["files"])
    assert not list(repo.rglob("*.tmp"))  # temps of writes the kill cut short were cleared
    for path in sealed_files(repo):
        assert unsealed_data(path.read_bytes(), sealing_keys.new.key) == plain_before[path.name]
    for i in range(SOPS_FILES):
        sops_decrypt(repo / "secrets" / f"s{i}.yaml", b)


@pytest.mark.parametrize("edit", ["rewritten", "untouched", "new-file"])
def test_a_repo_edited_meanwhile_is_refused_cleanly(
    repo: Path, sealing_keys: Keys, age_keys: tuple[AgeKey, AgeKey], edit: str
) -> None:
    a = age_keys[0]
    killed = rotate(
        repo, sealing_keys, "--yes", env={**sops_env(a), "LOCKSTEP_ROTATE_FAULT": "kill-after-write:5"}
    )
    assert killed.returncode == -9
    status = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    changed = [line[3:] for line in status if not line.endswith(".tmp")]  # temps: writes cut short
    untouched = next(
        str(p.relative_to(repo)) for p in sealed_files(repo) if str(p.relative_to(repo)) not in changed
    )
    target = {
        "rewritten": repo / changed[0],
        "untouched": repo / untouched,
        "new-file": repo / "apps" / "extra.yaml",
    }[edit]
    with target.open("a") as handle:
        handle.write("# edited by hand\n")
    before = tree_bytes(repo)
    journal = (repo / ".git" / "lockstep-rotate.jsonl").read_bytes()

    done = rotate(repo, sealing_keys, "--yes", env=sops_env(a))
    assert done.returncode == 1
    assert "edited since the interrupted run" in done.stderr
    assert str(target.relative_to(repo)) in done.stderr
    assert "Traceback" not in done.stderr
    assert tree_bytes(repo) == before
    assert (repo / ".git" / "lockstep-rotate.jsonl").read_bytes() == journal


def test_a_dirty_tree_is_refused_before_anything_changes(repo: Path, sealing_keys: Keys) -> None:
    (repo / "apps" / "db0.json").write_text("{}\n")
    before = tree_bytes(repo)
    done = rotate(repo, sealing_keys, "--yes")
    assert done.returncode == 1
    assert "working tree not clean" in done.stderr and "apps/db0.json" in done.stderr
    assert tree_bytes(repo) == before


def test_without_a_terminal_it_refuses_unless_yes(repo: Path, sealing_keys: Keys) -> None:
    before = tree_bytes(repo)
    done = rotate(repo, sealing_keys)
    assert done.returncode == 1
    assert "pass --yes" in done.stderr
    assert tree_bytes(repo) == before


def test_commit_to_a_new_branch_and_a_second_run_finds_everything_current(
    repo: Path, sealing_keys: Keys, age_keys: tuple[AgeKey, AgeKey]
) -> None:
    a = age_keys[0]
    done = rotate(repo, sealing_keys, "--yes", "--commit", "rotate-keys", env=sops_env(a))
    assert done.returncode == 0, done.stderr + done.stdout
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "rotate-keys"
    assert git(repo, "status", "--porcelain") == ""
    files = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert len(files) == SEALED_FILES + SOPS_FILES
    again = rotate(repo, sealing_keys, "--yes", "-o", "json", env=sops_env(a))
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)["summary"]
    assert summary == {"current": SEALED_FILES, "rotated": SOPS_FILES}  # SOPS: a new data key each run


def test_bad_inputs_are_clear_errors(repo: Path, sealing_keys: Keys, tmp_path: Path) -> None:
    missing = lockstep(
        "keys", "rotate", "--repo", str(repo), "--offline", "--keys", str(tmp_path / "nope"), "--yes"
    )
    assert missing.returncode == 1 and "nope" in missing.stderr and "Traceback" not in missing.stderr
    garbage = tmp_path / "garbage.yaml"
    garbage.write_text("kind: ConfigMap\n")
    bad = lockstep("keys", "rotate", "--repo", str(repo), "--offline", "--keys", str(garbage), "--yes")
    assert bad.returncode == 1 and "not a key backup" in bad.stderr
    not_git = tmp_path / "plain"
    not_git.mkdir()
    nogit = lockstep(
        "keys", "rotate", "--repo", str(not_git), "--offline", "--keys", str(sealing_keys.backup), "--yes"
    )
    assert nogit.returncode == 1 and "Traceback" not in nogit.stderr and str(not_git) in nogit.stderr
    no_offline_keys = lockstep("keys", "rotate", "--repo", str(repo), "--offline", "--yes")
    assert no_offline_keys.returncode == 1 and "--offline needs --keys BACKUP" in no_offline_keys.stderr


def test_offline_with_an_age_encrypted_backup(
    repo: Path, sealing_keys: Keys, age_keys: tuple[AgeKey, AgeKey], tmp_path: Path
) -> None:
    from sealed.keybackup import age_encrypt

    a, b = age_keys
    encrypted = tmp_path / "keys.age"
    encrypted.write_bytes(age_encrypt(sealing_keys.backup.read_bytes(), [b.recipient]))
    base = (
        "keys",
        "rotate",
        "--repo",
        str(repo),
        "--offline",
        "--keys",
        str(encrypted),
        "--yes",
        "-o",
        "json",
    )
    wrong = lockstep(*base, "--age-identity", str(a.file), env=sops_env(a))
    assert wrong.returncode == 1 and "no age identity given can decrypt the backup" in wrong.stderr
    done = lockstep(*base, "--age-identity", str(b.file), env=sops_env(a))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"] == {"rotated": SEALED_FILES + SOPS_FILES}
    assert unsealed_data((repo / "apps" / "db3.json").read_bytes(), sealing_keys.new.key)


def test_a_file_no_key_opens_fails_alone_and_a_fixed_repo_starts_over(
    repo: Path, sealing_keys: Keys, age_keys: tuple[AgeKey, AgeKey], tmp_path: Path
) -> None:
    from sealed.format.keygen import generate_key_pair
    from tests.keys.conftest import kubeseal, secret

    a = age_keys[0]
    foreign = generate_key_pair(2048)
    (tmp_path / "foreign.crt").write_bytes(foreign.cert_pem)
    sealed = kubeseal(
        "--cert", str(tmp_path / "foreign.crt"), "-o", "json", stdin=secret("x", "app", {"k": "v"})
    )
    (repo / "apps" / "foreign.json").write_bytes(sealed)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a SealedSecret from another cluster")

    failed = rotate(repo, sealing_keys, "--yes", "-o", "json", env=sops_env(a))
    assert failed.returncode == 1
    report = json.loads(failed.stdout)
    bad = [f for f in report["files"] if f["status"] == "failed"]
    assert [f["path"] for f in bad] == ["apps/foreign.json"]
    assert "no key could decrypt secret" in bad[0]["error"]
    assert report["summary"] == {"failed": 1, "rotated": SEALED_FILES + SOPS_FILES}
    assert (repo / "apps" / "foreign.json").read_bytes() == sealed  # untouched

    git(repo, "checkout", "--", ".")  # the operator fixes the repo: drops the stranger, commits
    git(repo, "rm", "-q", "apps/foreign.json")
    git(repo, "commit", "-q", "-m", "drop it")
    done = rotate(repo, sealing_keys, "--yes", "-o", "json", env=sops_env(a))
    assert done.returncode == 0, done.stderr + done.stdout
    report = json.loads(done.stdout)
    assert report["summary"] == {"rotated": SEALED_FILES + SOPS_FILES}
    assert any("started over" in note for note in report["notes"])


def test_tracked_symlinks_are_skipped_never_written_through(
    repo: Path, sealing_keys: Keys, age_keys: tuple[AgeKey, AgeKey], tmp_path: Path
) -> None:
    """A tracked symlink to a SealedSecret outside the repository (relative or absolute) is listed as
    skipped with its reason and the file outside keeps its bytes; one inside is skipped too (its target
    is rotated where it lives), so each file is rewritten once."""
    outside = tmp_path / "outside.yaml"
    outside.write_bytes((repo / "apps" / "api0.yaml").read_bytes())
    (repo / "links").mkdir()
    (repo / "links" / "relative.yaml").symlink_to(Path("..") / ".." / "outside.yaml")
    (repo / "links" / "absolute.yaml").symlink_to(outside)
    (repo / "links" / "inside.yaml").symlink_to(Path("..") / "apps" / "api1.yaml")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "links")
    before = outside.read_bytes()
    done = rotate(repo, sealing_keys, "--yes", "-o", "json", env=sops_env(age_keys[0]))
    assert done.returncode == 0, done.stderr + done.stdout
    report = json.loads(done.stdout)
    assert report["summary"] == {"rotated": SEALED_FILES + SOPS_FILES}
    skipped = "\n".join(report["skipped"])
    assert "links/relative.yaml: symlink points outside the repository: not followed" in skipped
    assert "links/absolute.yaml: absolute symlink is not allowed" in skipped
    assert "links/inside.yaml: symlink: skipped" in skipped
    assert outside.read_bytes() == before
    assert (repo / "links" / "relative.yaml").is_symlink()
