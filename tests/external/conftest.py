"""Fixtures for the external-secrets tests (the real OpenBao, moto and API server come from the plugin)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core_sync.kube import KubeClient
from core_sync.testing.processes import ManagedProcess, free_port, http_ok
from external_secrets.providers import ClientKubeAccess


@pytest.fixture
def kube(control_plane: Any) -> KubeClient:
    return control_plane.client  # type: ignore[no-any-return]


@pytest.fixture
def access(kube: KubeClient) -> ClientKubeAccess:
    return ClientKubeAccess(kube)


@pytest.fixture
def aws_env(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point boto3 (in this process) at moto through its standard environment variable."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    yield moto_server


REPO = Path(__file__).resolve().parents[2]
LOCKSTEP = REPO / ".venv" / "bin" / "lockstep"


@pytest.fixture(scope="session")
def es_crds(control_plane: Any) -> list[str]:
    """The project's ExternalSecret CRDs (``crds/external-secrets*.yaml``), installed (idempotent)."""
    real = sorted(REPO.glob("crds/external-secrets*.yaml"))
    assert real, "crds/external-secrets*.yaml is missing"
    names: list[str] = []
    for path in real:
        names += control_plane.install_crds(path)
    # a CRD's storage answers 429 "storage is (re)initializing" for a moment after install; a watch
    # opened then may stay silent until its timeout, so wait until plain lists work
    import time

    from core_sync.kube import ApiError

    lists = [
        f"/apis/external-secrets.io/v1/{plural}"
        for plural in ("externalsecrets", "secretstores", "clustersecretstores", "clusterexternalsecrets")
    ] + [
        "/apis/generators.external-secrets.io/v1alpha1/passwords",
        "/apis/external-secrets.io/v1alpha1/pushsecrets",
    ]
    for path in lists:
        deadline = time.monotonic() + 30
        while True:
            try:
                control_plane.client.get(path)
                break
            except ApiError as error:
                if error.status != 429 or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    time.sleep(1.0)
    return names


@contextlib.contextmanager
def running_operator(
    control_plane: Any, moto_server: Any, log: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[ManagedProcess]:
    """The real ``lockstep operator --controllers external`` (and ``args``) on the test control plane."""
    port = free_port()
    env = {
        **(env or {}),
        **control_plane.env(),
        "AWS_ENDPOINT_URL": moto_server.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "LOCKSTEP_EXTERNAL_MAX_BACKOFF": "2",
        # the informer-style resync (default 60 s) backs up a watch the API server left silent (one opened
        # while a just-installed CRD's storage initialises stays quiet until its timeout): within tests' waits
        "LOCKSTEP_EXTERNAL_RESYNC": "10",
    }
    process = ManagedProcess(
        "lockstep-operator",
        [
            str(LOCKSTEP),
            "operator",
            "--controllers",
            "external",
            "--http",
            f"127.0.0.1:{port}",
            "--log-format",
            "plain",
            *args,
        ],
        log,
        env=env,
    )
    process.start()
    try:
        process.wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), 30, "operator /healthz")
        yield process
    finally:
        process.stop()
        _drop_finalizers(control_plane.client)
        print(f"--- operator log tail ({log}) ---\n{process.log_tail(60)}")


@pytest.fixture(scope="module")
def operator(
    control_plane: Any,
    es_crds: list[str],
    openbao: Any,
    moto_server: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ManagedProcess]:
    """The real ``lockstep operator --controllers external`` against the test control plane."""
    with running_operator(
        control_plane, moto_server, tmp_path_factory.mktemp("operator") / "operator.log"
    ) as process:
        yield process


def _drop_finalizers(client: KubeClient) -> None:
    """Remove the finalizers our ExternalSecrets and PushSecrets got, so test namespaces are not stuck."""
    from core_sync.kube import ApiError

    for base in (
        "/apis/external-secrets.io/v1/externalsecrets",
        "/apis/external-secrets.io/v1alpha1/pushsecrets",
    ):
        try:
            items = client.get(base).get("items") or []
        except ApiError:
            continue
        group_version, plural = base.rsplit("/", 1)
        for item in items:
            meta = item["metadata"]
            if meta.get("finalizers"):
                path = f"{group_version}/namespaces/{meta['namespace']}/{plural}/{meta['name']}"
                with contextlib.suppress(ApiError):
                    client.merge_patch(path, {"metadata": {"finalizers": None}})
