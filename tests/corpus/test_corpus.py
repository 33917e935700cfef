"""Every CLI command that reads files, run on every applicable corpus case as a user would run it.

One test per case; all commands of all cases run once up front (a small thread pool, one namespace), so
the whole corpus stays within its time budget. A case fails on: a Traceback, a timeout (a hang), an exit
code or message other than ``expect.yaml`` says, the marker plaintext in an error, a failed write that
changed a file, or a successful ``seal --in-place --replace`` that left plaintext behind.
"""

from __future__ import annotations

import base64
import json
import os
import re
import resource
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyrage
import pytest
import yaml

from core_sync.kube import ApiError
from core_sync.testing import ControlPlane, git, kubeseal, sops
from sealed.format.keygen import SealingKeyPair, generate_key_pair
from sealed.keys import key_secret_manifest
from tests.corpus.generate import MARKER, SECRET_YAML, Case, Tools, materialize, plan, write_outside
from tests.corpus.runner import (
    COMMANDS,
    HOST_PLUGINS,
    PRINTS_PLAINTEXT,
    TIMEOUT,
    Result,
    World,
    main_file,
    run_all,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

EXPECT: dict[str, Any] = (
    yaml.safe_load((Path(__file__).with_name("expect.yaml")).read_text())["classes"] or {}
)
# LOCKSTEP_CORPUS_CLASSES=a,b runs only those classes (a targeted run while working on them; the size
# test then fails, as it should for a partial corpus).
ONLY = {c for c in os.environ.get("LOCKSTEP_CORPUS_CLASSES", "").split(",") if c}
CASES = [case for case in plan() if not ONLY or case.cls in ONLY]
KEY_NAMESPACE = "lockstep-system"
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
SYNC_CLASSES = {"paths-escape", "symlinks", "yaml-bombs", "duplicates", "invalid-names", "json-deep"}
# CPU seconds of every command run plus the generation's wall time: ~90 s of wall time on 2 idle cores.
# (Wall time on a shared machine measures the neighbours, so the budget is in CPU time.)
BUDGET_CPU_SECONDS = float(os.environ.get("LOCKSTEP_CORPUS_BUDGET", "180"))


def _spec(case: Case) -> dict[str, Any]:
    spec = EXPECT.get(case.cls)
    assert spec is not None, f"expect.yaml has no class {case.cls!r}"
    return spec


def _expectation(case: Case, command: str) -> dict[str, Any]:
    spec = _spec(case)
    override = ((spec.get("cases") or {}).get(case.name) or {}).get(command)
    return dict(override if override is not None else spec["expect"][command])


def _commands(case: Case) -> list[str]:
    spec = _spec(case)
    skip = ((spec.get("cases") or {}).get(case.name) or {}).get("skip", [])
    return [c for c in spec["commands"] if c not in skip]


def _params() -> Iterator[Any]:
    for case in CASES:
        pending = (((EXPECT.get(case.cls) or {}).get("cases") or {}).get(case.name) or {}).get("pending")
        marks = [pytest.mark.xfail(strict=True, reason=f"pending merge of {pending}")] if pending else []
        yield pytest.param(case, id=case.id, marks=marks)


def _store_sealing_key(plane: ControlPlane, cert_pem: bytes, key_pem: bytes) -> str:
    try:
        plane.client.create(
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": KEY_NAMESPACE}},
        )
    except ApiError as error:
        if not error.conflict:
            raise
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"generateName": "corpus-sealing-key-", "labels": {KEY_LABEL: "active"}},
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64.b64encode(cert_pem).decode(),
            "tls.key": base64.b64encode(key_pem).decode(),
        },
    }
    created = plane.client.create(f"/api/v1/namespaces/{KEY_NAMESPACE}/secrets", body)
    return str(created["metadata"]["name"])


def _key_backup(pair: SealingKeyPair) -> bytes:
    """A plain backup (Bitnami's List) of the corpus sealing key, as ``keys backup`` writes it."""
    secret = key_secret_manifest(pair)
    secret["metadata"].pop("generateName")
    secret["metadata"]["name"] = "corpus-sealing-key"
    secret["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [secret]}).encode()


def _repositories(root: Path, corpus: Path, valid: Path) -> str:
    """A git repository per class ``lockstep sync`` reads (one class's hostile tree cannot break another's
    checkout), each with a valid directory; returns the URL prefix (``<prefix>/<class>``)."""
    for cls in sorted(SYNC_CLASSES | {"valid"}):
        repo = root / "repos" / cls
        repo.mkdir(parents=True)
        if (corpus / cls).exists():
            shutil.copytree(corpus / cls, repo / cls, symlinks=True)
        shutil.copytree(valid, repo / "valid")
        git("init", "-q", "-b", "main", cwd=repo)
        git("add", "-A", cwd=repo)
        git("-c", "user.name=corpus", "-c", "user.email=c@localhost", "commit", "-q", "-m", cls, cwd=repo)
    return f"file://{root / 'repos'}"


@pytest.fixture(scope="module")
def outcomes(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("corpus-world")
    for name in ("home", "cache", "scratch", "keys", "valid", "tools"):
        (root / name).mkdir()
    pair = generate_key_pair(2048)
    cert, recovery = root / "keys" / "cert.pem", root / "keys" / "key.pem"
    cert.write_bytes(pair.cert_pem)
    recovery.write_bytes(pair.key_pem)
    identity = pyrage.x25519.Identity.generate()
    age_key_file = root / "keys" / "age.txt"
    age_key_file.write_text(f"# public key: {identity.to_public()}\n{identity}\n")
    namespace = control_plane.create_namespace("corpus-")
    control_plane.client.create(
        f"/api/v1/namespaces/{namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "corpus-age"},
            "stringData": {"keys.agekey": str(identity)},
        },
    )
    key_secret = _store_sealing_key(control_plane, pair.cert_pem, pair.key_pem)
    key_backup = root / "keys" / "backup.yaml"
    key_backup.write_bytes(_key_backup(pair))
    (root / "valid" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: valid\n")
    outside = root / "outside"
    write_outside(outside)
    tools = Tools(kubeseal(), sops(), cert, str(identity.to_public()), age_key_file, outside, root / "tools")
    started = time.monotonic()
    dirs = materialize(root / "corpus", tools, CASES)
    generated = time.monotonic() - started
    world = World(
        corpus=root / "corpus",
        repo_url=_repositories(root, root / "corpus", root / "valid"),
        valid_dir=root / "valid",
        namespace=namespace,
        kubeconfig=control_plane.kubeconfig,
        cert=cert,
        recovery_key=recovery,
        age_key_file=age_key_file,
        age_recipient=str(identity.to_public()),
        home=root / "home",
        cache=root / "cache",
        scratch=root / "scratch",
        valid_secret=SECRET_YAML,
        key_namespace=control_plane.create_namespace("corpus-keys-"),
        key_backup=key_backup,
    )
    jobs = [
        (case.id, dirs[case.id], command, float(_spec(case).get("timeout", TIMEOUT)))
        for case in CASES
        for command in _commands(case)
    ]
    started, cpu_before = time.monotonic(), _children_cpu()
    results = run_all(world, jobs)
    ran, cpu = time.monotonic() - started, _children_cpu() - cpu_before
    by_case: dict[str, list[Result]] = {}
    for result in results:
        by_case.setdefault(result.case, []).append(result)
    dump = os.environ.get("LOCKSTEP_CORPUS_DUMP")
    if dump:
        Path(dump).write_text(json.dumps([r.__dict__ for r in results], indent=1))
    print(
        f"\ncorpus: {len(CASES)} cases, {len(jobs)} runs; generated in {generated:.1f}s, "
        f"ran in {ran:.1f}s wall, {cpu:.1f}s CPU (subprocesses)"
    )
    yield {
        "results": by_case,
        "dirs": dirs,
        "ran": ran,
        "cpu": cpu,
        "generated": generated,
        "jobs": len(jobs),
    }
    control_plane.client.delete(f"/api/v1/namespaces/{KEY_NAMESPACE}/secrets/{key_secret}")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _problems(case: Case, result: Result, directory: Path) -> list[str]:
    problems = []
    if result.returncode is None:
        return [f"hangs (no answer in the time bound): {result.describe()}"]
    if "Traceback" in result.output:
        problems.append(f"traceback reached the user: {result.describe()}")
    if MARKER in result.stderr or (MARKER in result.stdout and result.command not in PRINTS_PLAINTEXT):
        problems.append(f"secret plaintext in the output: {result.command}")
    if result.returncode != 0 and result.files_changed:
        problems.append(f"failed but changed files {result.files_changed}")
    if result.command == "seal-in-place" and result.returncode == 0 and result.plaintext_left:
        problems.append(f"reported success but left plaintext in {result.plaintext_left}")
    if result.command in HOST_PLUGINS:
        problems += _host_problems(result)
    expected = _expectation(case, result.command)
    exits = expected["exit"] if isinstance(expected["exit"], list) else [expected["exit"]]
    if result.returncode not in exits:
        problems.append(f"expected exit {expected['exit']}: {result.describe()}")
    pattern = expected.get("error")
    if pattern and result.returncode != 0:
        main = main_file(directory)
        rendered = pattern.replace("{file}", re.escape(main.name if main else "")).replace(
            "{case}", re.escape(case.name)
        )
        if not re.search(rendered, result.stderr or result.stdout):
            problems.append(f"message does not match {rendered!r}: {result.describe()}")
    shown = expected.get("output")  # what the output must say whatever the exit (a skip, say)
    if shown and not re.search(shown, result.output):
        problems.append(f"output does not match {shown!r}: {result.describe()}")
    return problems


def _host_problems(result: Result) -> list[str]:
    """What a plugin's host (Argo CD's cmp-server, kustomize) needs: on failure nothing it would use on
    stdout; on success objects only; no plaintext written to the case's files or the private TMPDIR."""
    problems = []
    if result.files_changed:
        problems.append(f"changed files of the repository {result.files_changed}")
    if result.plaintext_in_tmp:
        problems.append(f"plaintext written under TMPDIR: {result.plaintext_in_tmp}")
    if result.returncode != 0 and result.command != "ksops-krm" and result.stdout:
        problems.append(f"failed with output on stdout: {result.describe()}")
    if result.returncode != 0 and not result.stderr.strip():
        problems.append(f"failed without a message on stderr: {result.describe()}")
    if result.command == "ksops-krm" and result.stdout:
        problems += _krm_problems(result)
    elif result.returncode == 0:
        try:
            docs = [d for d in yaml.safe_load_all(result.stdout) if d is not None]
        except yaml.YAMLError as error:
            return [*problems, f"succeeded with output that is not YAML ({error}): {result.describe()}"]
        if not docs or not all(isinstance(d, dict) and d.get("kind") and d.get("apiVersion") for d in docs):
            problems.append(f"succeeded without Kubernetes objects on stdout: {result.describe()}")
    return problems


def _krm_problems(result: Result) -> list[str]:
    """A KRM function's answer: a ResourceList; on failure its items are only the generator configs it was
    given (nothing generated) and a result of severity error."""
    from integrations.ksops.config import is_generator

    try:
        answer = yaml.safe_load(result.stdout)
    except yaml.YAMLError as error:
        return [f"KRM output is not YAML ({error}): {result.describe()}"]
    if not isinstance(answer, dict) or answer.get("kind") != "ResourceList":
        return [f"KRM output is not a ResourceList: {result.describe()}"]
    if result.returncode == 0:
        return []
    problems = []
    if any(not is_generator(item) for item in answer.get("items") or []):
        problems.append(f"failed but generated objects: {result.describe()}")
    if not any(r.get("severity") == "error" for r in answer.get("results") or []):
        problems.append(f"failed without an error result: {result.describe()}")
    return problems


@pytest.mark.parametrize("case", list(_params()))
def test_corpus_case(case: Case, outcomes: dict[str, Any]) -> None:
    results = outcomes["results"].get(case.id, [])
    assert sorted(r.command for r in results) == sorted(_commands(case))
    problems = [p for r in results for p in _problems(case, r, outcomes["dirs"][case.id])]
    assert not problems, "\n".join(problems)


def test_corpus_size_and_runtime(outcomes: dict[str, Any]) -> None:
    """The corpus keeps its promise: at least 300 hostile inputs, all run within the CI budget."""
    assert len(CASES) >= 300
    spent = outcomes["cpu"] + outcomes["generated"]
    assert spent <= BUDGET_CPU_SECONDS, (
        f"corpus took {outcomes['cpu']:.0f}s CPU + {outcomes['generated']:.0f}s generation "
        f"(budget {BUDGET_CPU_SECONDS:.0f}s); {outcomes['ran']:.0f}s wall"
    )


def test_every_command_reading_files_is_exercised() -> None:
    used = {c for spec in EXPECT.values() for c in spec["commands"]}
    assert used == set(COMMANDS), f"commands never run on the corpus: {sorted(set(COMMANDS) - used)}"
