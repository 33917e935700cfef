"""Benchmark: ``lockstep seal`` against the real kubeseal, whole processes, in one run.

(a) One Secret (3 keys) sealed by ``lockstep seal`` vs ``kubeseal``, each a fresh process with the same
    certificate file, beside the bare interpreter (``python -c pass``, same venv) for scale. Medians and
    minimums of interleaved runs (on a shared machine the minimum shows the intrinsic cost best). Python
    runs with a bytecode cache, as an installed package has; the figure without one
    (``PYTHONDONTWRITEBYTECODE=1``: every module compiled at start) is reported beside it.
(b) 1,000 Secrets (3 keys each, one file each) sealed by one ``lockstep seal --in-place`` vs a kubeseal
    loop (one process per file, writing ``-w`` next to it).

Targets from issue #3: (a) <= 2.0x kubeseal and <= interpreter + 30 ms; (b) >= 10x faster than the loop.
Target from issue #16: (a) <= 1.6x the interpreter (``ratio_vs_interpreter``, medians of the same run).
Usage: ``.venv/bin/python bench/seal.py [--runs N] [--secrets N]``. Last line: ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core_sync.testing import kubeseal
from sealed.format.keygen import generate_key_pair


def make_cert(directory: Path) -> Path:
    """An RSA-4096 self-signed certificate, as the controller makes them."""
    path = directory / "cert.pem"
    path.write_bytes(generate_key_pair(4096, common_name="bench").cert_pem)
    return path


def secret_yaml(index: int) -> str:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return (
        "apiVersion: v1\nkind: Secret\nmetadata:\n"
        f"  name: app-{index}\n  namespace: bench\n  labels:\n    app: app-{index}\n"
        "type: Opaque\ndata:\n"
        f"  username: {b64(f'user-{index}')}\n  password: {b64(os.urandom(12).hex())}\n"
        f"  url: {b64(f'postgres://db-{index}.bench.svc:5432/app')}\n"
    )


CPU: dict[str, list[float]] = {}


def timed(command: list[str], env: dict[str, str] | None = None, name: str = "") -> float:
    """Wall time of one process; its CPU time (user + system) is kept in ``CPU[name]``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if name:
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        CPU.setdefault(name, []).append(cpu)
    return wall


def bytecode_env(cache: Path) -> dict[str, str]:
    """An installed package has .pyc files; give Python a bytecode cache outside the checkout."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="runs per command in case (a)")
    parser.add_argument("--secrets", type=int, default=1000, help="Secrets in case (b)")
    args = parser.parse_args()

    python = sys.executable
    lockstep = [python, "-m", "core_sync.cli"]
    script = Path(python).with_name("lockstep")
    if script.is_file():
        lockstep = [str(script)]  # the console script users run, on the same interpreter
    kubeseal_bin = str(kubeseal())
    env_note = f"python {sys.version.split()[0]} ({python}); kubeseal {kubeseal_bin}"

    with tempfile.TemporaryDirectory(prefix="lockstep-bench-") as tmp:
        root = Path(tmp)
        cert = make_cert(root)
        single = root / "one.yaml"
        single.write_text(secret_yaml(0))
        commands = {
            "interpreter": [python, "-c", "pass"],
            "ours": [*lockstep, "seal", "--cert", str(cert), "-f", str(single)],
            "peer": [kubeseal_bin, "--cert", str(cert), "-f", str(single)],
        }
        cached = bytecode_env(root / "pycache")
        no_cache = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        for command in commands.values():  # warm the page cache and write the bytecode cache once
            timed(command, cached)
        samples: dict[str, list[float]] = {name: [] for name in [*commands, "ours_no_bytecode_cache"]}
        for _ in range(args.runs):
            for name, command in commands.items():
                samples[name].append(timed(command, cached, name))
            samples["ours_no_bytecode_cache"].append(timed(commands["ours"], no_cache))
        single_result = {f"{name}_s": round(statistics.median(values), 4) for name, values in samples.items()}
        single_result.update({f"{name}_cpu_s": round(statistics.median(v), 4) for name, v in CPU.items()})
        single_result.update({f"{name}_min_s": round(min(v), 4) for name, v in samples.items()})

        tree = root / "tree"
        tree.mkdir()
        for index in range(args.secrets):
            (tree / f"secret-{index:04d}.yaml").write_text(secret_yaml(index))
        start = time.perf_counter()
        subprocess.run(
            [*lockstep, "seal", "--cert", str(cert), "--in-place", str(tree)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=cached,
        )
        ours_batch = time.perf_counter() - start
        produced = len(list(tree.glob("*.sealed.yaml")))
        assert produced == args.secrets, f"lockstep wrote {produced} of {args.secrets} files"
        start = time.perf_counter()
        for index in range(args.secrets):
            source = tree / f"secret-{index:04d}.yaml"
            subprocess.run(
                [
                    kubeseal_bin,
                    "--cert",
                    str(cert),
                    "-f",
                    str(source),
                    "-o",
                    "yaml",
                    "-w",
                    str(tree / f"secret-{index:04d}.kubeseal.yaml"),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        peer_batch = time.perf_counter() - start

    single_result["ratio_vs_peer"] = round(single_result["ours_s"] / single_result["peer_s"], 2)
    single_result["over_interpreter_ms"] = round(
        (single_result["ours_s"] - single_result["interpreter_s"]) * 1000, 1
    )
    single_result["ratio_vs_interpreter"] = round(single_result["ours_s"] / single_result["interpreter_s"], 2)
    batch = {
        "secrets": args.secrets,
        "ours_s": round(ours_batch, 3),
        "peer_s": round(peer_batch, 3),
        "speedup": round(peer_batch / ours_batch, 1),
    }
    print(f"# {env_note}; {args.runs} runs per command in (a), medians")
    ms = {name: value * 1000 for name, value in single_result.items() if name.endswith("_s")}
    print(
        f"(a) one Secret: lockstep {ms['ours_s']:.1f} ms, kubeseal {ms['peer_s']:.1f} ms, "
        f"python -c pass {ms['interpreter_s']:.1f} ms; "
        f"lockstep without bytecode cache {ms['ours_no_bytecode_cache_s']:.1f} ms "
        f"(ratio {single_result['ratio_vs_peer']}, "
        f"+{single_result['over_interpreter_ms']} ms over the interpreter, "
        f"{single_result['ratio_vs_interpreter']}x the interpreter; target <= 1.6x)"
    )
    print(
        f"    minimum of {args.runs} runs: lockstep {ms['ours_min_s']:.1f} ms, "
        f"kubeseal {ms['peer_min_s']:.1f} ms, "
        f"python -c pass {ms['interpreter_min_s']:.1f} ms "
        f"(+{ms['ours_min_s'] - ms['interpreter_min_s']:.1f} ms over the interpreter)"
    )
    print(
        f"    CPU time (user+sys): lockstep {ms['ours_cpu_s']:.1f} ms, kubeseal {ms['peer_cpu_s']:.1f} ms, "
        f"python -c pass {ms['interpreter_cpu_s']:.1f} ms; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"(b) {args.secrets} Secrets: lockstep --in-place {batch['ours_s']:.2f} s, "
        f"kubeseal loop {batch['peer_s']:.2f} s ({batch['speedup']}x)"
    )
    print(
        "RESULT "
        + json.dumps(
            {"single": single_result, "batch": batch, "interpreter_s": single_result["interpreter_s"]}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
