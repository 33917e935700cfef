"""``lockstep demo``: Lockstep's first five minutes, acted out on the embedded environment.

It starts ``lockstep dev up`` when nothing runs (and stops it afterwards unless ``--keep``), runs
``lockstep operator``, serves a git repository made from ``examples/demo/`` over smart HTTP on loopback,
and shows every object of the Application until it is Synced; then it edits a managed object by hand,
pushes a commit, changes a value in OpenBao and (once ``lockstep keys rotate`` exists) rotates the keys,
waiting to observe the effect of each. It never touches a cluster it did not start unless ``--kubeconfig``
names one.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXAMPLE = "lockstep demo            # live table, then the story\nlockstep demo --non-interactive --keep"
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "demo"
STEP_TIMEOUT_S = 90.0
NO_KUBELET_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod", "Job"}
GROUP_PATH = "/apis/lockstep.dev/v1alpha1"


class DemoFailed(RuntimeError):
    """A step was not observed in time; the message names it and what was last seen."""


@dataclass
class Environment:
    """Where the demo runs: a kubeconfig, OpenBao and moto, and who started them."""

    kubeconfig: Path
    bao_addr: str
    bao_token: str
    aws_endpoint: str
    embedded: bool  # the cluster is `lockstep dev up`'s, which has no kubelet
    cleanups: list[Callable[[], None]] = field(default_factory=list)


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Sync a demo repository (SealedSecret, SOPS, OpenBao, AWS SM) and act out drift, a push, "
        "a rotated value and a key rotation.",
        epilog="examples:\n  " + EXAMPLE.replace("\n", "\n  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--non-interactive", action="store_true", help="plain lines instead of a live table")
    parser.add_argument("--keep", action="store_true", help="leave everything running and say how to look")
    parser.add_argument(
        "--kubeconfig",
        help="use this cluster (never touched otherwise; default: the embedded `lockstep dev up` one)",
    )
    parser.add_argument("--timeout", type=float, default=STEP_TIMEOUT_S, help="seconds per step (default 90)")
    return parser


# -- the environment ----------------------------------------------------------------------------------------
def _lockstep(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core_sync.cli", *args], capture_output=True, text=True, env=env, timeout=180
    )


def _lockstep_input(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core_sync.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _embedded_environment(say: Callable[[str], None]) -> Environment:
    from core_sync.dev.cli import _running, _state_dir, _status

    directory = _state_dir()
    started = not _running(_status(directory))
    if started:
        say("starting the embedded environment (lockstep dev up)")
        result = _lockstep("dev", "up")
        if result.returncode != 0:
            raise DemoFailed(f"lockstep dev up failed: {result.stderr.strip()}")
    status = _status(directory)
    env = status["env"]
    environment = Environment(
        kubeconfig=Path(env["KUBECONFIG"]),
        bao_addr=env["BAO_ADDR"],
        bao_token=env["BAO_TOKEN"],
        aws_endpoint=env["AWS_ENDPOINT_URL"],
        embedded=True,
    )
    if started:
        environment.cleanups.append(_dev_down)
    return environment


def _dev_down() -> None:
    _lockstep("dev", "down")


def _own_services(kubeconfig: Path, stack: ExitStack) -> Environment:
    """With --kubeconfig: the user's cluster, plus OpenBao and moto of the demo's own on loopback."""
    from core_sync.testing import MotoServer, OpenBao

    bao = stack.enter_context(OpenBao())
    moto = stack.enter_context(MotoServer())
    return Environment(kubeconfig, bao.url, bao.token, moto.url, embedded=False)


# -- small I/O helpers --------------------------------------------------------------------------------------
def _bao_put(environment: Environment, path: str, data: Mapping[str, str]) -> None:
    request = urllib.request.Request(  # noqa: S310 - loopback OpenBao
        f"{environment.bao_addr}/v1/secret/data/{path}",
        data=json.dumps({"data": dict(data)}).encode(),
        headers={"X-Vault-Token": environment.bao_token, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def _aws_put(environment: Environment, name: str, value: str) -> None:
    import boto3

    client = boto3.client(
        "secretsmanager",
        endpoint_url=environment.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fixed test credentials
    )
    try:
        client.create_secret(Name=name, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)


def _secret(name: str, data: Mapping[str, str]) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded}


def _sops_encrypt(plain: str, recipient: str) -> str:
    from core_sync.testing.binaries import sops

    result = subprocess.run(
        [
            str(sops()),
            "encrypt",
            "--age",
            recipient,
            "--encrypted-regex",
            "^(data|stringData)$",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "/dev/stdin",
        ],
        input=plain,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise DemoFailed(f"sops encrypt failed: {result.stderr.strip()}")
    return result.stdout


def _fetch(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return bytes(response.read()) if response.status == 200 else None
    except OSError:
        return None


def _seal(cert: bytes, namespace: str, workdir: Path) -> str:
    """A SealedSecret for this namespace, sealed by `lockstep seal` with the running controller's cert."""
    cert_file = workdir / "cert.pem"
    cert_file.write_bytes(cert)
    plain = (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: demo-sealed\n  namespace: {namespace}\n"
        "stringData:\n  TOKEN: sealed-for-the-demo\n"
    )
    result = _lockstep_input("seal", "--cert", str(cert_file), "--format", "yaml", stdin=plain)
    if result.returncode != 0:
        raise DemoFailed(f"lockstep seal failed: {result.stderr.strip()}")
    return result.stdout


def _repo_files(environment: Environment, recipient: str) -> dict[str, str]:
    files = {}
    for path in sorted((EXAMPLES_DIR / "deploy").glob("*.yaml")):
        files[f"deploy/{path.name}"] = path.read_text().replace("${BAO_ADDR}", environment.bao_addr)
    plain = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: demo-sops\n"
        "stringData:\n  SESSION_KEY: generated-for-the-demo\n"
    )
    files["deploy/secret.sops.yaml"] = _sops_encrypt(plain, recipient)
    return files


@contextmanager
def _operator(environment: Environment, namespace: str, workdir: Path) -> Iterator[str]:
    from core_sync.testing.processes import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "KUBECONFIG": str(environment.kubeconfig),
        "LOCKSTEP_CACHE": str(workdir / "cache"),
        "AWS_ENDPOINT_URL": environment.aws_endpoint,
    }
    log = (workdir / "operator.log").open("ab")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "core_sync.cli", "operator", "--http", f"127.0.0.1:{port}"),
            *("--namespace", namespace, "--log-format", "plain"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait(lambda: process.poll() is None and _http_ok(url + "/healthz"), 60, "the operator's /healthz")
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except OSError:
        return False


def _wait(check: Callable[[], Any], timeout: float, what: str, tick: Callable[[], None] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        if tick:
            tick()
        time.sleep(0.5)
    raise DemoFailed(f"not observed within {timeout:.0f} s: {what}")


# -- the table ----------------------------------------------------------------------------------------------
@dataclass
class Row:
    kind: str
    name: str
    sync: str
    health: str
    changed: str


class Board:
    """The Application's objects (from its status), shown as a live table or as plain lines."""

    def __init__(self, client: Any, namespace: str, app: str, embedded: bool, interactive: bool) -> None:
        self.client = client
        self.namespace = namespace
        self.path = f"{GROUP_PATH}/namespaces/{namespace}/applications/{app}"
        self.embedded = embedded
        self.interactive = interactive
        self.versions: dict[tuple[str, str], tuple[str, float]] = {}
        self.live: Any = None
        self.title = "starting"

    def __enter__(self) -> Board:
        if self.interactive:
            from rich.live import Live

            self.live = Live(self.render(), refresh_per_second=4, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self.render())
            self.live.__exit__(None, None, None)

    def say(self, line: str) -> None:
        self.title = line
        if self.live is not None:
            self.live.console.print(line)
            self.live.update(self.render())
        else:
            print(line, flush=True)

    def application(self) -> dict[str, Any]:
        return dict(self.client.get_or_none(self.path) or {})

    def rows(self) -> list[Row]:
        status = self.application().get("status") or {}
        rows = []
        for res in status.get("resources") or []:
            key = (res.get("kind", ""), res.get("name", ""))
            version = self._resource_version(res)
            seen = self.versions.get(key)
            if seen is None or seen[0] != version:
                self.versions[key] = (version, time.time())
            health = {"Current": "Healthy"}.get(res.get("health") or "-", res.get("health") or "-")
            if self.embedded and key[0] in NO_KUBELET_KINDS and health != "Healthy":
                health = f"{health} (no kubelet)"
            changed = time.strftime("%H:%M:%S", time.localtime(self.versions[key][1]))
            rows.append(Row(key[0], key[1], res.get("status") or "-", health, changed))
        return rows

    def _resource_version(self, res: Mapping[str, Any]) -> str:
        from core_sync.kube import ApiError

        group, version = res.get("group") or "", res.get("version") or "v1"
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        plural = res.get("kind", "").lower() + "s"
        try:
            obj = self.client.get(
                f"{base}/namespaces/{res.get('namespace') or self.namespace}/{plural}/{res['name']}"
            )
        except (ApiError, KeyError):
            return ""
        return str((obj.get("metadata") or {}).get("resourceVersion", ""))

    def render(self) -> Any:
        from rich.table import Table

        table = Table(title=self.title, title_justify="left")
        for column in ("kind", "name", "sync", "health", "last change"):
            table.add_column(column)
        for row in self.rows():
            table.add_row(row.kind, row.name, row.sync, row.health, row.changed)
        return table

    def tick(self) -> None:
        if self.live is not None:
            self.live.update(self.render())

    def settled(self) -> bool:
        """Synced, and Healthy wherever health can be judged (no kubelet runs in the embedded cluster)."""
        app = self.application()
        conditions = (app.get("status") or {}).get("conditions") or []
        if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            return False
        rows = self.rows()
        return bool(rows) and all(
            r.sync == "Synced" and (r.health == "Healthy" or (self.embedded and "(no kubelet)" in r.health))
            for r in rows
        )

    def print_rows(self) -> None:
        if self.live is None:
            for row in self.rows():
                line = f"  {row.kind:<16} {row.name:<16} {row.sync:<10} {row.health:<26} {row.changed}"
                print(line, flush=True)


# -- the story ----------------------------------------------------------------------------------------------
def _secret_value(client: Any, namespace: str, name: str, key: str) -> str | None:
    from core_sync.kube import ApiError

    try:
        data = client.get(f"/api/v1/namespaces/{namespace}/secrets/{name}").get("data") or {}
    except ApiError as error:
        if error.not_found:
            return None
        raise
    value = data.get(key)
    return base64.b64decode(value).decode() if value else None


def _configmap_value(client: Any, namespace: str) -> str | None:
    from core_sync.kube import ApiError

    try:
        return str(
            (client.get(f"/api/v1/namespaces/{namespace}/configmaps/demo-config").get("data") or {}).get(
                "greeting"
            )
        )
    except ApiError:
        return None


def _rotate(
    url: str,
    workdir: Path,
    environment: Environment,
    operator_url: str,
    age_identity: str,
    git_server: Any,
    say: Callable[[str], None],
) -> str:
    """Run the runbook on a clone of the demo repository, print its report, push what it changed, and
    return that commit."""
    from core_sync.testing.services import git

    checkout = workdir / "checkout"
    git("clone", "--quiet", url, str(checkout))
    env = {**os.environ, "KUBECONFIG": str(environment.kubeconfig), "SOPS_AGE_KEY": age_identity}
    result = subprocess.run(
        [
            *(sys.executable, "-m", "core_sync.cli", "keys", "rotate", "--repo", str(checkout)),
            *("--controller-url", operator_url, "--yes", "--no-backup-check"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise DemoFailed(f"lockstep keys rotate failed: {(result.stderr or result.stdout).strip()[-800:]}")
    rotated = {str(p.relative_to(checkout)): p.read_text() for p in (checkout / "deploy").glob("*.yaml")}
    say(result.stdout.strip())
    return str(git_server.commit("demo", rotated, message="lockstep keys rotate"))


def _has_controller(name: str) -> bool:
    from importlib.metadata import entry_points

    return any(ep.name == name for ep in entry_points(group="lockstep.controllers"))


def _keys_rotate_available() -> bool:
    """Whether this build has `lockstep keys rotate` (found through the CLI's table, as the CLI does)."""
    import importlib

    from core_sync.cli import TREE

    keys = next((c for c in TREE.children if c.name == "keys"), None)
    rotate = next((c for c in keys.children if c.name == "rotate"), None) if keys else None
    if rotate is None or rotate.target is None:
        return False
    module, _, name = rotate.target.partition(":")
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


def _look_around(environment: Environment, namespace: str, url: str) -> None:
    """--keep: say how to look, and keep the operator and the git server up until Ctrl-C or SIGTERM (the
    embedded environment stays up after that too: `lockstep dev down` stops it)."""
    print("running; look with:")
    print(f"  export KUBECONFIG={environment.kubeconfig}")
    print(f"  kubectl -n {namespace} get applications,externalsecrets,secrets,configmaps,deployments")
    print(f"  lockstep diff --repo {url} --ref main --path deploy --namespace {namespace}")
    print("Ctrl-C stops the operator and the git server; `lockstep dev down` stops the rest.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


def run_demo(args: argparse.Namespace) -> int:
    import secrets

    import pyrage

    from core_sync.kube import KubeClient, KubeConfig
    from core_sync.testing import GitHttpServer

    results: list[tuple[str, str]] = []
    interactive = not args.non_interactive and sys.stdout.isatty()
    with ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="lockstep-demo-"))
        say = print
        if args.kubeconfig:
            environment = _own_services(Path(args.kubeconfig), stack)
        else:
            environment = _embedded_environment(lambda line: print(line, flush=True))
        if not args.keep:
            for cleanup in environment.cleanups:
                stack.callback(cleanup)
            stack.callback(shutil.rmtree, workdir, True)
        client = KubeClient(KubeConfig.from_file(environment.kubeconfig))
        namespace = f"lockstep-demo-{secrets.token_hex(3)}"
        client.create(
            "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
        say(f"namespace {namespace}")

        identity = pyrage.x25519.Identity.generate()
        ns_secrets = f"/api/v1/namespaces/{namespace}/secrets"
        client.create(ns_secrets, _secret("sops-age", {"identity.agekey": str(identity)}))
        client.create(ns_secrets, _secret("bao-token", {"token": environment.bao_token}))
        client.create(
            ns_secrets, _secret("aws-creds", {"access-key": "testing", "secret-access-key": "testing"})
        )
        _bao_put(environment, "demo/db", {"password": "first-password"})
        _aws_put(environment, "demo/api", "api-key-1")
        say("wrote demo/db to OpenBao and demo/api to AWS Secrets Manager (moto)")

        operator_url = stack.enter_context(_operator(environment, namespace, workdir))
        say(f"operator {operator_url} (log {workdir / 'operator.log'})")
        files = _repo_files(environment, str(identity.to_public()))
        sealing = _has_controller("sealed")
        if sealing:
            cert = _wait(
                lambda: _fetch(operator_url + "/v1/cert.pem"), args.timeout, "the sealing certificate"
            )
            files["deploy/sealed-secret.yaml"] = _seal(cert, namespace, workdir)
            say("sealed demo-sealed with the certificate the running controller serves")
        git_server = stack.enter_context(GitHttpServer(workdir / "git"))
        url = git_server.create_repo("demo", files)
        say(f"git repository {url}")
        app = {
            "apiVersion": "lockstep.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "demo", "namespace": namespace},
            "spec": {
                "interval": "2s",
                "source": {"repoURL": url, "targetRevision": "main", "path": "deploy"},
                "decryption": {"sops": {"secretRef": {"name": "sops-age"}}},
            },
        }
        client.create(f"{GROUP_PATH}/namespaces/{namespace}/applications", app)

        board = stack.enter_context(Board(client, namespace, "demo", environment.embedded, interactive))
        timeout = float(args.timeout)

        def step(name: str, check: Callable[[], Any], what: str) -> None:
            board.say(f"step: {name}")
            _wait(check, timeout, what, board.tick)
            board.say(f"observed: {name}")
            board.print_rows()
            results.append((name, "observed"))

        step("synced", board.settled, "every object Synced (and Healthy where a kubelet is not needed)")
        if sealing:
            step(
                "sealed secret decrypted",
                lambda: _secret_value(client, namespace, "demo-sealed", "TOKEN") == "sealed-for-the-demo",
                "Secret demo-sealed rendered from the SealedSecret by the sync engine",
            )
        else:
            board.say("pending: SealedSecret (the SealedSecret controller is not in this build)")
            results.append(("sealed secret", "pending"))
        step(
            "external secrets",
            lambda: (
                _secret_value(client, namespace, "demo-db", "DB_PASSWORD") == "first-password"
                and _secret_value(client, namespace, "demo-api", "API_KEY") == "api-key-1"
            ),
            "Secrets demo-db (OpenBao) and demo-api (AWS SM) filled",
        )
        client.merge_patch(
            f"/api/v1/namespaces/{namespace}/configmaps/demo-config", {"data": {"greeting": "edited by hand"}}
        )
        step(
            "hand edit corrected",
            lambda: _configmap_value(client, namespace) == "hello from git",
            "demo-config restored",
        )
        app_yaml = (
            (EXAMPLES_DIR / "deploy" / "app.yaml")
            .read_text()
            .replace("hello from git", "hello from a new commit")
        )
        revision = git_server.commit("demo", {"deploy/app.yaml": app_yaml}, message="demo: new greeting")
        step(
            "pushed commit applied",
            lambda: (
                _configmap_value(client, namespace) == "hello from a new commit"
                and revision in str((board.application().get("status") or {}).get("lastAppliedRevision", ""))
            ),
            f"revision {revision[:12]} applied",
        )
        _bao_put(environment, "demo/db", {"password": "second-password"})
        step(
            "OpenBao change refreshed",
            lambda: _secret_value(client, namespace, "demo-db", "DB_PASSWORD") == "second-password",
            "demo-db refreshed from OpenBao",
        )
        if _keys_rotate_available() and sealing:
            board.say("step: keys rotate (lockstep keys rotate on a checkout of the demo repository)")
            rotated = _rotate(url, workdir, environment, operator_url, str(identity), git_server, board.say)
            step(
                "keys rotated",
                lambda: (
                    rotated in str((board.application().get("status") or {}).get("lastAppliedRevision"))
                    and _secret_value(client, namespace, "demo-sealed", "TOKEN") == "sealed-for-the-demo"
                ),
                f"rotation commit {rotated[:12]} applied and demo-sealed decrypted (only the new key can)",
            )
        else:
            board.say("pending: key rotation (`lockstep keys rotate` is not in this build yet)")
            results.append(("keys rotate", "pending"))
        for name, outcome in results:
            print(f"{outcome}: {name}", flush=True)
        if args.keep:
            _look_around(environment, namespace, url)
    return 0 if all(outcome in ("observed", "pending") for _, outcome in results) else 1


def main(argv: list[str], prog: str = "lockstep demo") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        return run_demo(args)
    except DemoFailed as failed:
        print(f"error: demo: {failed}", file=sys.stderr)
        return 1
