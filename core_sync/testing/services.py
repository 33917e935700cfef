"""Real service peers on loopback: an OpenBao dev server, moto in server mode, and a git daemon.

Each can be stopped and started again on the same port, which is how tests make a provider or a git
server "go down" and "come back".
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from core_sync.testing import binaries
from core_sync.testing.processes import ManagedProcess, free_port, http_ok, port_is_free

START_BUDGET_S = 30.0


class _Service:
    """Shared lifecycle: a temp dir, one managed process, restart on the same port."""

    name = "service"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"lockstep-{self.name}-"))
        self.port = free_port()
        self.process: ManagedProcess | None = None

    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _env(self) -> dict[str, str]:
        return dict(os.environ)

    def _ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        deadline = time.monotonic() + 10
        while not port_is_free(self.port):  # a restart waits for the old socket to go
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: port 127.0.0.1:{self.port} is in use by another process")
            time.sleep(0.1)
        self.process = ManagedProcess(self.name, self._argv(), self.dir / f"{self.name}.log", env=self._env())
        self.process.start()
        self.process.wait_until(self._ready, START_BUDGET_S, f"{self.name} readiness on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> _Service:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class OpenBao(_Service):
    """``bao server -dev``: in-memory, unsealed, KV v2 mounted at ``secret/``, root token ``.token``.

    A dev server keeps nothing across a restart: tests that stop and start it write their data again.
    """

    name = "openbao"

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token or "root-" + secrets.token_hex(8)
        self.url = f"http://127.0.0.1:{self.port}"

    def _argv(self) -> list[str]:
        return [
            str(binaries.bao()),
            "server",
            "-dev",
            f"-dev-listen-address=127.0.0.1:{self.port}",
            f"-dev-root-token-id={self.token}",
            "-dev-no-store-token",
        ]

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
        return {**env, "HOME": str(self.dir), "BAO_DISABLE_MLOCK": "true", "SKIP_SETCAP": "1"}

    def _ready(self) -> bool:
        return http_ok(self.url + "/v1/sys/health")

    def __enter__(self) -> OpenBao:
        super().__enter__()
        return self


class MotoServer(_Service):
    """moto in server mode: every AWS API answered on ``.url`` (use it as ``endpoint_url``)."""

    name = "moto"

    def __init__(self) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"

    def _argv(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    def _env(self) -> dict[str, str]:
        return {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

    def _ready(self) -> bool:
        return http_ok(self.url + "/moto-api/")

    def reset(self) -> None:
        """Forget every resource (moto's reset endpoint)."""
        import urllib.request

        request = urllib.request.Request(self.url + "/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - http on loopback
            pass

    def __enter__(self) -> MotoServer:
        super().__enter__()
        return self


_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Lockstep Tests",
    "GIT_AUTHOR_EMAIL": "tests@lockstep.invalid",
    "GIT_COMMITTER_NAME": "Lockstep Tests",
    "GIT_COMMITTER_EMAIL": "tests@lockstep.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


def git(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    """Run git with a fixed identity and no user/system config; raise with stderr on failure."""
    env = {**os.environ, **_GIT_IDENTITY, "HOME": os.environ.get("HOME", "/nonexistent"), **(env or {})}
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout.strip()


class GitServer(_Service):
    """``git daemon`` serving the bare repositories under ``root`` over git:// on 127.0.0.1 (push enabled)."""

    name = "git-daemon"

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self.root = Path(root) if root is not None else self.dir / "repos"
        self.root.mkdir(parents=True, exist_ok=True)

    def _argv(self) -> list[str]:
        return [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--enable=receive-pack",
            "--informative-errors",
            f"--base-path={self.root}",
            "--listen=127.0.0.1",
            f"--port={self.port}",
            str(self.root),
        ]

    def _ready(self) -> bool:
        probe = self.root / ".lockstep-probe.git"
        if not probe.exists():
            git("init", "--bare", "--quiet", str(probe))
        result = subprocess.run(
            ["git", "ls-remote", self.url_for(".lockstep-probe")],
            capture_output=True,
            check=False,
            timeout=5,
            env={**os.environ, **self._auth_env()},
        )
        return result.returncode == 0

    def url_for(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}.git"

    def _auth_env(self) -> dict[str, str]:
        """Environment that authenticates git to this server (none for git://)."""
        return {}

    def create_repo(self, name: str, files: Mapping[str, str | bytes], branch: str = "main") -> str:
        """A bare repo ``name`` whose ``branch`` has one commit holding ``files``; returns its URL."""
        bare = self.root / f"{name}.git"
        git("init", "--bare", "--quiet", f"--initial-branch={branch}", str(bare))
        self.commit(name, files, message="initial commit", branch=branch)
        return self.url_for(name)

    def commit(
        self,
        name: str,
        files: Mapping[str, str | bytes] | None = None,
        *,
        remove: tuple[str, ...] = (),
        message: str = "update",
        branch: str = "main",
    ) -> str:
        """Clone ``name``, write ``files``, delete ``remove``, commit, push over git://; return the SHA."""
        with tempfile.TemporaryDirectory(prefix="lockstep-git-") as work:
            checkout = Path(work) / "checkout"
            auth = self._auth_env()
            git("clone", "--quiet", self.url_for(name), str(checkout), env=auth)
            if git("branch", "--show-current", cwd=checkout) != branch:
                git("checkout", "--quiet", "-B", branch, cwd=checkout)
            for relative, content in (files or {}).items():
                target = checkout / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content if isinstance(content, bytes) else content.encode())
            for relative in remove:
                git("rm", "--quiet", "-r", relative, cwd=checkout)
            git("add", "--all", cwd=checkout)
            git("commit", "--quiet", "--allow-empty", "-m", message, cwd=checkout)
            git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=checkout, env=auth)
            return git("rev-parse", "HEAD", cwd=checkout)

    def __enter__(self) -> GitServer:
        super().__enter__()
        return self


class GitHttpServer(GitServer):
    """The same repositories over smart HTTP (``git http-backend``), optionally behind basic or bearer auth.

    ``url_for`` gives the URL without credentials (what an Application names); ``commit`` and
    ``create_repo`` authenticate themselves.
    """

    name = "git-http"

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        basic: tuple[str, str] | None = None,
        bearer: str | None = None,
    ) -> None:
        super().__init__(root)
        self.basic = basic
        self.bearer = bearer

    def _argv(self) -> list[str]:
        return [sys.executable, "-m", "core_sync.testing.git_http", str(self.root), str(self.port)]

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.basic:
            env["GIT_HTTP_BASIC"] = ":".join(self.basic)
        if self.bearer:
            env["GIT_HTTP_BEARER"] = self.bearer
        return env

    def url_for(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}.git"

    def _auth_env(self) -> dict[str, str]:
        import base64

        if self.bearer:
            header = f"Authorization: Bearer {self.bearer}"
        elif self.basic:
            header = "Authorization: Basic " + base64.b64encode(":".join(self.basic).encode()).decode()
        else:
            return {}
        return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader", "GIT_CONFIG_VALUE_0": header}

    def __enter__(self) -> GitHttpServer:
        super().__enter__()
        return self


class SshGitServer(GitServer):
    """The same repositories over SSH: a private ``sshd`` on 127.0.0.1 with its own host key that accepts
    one client key (``client_key`` / ``known_hosts`` are what an Application's secretRef would hold).

    Needs ``/usr/sbin/sshd`` (Debian's openssh-server; ``make test`` installs it when missing).
    """

    name = "sshd"
    SSHD = Path("/usr/sbin/sshd")

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        super().__init__(root)
        if not self.SSHD.is_file():
            raise RuntimeError(f"{self.SSHD} not found: install Debian's openssh-server (make test does)")
        import getpass

        self.user = getpass.getuser()
        keys = self.dir / "keys"
        keys.mkdir()
        for key in ("host", "client"):
            subprocess.run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    f"lockstep-{key}",
                    "-f",
                    str(keys / key),
                ],
                check=True,
                capture_output=True,
            )
        (keys / "authorized_keys").write_bytes((keys / "client.pub").read_bytes())
        host_public = (keys / "host.pub").read_text().split()
        self.client_key = (keys / "client").read_bytes()
        self.known_hosts = f"[127.0.0.1]:{self.port} {host_public[0]} {host_public[1]}\n".encode()
        (keys / "known_hosts").write_bytes(self.known_hosts)
        self.config = self.dir / "sshd_config"
        self.config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {keys / 'host'}",
                    f"PidFile {self.dir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {keys / 'authorized_keys'}",
                    "StrictModes no",
                    "UsePAM no",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin prohibit-password",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        self._keys = keys

    def _argv(self) -> list[str]:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
        return [str(self.SSHD), "-D", "-e", "-f", str(self.config)]

    def url_for(self, name: str) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{self.root}/{name}.git"

    def _auth_env(self) -> dict[str, str]:
        command = (
            f"ssh -i {self._keys / 'client'} -o IdentitiesOnly=yes -o BatchMode=yes "
            f"-o UserKnownHostsFile={self._keys / 'known_hosts'} -o StrictHostKeyChecking=yes"
        )
        return {"GIT_SSH_COMMAND": command}

    def __enter__(self) -> SshGitServer:
        super().__enter__()
        return self
