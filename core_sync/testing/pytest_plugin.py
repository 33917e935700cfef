"""pytest fixtures for real parts: ``control_plane`` (session), ``namespace``, ``openbao``, ``moto_server``,
``git_server``.

A fixture whose binary is missing errors with the command that builds or installs it: it never skips.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core_sync.testing.control_plane import ControlPlane
from core_sync.testing.processes import stop_all
from core_sync.testing.services import GitServer, MotoServer, OpenBao


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lockstep")
    group.addoption(
        "--lockstep-crds",
        default=os.environ.get("LOCKSTEP_TEST_CRDS"),
        help="directory (or file) of CRDs to install into the session control plane",
    )


def pytest_configure(config: pytest.Config) -> None:
    # sops --version asks GitHub for updates; tests reach nothing beyond loopback.
    os.environ.setdefault("SOPS_DISABLE_VERSION_CHECK", "1")


def pytest_unconfigure(config: pytest.Config) -> None:
    stop_all()


@pytest.fixture(scope="session")
def control_plane(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    """One etcd + kube-apiserver for the session, with the project's CRDs installed when given."""
    with ControlPlane(audit=True) as plane:
        crds = request.config.getoption("--lockstep-crds")
        if crds and Path(crds).exists():
            plane.install_crds(crds)
        yield plane


@pytest.fixture
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    """A fresh namespace per test (deleted afterwards; with no namespace controller it stays Terminating)."""
    name = control_plane.create_namespace("t-")
    yield name
    import contextlib

    from core_sync.kube import ApiError

    with contextlib.suppress(ApiError):
        control_plane.client.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBao]:
    with OpenBao() as bao:
        yield bao


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as moto:
        yield moto


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitServer]:
    with GitServer(tmp_path / "repos") as server:
        yield server
