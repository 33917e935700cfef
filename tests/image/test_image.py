"""The operator image `make image` builds: `lockstep operator` run inside it (buildah run, chroot isolation,
host network) syncs an Application from the test git server into the test control plane.

Marked ``image`` and left out of the default suite (building the image takes minutes): `make test-image`
builds it (the Debian rootfs is cached) and runs these tests.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from core_sync.testing import ControlPlane, GitServer
from tests.core_sync.conftest import Apps, Operator, configmap, live

pytestmark = pytest.mark.image
IMAGE = f"localhost/lockstep:{importlib.metadata.version('lockstep')}"


def _buildah(*args: str) -> str:
    buildah = shutil.which("buildah")
    if buildah is None:
        raise AssertionError(
            "buildah is not installed: run `make image` (it installs buildah and builds the image)"
        )
    result = subprocess.run([buildah, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"buildah {' '.join(args)}: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def container() -> Iterator[str]:
    """A working container of the image (fails loudly when `make image` has not built it)."""
    if IMAGE not in _buildah("images", "--format", "{{.Name}}:{{.Tag}}").split():
        raise AssertionError(f"image {IMAGE} is not built: run `make image`")
    name = _buildah("from", "--pull-never", IMAGE).strip()
    yield name
    _buildah("rm", name)


def _run_in(container: str, *command: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--user", user] if user else []
    return subprocess.run(
        ["buildah", "run", "--isolation", "chroot", *extra, container, "--", *command],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_image_runs_as_non_root_with_sops_and_no_compiler(container: str) -> None:
    whoami = _run_in(container, "python3", "-c", "import os; print(os.getuid(), os.getgid())")
    assert whoami.stdout.split() == ["65532", "65532"], whoami.stderr
    sops = _run_in(container, "sops", "--version")
    assert sops.returncode == 0 and "sops 3." in sops.stdout, sops.stderr
    assert _run_in(container, "lockstep", "--help").returncode == 0
    helm = _run_in(container, "helm", "version", "--short")  # chart sources render in the operator
    assert helm.returncode == 0 and helm.stdout.startswith("v3."), helm.stderr
    assert _run_in(container, "sh", "-c", "command -v bao").returncode != 0  # the demo's OpenBao stays out
    assert _run_in(container, "sh", "-c", "command -v lockstep-ksops").returncode == 0  # the kustomize plugin
    drop_in = _run_in(container, "lockstep-sops", "--version")  # the `sops` command line (helm-secrets)
    assert drop_in.returncode == 0 and drop_in.stdout.startswith("sops 3.13.2 (lockstep "), drop_in.stderr
    for compiler in ("cc", "gcc", "c++", "make"):
        found = _run_in(container, "sh", "-c", f"command -v {compiler}")
        assert found.returncode != 0, f"{compiler} is in the image: {found.stdout}"


@pytest.fixture
def mounted_kubeconfig(control_plane: ControlPlane) -> Iterator[Path]:
    """The test kubeconfig in a directory the image's user (65532) can read, removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="lockstep-image-"))
    try:
        directory.chmod(0o755)
        config = directory / "kubeconfig"
        config.write_text(yaml.safe_dump(yaml.safe_load(control_plane.kubeconfig.read_text())))
        config.chmod(0o644)
        yield directory
    finally:
        shutil.rmtree(directory)


def test_operator_in_the_image_syncs_an_application(
    container: str,
    mounted_kubeconfig: Path,
    control_plane: ControlPlane,
    namespace: str,
    git_server: GitServer,
    tmp_path: Path,
) -> None:
    prefix = (
        *("buildah", "run", "--isolation", "chroot", "--network", "host"),
        *("--volume", f"{mounted_kubeconfig}:/kube:ro", "--env", "KUBECONFIG=/kube/kubeconfig"),
        *(container, "--", "lockstep"),
    )
    operator = Operator(control_plane, tmp_path, args=("--namespace", namespace), command=prefix)
    apps = Apps(control_plane.client, namespace)
    operator.start()
    try:
        url = git_server.create_repo("image", {"deploy/cm.yaml": configmap("from-image", "1")})
        apps.create("image", url, interval="1s")
        try:
            apps.wait_ready("image", timeout=90)
        except AssertionError as error:
            status = apps.get("image").get("status")
            log = operator.log_path.read_text()[-3000:]
            raise AssertionError(f"{error}\nstatus: {status}\n{log}") from None
        made = live(control_plane.client, f"/api/v1/namespaces/{namespace}/configmaps/from-image")
        assert made is not None and made["data"] == {"value": "1"}
    finally:
        apps.cleanup()
        operator.kill(signal.SIGTERM)
