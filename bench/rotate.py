"""Benchmark: re-encrypting 1,000 SealedSecret files to a new key, Lockstep's runbook vs a kubeseal loop.

Ours: one ``lockstep keys rotate --offline --keys BACKUP --repo DIR --yes`` over a Git working tree of N
SealedSecret files (3 items each, kubeseal's JSON layout) — the whole runbook: preflight, plan, journal,
re-encrypt in place, verify every file from disk with the new key alone. Peer: the loop people write
today, per file ``kubeseal --recovery-unseal --recovery-private-key OLD | kubeseal --cert NEW.crt`` into
the file (two processes per file, as a shell pipeline would run them). Both start from identical copies
of the same files, in the same run; both results are checked to open with the new key.

Target from issue #9: ours >= 20x faster. Usage: ``.venv/bin/python bench/rotate.py [--files N]``.
Last line: ``RESULT {json}`` with ``ours_s``, ``peer_s``, ``ratio``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from core_sync.testing import kubeseal
from sealed.format import crypto
from sealed.format.certs import parse_certificate_pem
from sealed.format.convert import SealOptions, parse_secret, seal, unseal
from sealed.format.keygen import SealingKeyPair, generate_key_pair
from sealed.format.keys import load_private_keys
from sealed.format.serialize import to_json
from sealed.keys import key_secret_manifest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@lockstep.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@lockstep.invalid",
}


def backup(directory: Path, old: SealingKeyPair, new: SealingKeyPair) -> Path:
    items = []
    for name, pair in (("sealed-secrets-keyold01", old), ("sealed-secrets-keynew01", new)):
        manifest = key_secret_manifest(pair)
        manifest["metadata"].pop("generateName")
        manifest["metadata"]["name"] = name
        items.append(manifest)
    path = directory / "backup.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    return path


def make_files(directory: Path, cert_pem: bytes, count: int, items: int) -> None:
    key = crypto.public_key(parse_certificate_pem(cert_pem))

    def encrypt(plaintext: bytes, label: bytes) -> bytes:
        return crypto.hybrid_encrypt(key, plaintext, label)

    directory.mkdir(parents=True)
    for i in range(count):
        values = {"password": os.urandom(12).hex(), "username": f"user-{i}", "url": f"postgres://db-{i}"}
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"app-{i}", "namespace": "bench"},
            "stringData": dict(list(values.items())[:items]),
        }
        sealed = seal(parse_secret(secret), encrypt, SealOptions())
        (directory / f"app-{i}.json").write_text(to_json(sealed) + "\n")


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ours(repo: Path, backup_path: Path) -> float:
    env = {**os.environ, **GIT_ENV, "KUBECONFIG": "/nonexistent"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "core_sync.cli", "keys", "rotate", "--repo", str(repo), "--offline", "--keys",
         str(backup_path), "--yes", "-o", "json"],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"lockstep keys rotate failed: {done.stderr}{done.stdout[-2000:]}")
    summary = json.loads(done.stdout)["summary"]
    print(f"ours: {summary}", file=sys.stderr)
    return elapsed


def run_peer(directory: Path, old_key: Path, new_cert: Path) -> float:
    binary = str(kubeseal())
    env = {**os.environ, "KUBECONFIG": "/nonexistent"}
    files = sorted(directory.glob("*.json"))
    start = time.perf_counter()
    for path in files:
        with path.open("rb") as source:
            unseal_proc = subprocess.Popen(
                [binary, "--recovery-unseal", "--recovery-private-key", str(old_key), "-o", "json"],
                stdin=source, stdout=subprocess.PIPE, env=env,
            )  # fmt: skip
            sealed = subprocess.run(
                [binary, "--cert", str(new_cert), "-o", "json"],
                stdin=unseal_proc.stdout, capture_output=True, env=env, check=False,
            )  # fmt: skip
            assert unseal_proc.stdout is not None
            unseal_proc.stdout.close()
        if unseal_proc.wait() != 0 or sealed.returncode != 0:
            raise SystemExit(f"kubeseal loop failed on {path}: {sealed.stderr.decode()}")
        path.write_bytes(sealed.stdout)
    return time.perf_counter() - start


def check_opens(directory: Path, new: SealingKeyPair, sample: int = 20) -> int:
    """Both results must open with the new key alone (a sample of files, to keep the bench short)."""
    keys = load_private_keys(new.key_pem)
    files = sorted(directory.glob("*.json"))
    step = max(len(files) // sample, 1)
    for path in files[::step]:
        unseal(json.loads(path.read_text()), keys)
    return len(files[::step])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--items", type=int, default=3, choices=(1, 2, 3), help="values per SealedSecret")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lockstep-bench-rotate-"))
    try:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        old = generate_key_pair(4096, not_before=now - dt.timedelta(days=40))
        new = generate_key_pair(4096, not_before=now)
        (work / "old.key").write_bytes(old.key_pem)
        (work / "new.crt").write_bytes(new.cert_pem)
        backup_path = backup(work, old, new)
        make_files(work / "peer", old.cert_pem, args.files, args.items)
        repo = work / "ours"
        shutil.copytree(work / "peer", repo / "secrets")
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "secrets")
        print(f"{args.files} SealedSecret files, {args.items} item(s) each, RSA-4096", file=sys.stderr)
        cpu = children_cpu()
        ours = run_ours(repo, backup_path)
        ours_cpu, cpu = children_cpu() - cpu, children_cpu()
        print(
            f"ours (lockstep keys rotate --offline, whole runbook): {ours:.2f} s, cpu {ours_cpu:.2f} s",
            file=sys.stderr,
        )
        peer = run_peer(work / "peer", work / "old.key", work / "new.crt")
        peer_cpu = children_cpu() - cpu
        print(
            f"peer (kubeseal --recovery-unseal | kubeseal --cert): {peer:.2f} s, cpu {peer_cpu:.2f} s",
            file=sys.stderr,
        )
        checked = check_opens(repo / "secrets", new) + check_opens(work / "peer", new)
        ratio = peer / ours
        print(f"ratio: ours is {ratio:.1f}x faster (target >= 20x); {checked} files checked to open")
        result = {
            "files": args.files,
            "items_per_file": args.items,
            "ours_s": round(ours, 3),
            "peer_s": round(peer, 3),
            "ours_cpu_s": round(ours_cpu, 3),
            "peer_cpu_s": round(peer_cpu, 3),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "cpus": os.cpu_count(),
            "ratio": round(ratio, 2),
            "target_ratio": 20,
            "meets_target": ratio >= 20,
        }
        print("RESULT " + json.dumps(result, sort_keys=True))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
