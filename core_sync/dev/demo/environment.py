"""Where ``lockstep demo`` runs: the embedded environment (or the user's cluster with OpenBao and moto of
its own), the operator it starts, the providers it writes to, and waiting for what it must observe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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


LOCKSTEP = (sys.executable, "-m", "core_sync.cli")  # the lockstep of this interpreter, whatever PATH says


def run_step(
    argv: Sequence[str],
    what: str,
    *,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
) -> str:
    """Run one command of the demo and return its output; a failure is the demo's, naming ``what``."""
    result = subprocess.run(
        list(argv), input=stdin, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise DemoFailed(f"{what} failed: {(result.stderr or result.stdout).strip()[-800:]}")
    return result.stdout


def embedded_environment(say: Callable[[str], None]) -> Environment:
    from core_sync.dev.cli import _running, _state_dir, _status

    directory = _state_dir()
    started = not _running(_status(directory))
    if started:
        say("starting the embedded environment (lockstep dev up)")
        run_step([*LOCKSTEP, "dev", "up"], "lockstep dev up")
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
        environment.cleanups.append(dev_down)
    return environment


def dev_down() -> None:
    subprocess.run([*LOCKSTEP, "dev", "down"], capture_output=True, timeout=180, check=False)


def own_services(kubeconfig: Path, stack: ExitStack) -> Environment:
    """With --kubeconfig: the user's cluster, plus OpenBao and moto of the demo's own on loopback."""
    from core_sync.testing import MotoServer, OpenBao

    bao = stack.enter_context(OpenBao())
    moto = stack.enter_context(MotoServer())
    return Environment(kubeconfig, bao.url, bao.token, moto.url, embedded=False)


@contextmanager
def operator(environment: Environment, namespace: str, workdir: Path) -> Iterator[str]:
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
        wait(lambda: process.poll() is None and http_ok(url + "/healthz"), 60, "the operator's /healthz")
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except OSError:
        return False


def fetch(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return bytes(response.read()) if response.status == 200 else None
    except OSError:
        return None


def wait(check: Callable[[], Any], timeout: float, what: str, tick: Callable[[], None] | None = None) -> Any:
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


def bao_put(environment: Environment, path: str, data: Mapping[str, str]) -> None:
    request = urllib.request.Request(  # noqa: S310 - loopback OpenBao
        f"{environment.bao_addr}/v1/secret/data/{path}",
        data=json.dumps({"data": dict(data)}).encode(),
        headers={"X-Vault-Token": environment.bao_token, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def aws_put(environment: Environment, name: str, value: str) -> None:
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
