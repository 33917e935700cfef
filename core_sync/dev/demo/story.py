"""The demo's story, step by step: sync, a sealed and a SOPS Secret, external secrets, a hand edit
corrected, a pushed commit, a changed OpenBao value and a key rotation, each observed before going on."""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from core_sync.dev.demo.board import GROUP_PATH, Board
from core_sync.dev.demo.environment import (
    LOCKSTEP,
    Environment,
    aws_put,
    bao_put,
    embedded_environment,
    fetch,
    operator,
    own_services,
    run_step,
    wait,
)
from core_sync.dev.demo.repository import EXAMPLES_DIR, repo_files, seal, secret


def secret_value(client: Any, namespace: str, name: str, key: str) -> str | None:
    from core_sync.kube import ApiError

    try:
        data = client.get(f"/api/v1/namespaces/{namespace}/secrets/{name}").get("data") or {}
    except ApiError as error:
        if error.not_found:
            return None
        raise
    value = data.get(key)
    return base64.b64decode(value).decode() if value else None


def configmap_value(client: Any, namespace: str) -> str | None:
    from core_sync.kube import ApiError

    try:
        return str(
            (client.get(f"/api/v1/namespaces/{namespace}/configmaps/demo-config").get("data") or {}).get(
                "greeting"
            )
        )
    except ApiError:
        return None


def rotate(
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
    report = run_step(
        [
            *LOCKSTEP,
            "keys",
            "rotate",
            "--repo",
            str(checkout),
            "--controller-url",
            operator_url,
            "--yes",
            "--no-backup-check",
        ],
        "lockstep keys rotate",
        env=env,
        timeout=300,
    )
    rotated = {str(p.relative_to(checkout)): p.read_text() for p in (checkout / "deploy").glob("*.yaml")}
    say(report.strip())
    return str(git_server.commit("demo", rotated, message="lockstep keys rotate"))


def has_controller(name: str) -> bool:
    from importlib.metadata import entry_points

    return any(ep.name == name for ep in entry_points(group="lockstep.controllers"))


def keys_rotate_available() -> bool:
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


def look_around(environment: Environment, namespace: str, url: str) -> None:
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
            environment = own_services(Path(args.kubeconfig), stack)
        else:
            environment = embedded_environment(lambda line: print(line, flush=True))
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
        client.create(ns_secrets, secret("sops-age", {"identity.agekey": str(identity)}))
        client.create(ns_secrets, secret("bao-token", {"token": environment.bao_token}))
        client.create(
            ns_secrets, secret("aws-creds", {"access-key": "testing", "secret-access-key": "testing"})
        )
        bao_put(environment, "demo/db", {"password": "first-password"})
        aws_put(environment, "demo/api", "api-key-1")
        say("wrote demo/db to OpenBao and demo/api to AWS Secrets Manager (moto)")

        operator_url = stack.enter_context(operator(environment, namespace, workdir))
        say(f"operator {operator_url} (log {workdir / 'operator.log'})")
        files = repo_files(environment, str(identity.to_public()))
        sealing = has_controller("sealed")
        if sealing:
            cert = wait(lambda: fetch(operator_url + "/v1/cert.pem"), args.timeout, "the sealing certificate")
            files["deploy/sealed-secret.yaml"] = seal(cert, namespace, workdir)
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
            wait(check, timeout, what, board.tick)
            board.say(f"observed: {name}")
            board.print_rows()
            results.append((name, "observed"))

        step("synced", board.settled, "every object Synced (and Healthy where a kubelet is not needed)")
        if sealing:
            step(
                "sealed secret decrypted",
                lambda: secret_value(client, namespace, "demo-sealed", "TOKEN") == "sealed-for-the-demo",
                "Secret demo-sealed rendered from the SealedSecret by the sync engine",
            )
        else:
            board.say("pending: SealedSecret (the SealedSecret controller is not in this build)")
            results.append(("sealed secret", "pending"))
        step(
            "external secrets",
            lambda: (
                secret_value(client, namespace, "demo-db", "DB_PASSWORD") == "first-password"
                and secret_value(client, namespace, "demo-api", "API_KEY") == "api-key-1"
            ),
            "Secrets demo-db (OpenBao) and demo-api (AWS SM) filled",
        )
        client.merge_patch(
            f"/api/v1/namespaces/{namespace}/configmaps/demo-config", {"data": {"greeting": "edited by hand"}}
        )
        step(
            "hand edit corrected",
            lambda: configmap_value(client, namespace) == "hello from git",
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
                configmap_value(client, namespace) == "hello from a new commit"
                and revision in str((board.application().get("status") or {}).get("lastAppliedRevision", ""))
            ),
            f"revision {revision[:12]} applied",
        )
        bao_put(environment, "demo/db", {"password": "second-password"})
        step(
            "OpenBao change refreshed",
            lambda: secret_value(client, namespace, "demo-db", "DB_PASSWORD") == "second-password",
            "demo-db refreshed from OpenBao",
        )
        if keys_rotate_available() and sealing:
            board.say("step: keys rotate (lockstep keys rotate on a checkout of the demo repository)")
            rotated = rotate(url, workdir, environment, operator_url, str(identity), git_server, board.say)
            step(
                "keys rotated",
                lambda: (
                    rotated in str((board.application().get("status") or {}).get("lastAppliedRevision"))
                    and secret_value(client, namespace, "demo-sealed", "TOKEN") == "sealed-for-the-demo"
                ),
                f"rotation commit {rotated[:12]} applied and demo-sealed decrypted (only the new key can)",
            )
        else:
            board.say("pending: key rotation (`lockstep keys rotate` is not in this build yet)")
            results.append(("keys rotate", "pending"))
        for name, outcome in results:
            print(f"{outcome}: {name}", flush=True)
        if args.keep:
            look_around(environment, namespace, url)
    return 0 if all(outcome in ("observed", "pending") for _, outcome in results) else 1
