"""Benchmark: decrypting SOPS (age) Secrets with Lockstep vs the real sops binary.

Cases:
  batch   1,000 SOPS-encrypted Secrets (10 keys each): one Lockstep process decrypting them all, against
          ``sops decrypt`` run once per file (how KSOPS-style and helm-secrets-style tools use it).
          Target: Lockstep >= 20x faster.
  single  one file per process: ``lockstep sops decrypt FILE`` against ``sops decrypt FILE``, with the
          bare interpreter (``python -c pass``, same venv) timed in the same run (median of --runs).
          Target: Lockstep <= interpreter start + 25 ms, and <= 1.6x the interpreter (issue #16).

Lockstep's packages are copied to a temporary directory, byte-compiled there (as ``pip install`` does) and
put first on ``PYTHONPATH``: this environment sets ``PYTHONDONTWRITEBYTECODE=1`` and the checkout is an
editable install, so without this every start would recompile Lockstep's modules from source and the
single-file case would measure the compiler, not the tool.

The files are written by Lockstep's encryption (``encrypted_regex: ^(data|stringData)$``); before timing,
a sample is decrypted by sops and by Lockstep and compared byte for byte.

Usage: .venv/bin/python bench/sops.py [--count 1000] [--keys 10] [--runs 21]
Last line: ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

BATCH_SCRIPT = """
import sys
from pathlib import Path
from sops_plugin.api import decrypt_bytes
from sops_plugin.identities import from_environment
ids = from_environment()
total = 0
for path in sorted(Path(sys.argv[1]).glob("*.yaml")):
    total += len(decrypt_bytes(path.read_bytes(), "yaml", ids, where=str(path)))
print(total)
"""


def secret_yaml(n: int, keys: int) -> bytes:
    lines = [
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        f"  name: bench-{n:04d}",
        "  namespace: bench",
        "type: Opaque",
        "data:",
    ]
    for k in range(keys):
        value = base64.b64encode(os.urandom(24)).decode()
        lines.append(f"  key-{k:02d}: {value}")
    return ("\n".join(lines) + "\n").encode()


def make_files(directory: Path, count: int, keys: int, recipient: str) -> None:
    from sops_plugin import api
    from sops_plugin.format.encryption import KeyPlan
    from sops_plugin.format.metadata import MasterKey
    from sops_plugin.format.rules import CryptRules

    rules = CryptRules(encrypted_regex="^(data|stringData)$")
    plan = KeyPlan([[MasterKey("age", {"recipient": recipient})]])
    for n in range(count):
        (directory / f"secret-{n:04d}.yaml").write_bytes(
            api.encrypt_bytes(secret_yaml(n, keys), "yaml", rules, plan)
        )


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, cwd=env["HOME"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode()[:300]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()

    import pyrage

    from core_sync.testing.binaries import sops

    sops_bin = str(sops())
    python = sys.executable
    lockstep = str(BIN / "lockstep")
    with tempfile.TemporaryDirectory(prefix="lockstep-bench-sops-") as tmp:
        root = Path(tmp)
        identity = pyrage.x25519.Identity.generate()
        key_file = root / "keys.txt"
        key_file.write_text(f"{identity}\n")
        files = root / "files"
        files.mkdir()
        t0 = time.perf_counter()
        make_files(files, args.count, args.keys, str(identity.to_public()))
        print(f"wrote {args.count} encrypted Secrets in {time.perf_counter() - t0:.2f}s", file=sys.stderr)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
        env.update(SOPS_DISABLE_VERSION_CHECK="1", SOPS_AGE_KEY_FILE=str(key_file), HOME=str(root))
        installed = root / "installed"
        for package in ("gocompat", "core_sync", "sops_plugin"):  # every Lockstep package decrypt imports
            shutil.copytree(REPO / package, installed / package, ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run(
            [python, "-m", "compileall", "-q", str(installed)], stdout=subprocess.DEVNULL, check=True
        )
        env["PYTHONPATH"] = str(installed)
        where = subprocess.run(
            [python, "-c", "import sops_plugin; print(sops_plugin.__file__)"],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not where.startswith(str(installed)):
            raise SystemExit(f"the byte-compiled copy is not the one imported: {where}")
        paths = sorted(files.glob("*.yaml"))

        # Same output from both, checked on a sample before timing.
        for path in paths[:: max(1, len(paths) // 5)]:
            theirs = subprocess.run(
                [sops_bin, "decrypt", str(path)], env=env, capture_output=True, check=True
            ).stdout
            ours = subprocess.run(
                [lockstep, "sops", "decrypt", str(path)], env=env, capture_output=True, check=True
            ).stdout
            if theirs != ours:
                raise SystemExit(f"output differs for {path}")

        # batch: one process for all files vs one sops process per file.
        ours_batch = timed([python, "-c", BATCH_SCRIPT, str(files)], env)
        start = time.perf_counter()
        for path in paths:
            subprocess.run([sops_bin, "decrypt", str(path)], env=env, stdout=subprocess.DEVNULL, check=True)
        peer_batch = time.perf_counter() - start
        print(
            f"batch: lockstep {ours_batch:.3f}s, sops {peer_batch:.3f}s ({peer_batch / ours_batch:.1f}x)",
            file=sys.stderr,
        )

        # single: one file per process, interleaved so load affects all three alike.
        one = str(paths[0])
        samples: dict[str, list[float]] = {"interpreter": [], "ours": [], "peer": []}
        for _ in range(args.runs):
            samples["interpreter"].append(timed([python, "-c", "pass"], env))
            samples["ours"].append(timed([lockstep, "sops", "decrypt", one], env))
            samples["peer"].append(timed([sops_bin, "decrypt", one], env))
        med = {name: statistics.median(values) for name, values in samples.items()}
        print(
            f"single (median of {args.runs}): python -c pass {med['interpreter'] * 1000:.1f} ms, "
            f"lockstep {med['ours'] * 1000:.1f} ms, sops {med['peer'] * 1000:.1f} ms; "
            f"lockstep - interpreter = {(med['ours'] - med['interpreter']) * 1000:.1f} ms, "
            f"{med['ours'] / med['interpreter']:.2f}x the interpreter (target <= 1.6x)",
            file=sys.stderr,
        )
    result = {
        "count": args.count,
        "keys": args.keys,
        "batch": {
            "ours_s": round(ours_batch, 4),
            "peer_s": round(peer_batch, 4),
            "speedup": round(peer_batch / ours_batch, 1),
            "target_speedup": 20,
        },
        "single": {
            "ours_s": round(med["ours"], 4),
            "peer_s": round(med["peer"], 4),
            "interpreter_s": round(med["interpreter"], 4),
            "ours_minus_interpreter_s": round(med["ours"] - med["interpreter"], 4),
            "target_overhead_s": 0.025,
            "ratio_vs_interpreter": round(med["ours"] / med["interpreter"], 2),
            "target_ratio_vs_interpreter": 1.6,
        },
        "interpreter_s": round(med["interpreter"], 4),
    }
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
