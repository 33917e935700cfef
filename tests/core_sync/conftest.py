"""A real `lockstep operator` process per test module, and helpers to wait on Applications."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from core_sync.kube import ApiError, KubeClient
from core_sync.testing import ControlPlane
from core_sync.testing.processes import free_port

PLUGIN_DIR = Path(__file__).parent / "plugin_stage"
LOCKSTEP = (
    Path(os.environ.get("VIRTUAL_ENV", Path(__import__("sys").executable).parent.parent)) / "bin" / "lockstep"
)
T = TypeVar("T")


def wait_for(
    check: Callable[[], T], timeout: float = 30.0, what: str = "condition", interval: float = 0.1
) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last value: {last!r}")


class Operator:
    """`lockstep operator` as a subprocess against the test control plane."""

    def __init__(
        self,
        control_plane: ControlPlane,
        workdir: Path,
        namespaces: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        stdin: int | None = None,
        command: tuple[str, ...] = (str(LOCKSTEP),),
    ) -> None:
        """``args`` follow ``--controllers application``: a later ``--controllers`` overrides it.
        ``command`` is what runs ``lockstep`` (a ``buildah run ... --`` prefix for the image)."""
        self.command = command
        self.extra_env = env or {}
        self.args = args
        self.stdin = stdin
        self.control_plane = control_plane
        self.workdir = workdir
        self.namespaces = namespaces
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "operator.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **self.control_plane.env(),
            "LOCKSTEP_CACHE": str(self.workdir / "cache"),
            "PYTHONPATH": str(PLUGIN_DIR),
            **self.extra_env,
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *self.command,
                    "operator",
                    "--http",
                    f"127.0.0.1:{self.port}",
                    "--controllers",
                    "application",
                    *self.args,
                ],
                env=env,
                stdin=self.stdin,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self._healthy, 30, "operator /healthz")

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"operator exited: {self.log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:  # noqa: S310
                return bool(response.status == 200)
        except OSError:
            return False

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(15)

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as response:  # noqa: S310
            return str(response.read().decode())

    def post_hook(self, token: str) -> str:
        request = urllib.request.Request(self.url + f"/hook/{token}", method="POST", data=b"{}")  # noqa: S310
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return str(response.read().decode())


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    running = Operator(control_plane, tmp_path_factory.mktemp("operator"))
    running.start()
    yield running
    running.kill(signal.SIGTERM)


class Apps:
    """Create Applications and read their status in one namespace; deletes them afterwards."""

    def __init__(self, client: KubeClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.base = f"/apis/lockstep.dev/v1alpha1/namespaces/{namespace}/applications"
        self.created: list[str] = []

    def cleanup(self) -> None:
        """Delete every Application this test made, so no operator keeps reconciling them."""
        for name in self.created:
            try:
                self.client.merge_patch(f"{self.base}/{name}", {"metadata": {"finalizers": None}})
                self.client.delete(f"{self.base}/{name}")
            except ApiError as error:
                if not error.not_found:
                    raise

    def create(
        self, name: str, url: str, path: str = "deploy", secret_ref: str | None = None, **spec: Any
    ) -> dict[str, Any]:
        source: dict[str, Any] = {"repoURL": url, "targetRevision": "main", "path": path}
        if secret_ref:
            source["secretRef"] = {"name": secret_ref}
        body = {
            "apiVersion": "lockstep.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {"source": source, **spec},
        }
        self.created.append(name)
        return self.client.create(self.base, body)

    def get(self, name: str) -> dict[str, Any]:
        return self.client.get(f"{self.base}/{name}")

    def patch_spec(self, name: str, spec: dict[str, Any]) -> None:
        self.client.merge_patch(f"{self.base}/{name}", {"spec": spec})

    def condition(self, name: str, type_: str = "Ready") -> dict[str, Any] | None:
        conditions = (self.get(name).get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == type_), None)

    def wait_ready(self, name: str, revision: str | None = None, timeout: float = 30) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            app = self.get(name)
            status = app.get("status") or {}
            ok = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])
            if ok and (revision is None or status.get("lastAppliedRevision") == revision):
                return app
            return None

        return wait_for(ready, timeout, f"Application {name} Ready at {revision or 'any revision'}")

    def wait_failed(self, name: str, timeout: float = 30) -> dict[str, Any]:
        def failed() -> dict[str, Any] | None:
            cond = self.condition(name)
            return cond if cond and cond["status"] == "False" else None

        return wait_for(failed, timeout, f"Application {name} Ready=False")

    def events(self, reason: str) -> list[dict[str, Any]]:
        items = self.client.get(f"/api/v1/namespaces/{self.namespace}/events")["items"]
        return [e for e in items if e.get("reason") == reason]


@pytest.fixture
def lockstep_storage(control_plane: ControlPlane, namespace: str) -> None:
    """Wait until the lockstep.dev CRDs answer: their storage says 429 for a moment after installation."""
    for plural in ("applications", "applicationsets"):
        path = f"/apis/lockstep.dev/v1alpha1/namespaces/{namespace}/{plural}"

        def listed(path: str = path) -> bool | None:
            try:
                control_plane.client.get(path)
                return True
            except ApiError as error:
                if error.status != 429:
                    raise
                return None

        wait_for(listed, 30, f"{plural} storage ready")


@pytest.fixture
def apps(control_plane: ControlPlane, namespace: str) -> Iterator[Apps]:
    made = Apps(control_plane.client, namespace)
    yield made
    made.cleanup()


@pytest.fixture
def age_identity(control_plane: ControlPlane, apps: Apps) -> Any:
    """A fresh age identity, stored as Secret ``sops-age`` (entry ``identity.agekey``) in the apps'
    namespace: what ``spec.decryption.sops.secretRef`` names."""
    import base64

    import pyrage

    identity = pyrage.x25519.Identity.generate()
    control_plane.client.create(
        f"/api/v1/namespaces/{apps.namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "sops-age"},
            "data": {"identity.agekey": base64.b64encode(str(identity).encode()).decode()},
        },
    )
    return identity


def configmap(name: str, value: str, **annotations: str) -> str:
    meta = f"  name: {name}\n"
    if annotations:
        meta += "  annotations:\n" + "".join(f"    {k}: '{v}'\n" for k, v in annotations.items())
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n{meta}data:\n  value: '{value}'\n"


def live(client: KubeClient, path: str) -> dict[str, Any] | None:
    return client.get_or_none(path)


def write(root: Path, rel: str, text: str) -> Path:
    """Write dedented ``text`` to ``root/rel`` (parents created): a file of a test repository."""
    import textwrap

    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``lockstep ARGS`` as a user runs it (a fresh interpreter), text output."""
    import sys

    return subprocess.run(
        [sys.executable, "-m", "core_sync.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
    )
