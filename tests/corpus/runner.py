"""Running CLI commands on corpus cases as a user would: one subprocess each, bounded in time and memory.

Each command name in ``expect.yaml`` maps to an argv built from the case (its directory and main file) and
the test's world (cluster, keys, git repository). Commands that write (``seal --in-place``,
``--merge-into``, ``sops updatekeys``) run on a copy, and the copy's files are compared afterwards: a
failed write must leave every file as it was; a successful ``--in-place --replace`` must leave no plaintext.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.corpus.generate import GENERATOR, MARKER

TIMEOUT = float(os.environ.get("LOCKSTEP_CORPUS_TIMEOUT", "30"))
MEMORY_LIMIT = 3 << 30  # address space per command: a bomb that allocates without bound fails, not the host
BATCH = Path(__file__).with_name("batch.py")
WRITING = {"seal-in-place", "seal-merge-into", "sops-updatekeys", "keys-rotate"}
# by design, on success, on stdout only (lockstep-ksops: to kustomize, as KSOPS does)
PRINTS_PLAINTEXT = {"sops-decrypt", "seal-recovery", "ksops-krm", "ksops-legacy"}


@dataclass
class World:
    """Everything the commands need besides the case: cluster access, keys, a repository, scratch space."""

    corpus: Path
    repo_url: str
    valid_dir: Path
    namespace: str
    kubeconfig: Path
    cert: Path
    recovery_key: Path
    age_key_file: Path
    age_recipient: str
    home: Path
    cache: Path
    scratch: Path
    valid_secret: bytes
    key_namespace: str  # a scratch namespace ``keys restore`` writes to (never lockstep-system)
    key_backup: Path  # a plain backup holding the corpus sealing key (for ``keys usage``/``rotate``)

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SOPS_", "SEALED_SECRETS_", "KUBECONFIG", "LOCKSTEP_"))
        }
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            KUBECONFIG=str(self.kubeconfig),
            LOCKSTEP_CACHE=str(self.cache),
            SOPS_DISABLE_VERSION_CHECK="1",
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        env.update(extra)
        return env


@dataclass
class Invocation:
    argv: list[str]
    stdin: bytes = b""
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    watched: Path | None = None  # a copy the command may write (or a tree it must not); compared after
    entry: str = "core_sync.cli:main"  # the console script: ``lockstep``, or ``lockstep-ksops``'s
    timeout_variable: str = ""  # the host's own time limit, set to the corpus's bound (ARGOCD_EXEC_TIMEOUT)
    tmpdir: Path | None = None  # a private TMPDIR, scanned afterwards for plaintext


@dataclass
class Result:
    case: str
    command: str
    argv: list[str]
    returncode: int | None  # None: timed out
    stdout: str
    stderr: str
    seconds: float
    files_changed: list[str] = field(default_factory=list)
    plaintext_left: list[str] = field(default_factory=list)
    plaintext_in_tmp: list[str] = field(default_factory=list)  # files under the private TMPDIR

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        tail = self.stderr.strip()[-600:] or self.stdout.strip()[-300:]
        code = "timeout" if self.returncode is None else f"exit {self.returncode}"
        return f"{self.case} [{self.command}] {code} in {self.seconds:.1f}s: {tail}"


def main_file(directory: Path) -> Path | None:
    """The file single-file commands read: the first top-level entry, not hidden, not a kustomization."""
    for entry in sorted(directory.iterdir()):
        if not entry.name.startswith(".") and entry.name != "kustomization.yaml":
            return entry
    return None


def _sync_name(case: str) -> str:
    return "corpus-" + hashlib.sha256(case.encode()).hexdigest()[:10]


def _copy_entry(source: str, target: str) -> None:
    if stat.S_ISFIFO(Path(source).stat().st_mode):
        os.mkfifo(target)
    else:
        shutil.copy2(source, target)


def _copy(world: World, directory: Path, case: str, command: str) -> Path:
    """A private copy for a command that writes (FIFOs stay FIFOs, symlinks stay symlinks)."""
    target = world.scratch / command / case
    shutil.copytree(directory, target, symlinks=True, copy_function=_copy_entry)
    return target


Build = Callable[[World, str, Path], Invocation]


def _main(directory: Path) -> Path:
    found = main_file(directory)
    assert found is not None, f"{directory}: no input file"
    return found


def _render(w: World, case: str, d: Path) -> Invocation:
    return Invocation(["render", str(d), "-n", w.namespace, "--sops-secret", "corpus-age"])


def _diff(w: World, case: str, d: Path) -> Invocation:
    return Invocation(["diff", str(d), "-n", w.namespace])


def _sync(w: World, case: str, d: Path) -> Invocation:
    repo = f"{w.repo_url}/{case.split('/')[0]}"
    return Invocation(
        ["sync", "--repo", repo, "--path", case, "-n", w.namespace, "--name", _sync_name(case), "--once"]
    )


def _sync_name_flag(w: World, case: str, d: Path) -> Invocation:
    name = _main(d).read_text()
    return Invocation(
        [
            "sync",
            "--repo",
            f"{w.repo_url}/valid",
            "--path",
            "valid",
            "-n",
            w.namespace,
            "--name",
            name,
            "--once",
        ]
    )


def _diff_kubeconfig(w: World, case: str, d: Path) -> Invocation:
    return Invocation(["diff", str(w.valid_dir), "--kubeconfig", str(_main(d))])


def _seal_fetch_cert(w: World, case: str, d: Path) -> Invocation:
    return Invocation(["seal", "--fetch-cert", "--kubeconfig", str(_main(d))])


def _seal_stdin(w: World, case: str, d: Path) -> Invocation:
    return Invocation(["seal", "--cert", str(w.cert)], stdin=_main(d).read_bytes())


def _seal_file(w: World, case: str, d: Path) -> Invocation:
    return Invocation(["seal", "--cert", str(w.cert), "-f", str(_main(d))])


def _seal_in_place(w: World, case: str, d: Path) -> Invocation:
    copy = _copy(w, d, case, "seal-in-place")
    return Invocation(["seal", "--cert", str(w.cert), "--in-place", str(copy), "--replace"], watched=copy)


def _seal_merge_into(w: World, case: str, d: Path) -> Invocation:
    copy = _copy(w, d, case, "seal-merge-into")
    target = copy / _main(d).name
    return Invocation(
        ["seal", "--cert", str(w.cert), "--merge-into", str(target)], stdin=w.valid_secret, watched=copy
    )


def _seal_recovery(w: World, case: str, d: Path) -> Invocation:
    argv = ["seal", "--recovery-unseal", "--recovery-private-key", str(w.recovery_key)]
    return Invocation(argv, stdin=_main(d).read_bytes())


def _seal_cert(w: World, case: str, d: Path) -> Invocation:
    return Invocation(["seal", "--cert", str(_main(d))], stdin=w.valid_secret)


def _sops_env(w: World) -> dict[str, str]:
    return {"SOPS_AGE_KEY_FILE": str(w.age_key_file)}


def _sops_decrypt(w: World, case: str, d: Path) -> Invocation:
    return Invocation(["sops", "decrypt", str(_main(d))], env=_sops_env(w))


def _sops_encrypt(w: World, case: str, d: Path) -> Invocation:
    if (d / ".sops.yaml").exists():
        return Invocation(["sops", "encrypt", _main(d).name], cwd=d, env=_sops_env(w))
    return Invocation(["sops", "encrypt", "--age", w.age_recipient, str(_main(d))], env=_sops_env(w))


def _sops_rotate(w: World, case: str, d: Path) -> Invocation:
    return Invocation(["sops", "rotate", str(_main(d))], env=_sops_env(w))


def _sops_updatekeys(w: World, case: str, d: Path) -> Invocation:
    copy = _copy(w, d, case, "sops-updatekeys")
    return Invocation(["sops", "updatekeys", "-y", _main(d).name], cwd=copy, env=_sops_env(w), watched=copy)


def _keys_restore(w: World, case: str, d: Path) -> Invocation:
    argv = ["keys", "restore", str(_main(d)), "--controller-namespace", w.key_namespace]
    return Invocation(argv, env=_sops_env(w))


def _keys_usage_backup(w: World, case: str, d: Path) -> Invocation:
    argv = ["keys", "usage", "--offline", "--repo", str(w.valid_dir), "--keys", str(_main(d))]
    return Invocation(argv, env=_sops_env(w))


def _keys_usage(w: World, case: str, d: Path) -> Invocation:
    return Invocation(["keys", "usage", "--offline", "--repo", str(d), "--keys", str(w.key_backup)])


def _keys_rotate(w: World, case: str, d: Path) -> Invocation:
    """A dry run on a Git work tree holding the case (the runbook reads only tracked files)."""
    from core_sync.testing import git

    copy = _copy(w, d, case, "keys-rotate")
    git("init", "-q", "-b", "main", cwd=copy)
    with contextlib.suppress(RuntimeError):  # a FIFO cannot be added: it stays an untracked file
        git("add", "--ignore-errors", "-A", cwd=copy)
    git("commit", "-q", "--allow-empty", "-m", "corpus", cwd=copy)
    argv = [
        "keys",
        "rotate",
        "--offline",
        "--keys",
        str(w.key_backup),
        "--repo",
        str(copy),
        "--dry-run",
        "--yes",
    ]
    return Invocation(argv, watched=copy)


def _import(w: World, case: str, d: Path) -> Invocation:
    return Invocation(["import", str(_main(d))])


def _appset_preview(w: World, case: str, d: Path) -> Invocation:
    return Invocation(["appset", "preview", str(_main(d)), "-n", w.namespace])


# --- the Argo CD plugin and lockstep-ksops, run as their hosts run them ------------------------------


def _private_tmp(w: World, case: str, command: str) -> Path:
    path = w.scratch / "tmp" / command / case
    path.mkdir(parents=True, exist_ok=True)
    return path


def _argocd_generate(w: World, case: str, d: Path) -> Invocation:
    """As Argo CD's cmp-server runs plugin.yaml's generate: cwd = the app directory (the case; the corpus
    is the repository), the build environment, the sidecar's keys and certificate, its timeout."""
    env = {
        "ARGOCD_APP_NAME": "corpus",
        "ARGOCD_APP_NAMESPACE": w.namespace,
        "ARGOCD_APP_PROJECT_NAME": "default",
        "ARGOCD_APP_SOURCE_PATH": case,
        "ARGOCD_APP_SOURCE_REPO_URL": "https://git.example/corpus.git",
        "ARGOCD_APP_REVISION": "0123456789abcdef0123456789abcdef01234567",
        "ARGOCD_APP_PARAMETERS": json.dumps([{"name": "sealing-scope", "string": "strict"}]),
        "PARAM_SEALING_SCOPE": "strict",
        "ARGOCD_ENV_TEAM": "corpus",
        "KUBE_VERSION": "1.36.3",
        "KUBECONFIG": "/nonexistent/kubeconfig",  # the sidecar has no cluster access by default
        "SOPS_AGE_KEY_FILE": str(w.age_key_file),
        "SEALED_SECRETS_CERT": str(w.cert),
    }
    tmp = _private_tmp(w, case, "argocd-generate")
    return Invocation(
        ["argocd", "generate"],
        cwd=d,
        env={**env, "TMPDIR": str(tmp)},
        watched=d,
        timeout_variable="ARGOCD_EXEC_TIMEOUT",
        tmpdir=tmp,
    )


KSOPS_ENTRY = "integrations.ksops.cli:main"
KRM_ANNOTATIONS = {
    "config.kubernetes.io/function": "exec:\n  path: lockstep-ksops\n",
    "config.kubernetes.io/local-config": "true",
    "internal.config.kubernetes.io/path": GENERATOR,
}


def _named_files(d: Path) -> list[str]:
    """Every file of the case as a generator names it (``./rel``): regular files, links, FIFOs; real
    directories are descended, hidden entries and a kustomization skipped."""
    names = []
    for directory, dirs, files in os.walk(d, followlinks=False):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        linked = [x for x in dirs if (Path(directory) / x).is_symlink()]
        dirs[:] = [x for x in dirs if x not in linked]
        for name in sorted([*files, *linked]):
            rel = (Path(directory) / name).relative_to(d).as_posix()
            if not name.startswith(".") and rel != "kustomization.yaml":
                names.append("./" + rel)
    return names


def ksops_config(d: Path) -> dict[str, Any]:
    """A KSOPS generator config naming the case's files: manifests under ``files``, dotenv files under
    ``secretFrom.envs``, anything else under ``secretFrom.files``."""
    manifests, envs, others = [], [], []
    for name in _named_files(d):
        suffix = Path(name).suffix.lower()
        group = manifests if suffix in (".yaml", ".yml", ".json") else envs if suffix == ".env" else others
        group.append(name)
    config: dict[str, Any] = {
        "apiVersion": "viaduct.ai/v1",
        "kind": "ksops",
        "metadata": {"name": "corpus-generator"},
    }
    if manifests:
        config["files"] = manifests
    if envs or others:
        config["secretFrom"] = [{"metadata": {"name": "corpus-generated"}, "envs": envs, "files": others}]
    return config


def _krm_input(d: Path) -> bytes:
    """The ResourceList kustomize would send: the case's own ResourceList or generator config as given
    (never parsed here: it may be a bomb), else a config naming the case's files as functionConfig and
    as a local-config item."""
    import yaml

    raw, own = d / "resource-list.yaml", d / GENERATOR
    if raw.is_file():
        return raw.read_bytes()
    head = b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"
    if own.is_file():
        indented = b"".join(b"  " + line for line in own.read_bytes().splitlines(keepends=True))
        return head + b"functionConfig:\n" + indented
    config = ksops_config(d)
    config["metadata"]["annotations"] = KRM_ANNOTATIONS
    body = {"items": [config], "functionConfig": config}
    return head + yaml.safe_dump(body, sort_keys=False).encode()


def _ksops_krm(w: World, case: str, d: Path) -> Invocation:
    """As ``kustomize build --enable-alpha-plugins --enable-exec`` runs an exec function: no argument,
    cwd = the kustomization directory, the ResourceList on stdin."""
    tmp = _private_tmp(w, case, "ksops-krm")
    env = {**_sops_env(w), "TMPDIR": str(tmp)}
    stdin = _krm_input(d)
    return Invocation([], stdin=stdin, cwd=d, env=env, watched=d, entry=KSOPS_ENTRY, tmpdir=tmp)


def _ksops_legacy(w: World, case: str, d: Path) -> Invocation:
    """As kustomize runs a legacy exec generator: one argument, a file holding the generator config (the
    case's own, else one naming its files); cwd = the kustomization directory."""
    import yaml

    path = d / GENERATOR
    if not (path.exists() or path.is_symlink()):
        path = w.scratch / "ksops-legacy" / f"{case.replace('/', '--')}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(ksops_config(d), sort_keys=False))
    tmp = _private_tmp(w, case, "ksops-legacy")
    env = {**_sops_env(w), "TMPDIR": str(tmp)}
    return Invocation([str(path)], cwd=d, env=env, watched=d, entry=KSOPS_ENTRY, tmpdir=tmp)


COMMANDS: dict[str, Build] = {
    "render": _render,
    "diff": _diff,
    "sync": _sync,
    "sync-name": _sync_name_flag,
    "diff-kubeconfig": _diff_kubeconfig,
    "seal-fetch-cert": _seal_fetch_cert,
    "seal-stdin": _seal_stdin,
    "seal-file": _seal_file,
    "seal-in-place": _seal_in_place,
    "seal-merge-into": _seal_merge_into,
    "seal-recovery": _seal_recovery,
    "seal-cert": _seal_cert,
    "sops-decrypt": _sops_decrypt,
    "sops-encrypt": _sops_encrypt,
    "sops-rotate": _sops_rotate,
    "sops-updatekeys": _sops_updatekeys,
    "keys-restore": _keys_restore,
    "keys-usage-backup": _keys_usage_backup,
    "keys-usage": _keys_usage,
    "keys-rotate": _keys_rotate,
    "import": _import,
    "appset-preview": _appset_preview,
    "argocd-generate": _argocd_generate,
    "ksops-krm": _ksops_krm,
    "ksops-legacy": _ksops_legacy,
}
# Hosts act on whatever these print: on a failure, nothing may be printed (an empty or partial stream makes
# Argo CD prune); lockstep-ksops in KRM mode answers a failure with the ResourceList it was given and an
# error result, nothing generated.
HOST_PLUGINS = {"argocd-generate", "ksops-krm", "ksops-legacy"}


def _snapshot(directory: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_symlink():
            out[rel] = "link:" + str(path.readlink())
        elif path.is_file():
            out[rel] = path.read_bytes()
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = "special"
    return out


def _result(
    case: str, command: str, invocation: Invocation, before: dict[str, bytes | str], raw: dict[str, Any]
) -> Result:
    result = Result(
        case,
        command,
        invocation.argv,
        raw["returncode"],
        raw["stdout"],
        raw["stderr"],
        raw["seconds"],
    )
    progress = os.environ.get("LOCKSTEP_CORPUS_PROGRESS")
    if progress:
        with Path(progress).open("a") as log:
            log.write(f"{result.seconds:6.2f} {result.returncode} {case} {command}\n")
    if invocation.watched:
        after = _snapshot(invocation.watched)
        result.files_changed = sorted(
            k for k in before.keys() | after.keys() if before.get(k) != after.get(k)
        )
        result.plaintext_left = sorted(
            k for k, v in after.items() if isinstance(v, bytes) and MARKER.encode() in v
        )
    if invocation.tmpdir:
        result.plaintext_in_tmp = sorted(
            k
            for k, v in _snapshot(invocation.tmpdir).items()
            if isinstance(v, bytes) and MARKER.encode() in v
        )
    return result


def _host_timeout(invocation: Invocation, timeout: float) -> dict[str, str]:
    """The host kills the command at its own limit: the corpus's time bound is that limit."""
    return {invocation.timeout_variable: f"{timeout:g}s"} if invocation.timeout_variable else {}


Job = tuple[str, Path, str, float]  # case id, its directory, command, seconds before it counts as a hang


def _run_batch(world: World, jobs: list[Job]) -> list[Result]:
    """One interpreter for ``jobs`` (see ``batch``); what a hang cut short runs again in a new batch."""
    prepared = []
    timeout = jobs[0][3]
    for case, directory, command, _ in jobs:
        invocation = COMMANDS[command](world, case, directory)
        before = _snapshot(invocation.watched) if invocation.watched else {}
        prepared.append((case, command, invocation, before))
    payload = [
        {
            "id": index,
            "argv": invocation.argv,
            "entry": invocation.entry,
            "stdin": base64.b64encode(invocation.stdin).decode(),
            "cwd": str(invocation.cwd or world.scratch),
            "env": world.env(**invocation.env, **_host_timeout(invocation, timeout)),
        }
        for index, (_, _, invocation, _) in enumerate(prepared)
    ]
    results: dict[int, dict[str, Any]] = {}
    try:
        proc = subprocess.run(
            [sys.executable, str(BATCH), str(timeout), str(MEMORY_LIMIT)],
            input=json.dumps(payload).encode(),
            capture_output=True,
            cwd=world.scratch,
            env=world.env(),
            timeout=timeout * len(jobs) + 30,
            check=False,
        )
        lines = proc.stdout.decode("utf-8", "replace").splitlines()
        failure = proc.stderr.decode("utf-8", "replace")[-2000:]
    except subprocess.TimeoutExpired as expired:
        lines = (expired.stdout or b"").decode("utf-8", "replace").splitlines()
        failure = "the batch stopped answering"
    for line in lines:
        raw = json.loads(line)
        results[raw["id"]] = raw
    done = [
        _result(case, command, invocation, before, results[index])
        for index, (case, command, invocation, before) in enumerate(prepared)
        if index in results
    ]
    if len(results) == len(jobs):
        return done
    # The first job without a result is the one that killed or hung the interpreter: it fails as such.
    stuck = len(results)
    case, command, invocation, before = prepared[stuck]
    raw = {"returncode": None, "stdout": "", "stderr": failure, "seconds": timeout}
    done.append(_result(case, command, invocation, before, raw))
    return done + _run_batch(world, jobs[stuck + 1 :]) if stuck + 1 < len(jobs) else done


def run_all(world: World, jobs: list[Job], workers: int = 3, size: int = 24) -> list[Result]:
    """Every job: batches of one command and one time bound, a few batches at a time."""
    by_command: dict[tuple[str, float], list[Job]] = {}
    for job in jobs:
        by_command.setdefault((job[2], job[3]), []).append(job)
    batches = [group[i : i + size] for group in by_command.values() for i in range(0, len(group), size)]
    batches.sort(key=len, reverse=True)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [result for batch in pool.map(lambda b: _run_batch(world, b), batches) for result in batch]
