"""A real etcd + kube-apiserver on loopback, started the way controller-runtime's envtest starts them.

No kube-controller-manager, scheduler or kubelet run: nothing garbage-collects, namespaces never finish
deleting, Deployments make no Pods. Tests use a fresh namespace each and patch status subresources to
exercise health.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from core_sync.kube import ApiError, KubeClient, KubeConfig
from core_sync.testing import binaries
from core_sync.testing.certs import CertificateAuthority, signing_key_pair
from core_sync.testing.processes import ManagedProcess, ProcessFailed, free_port, http_ok

READY_BUDGET_S = 60.0
ADDRESS_IN_USE = ("address already in use", "bind: address already in use")


class ControlPlane:
    """Context manager: etcd and kube-apiserver on free ports, an admin kubeconfig, CRD installation."""

    def __init__(
        self, *, ready_timeout: float = READY_BUDGET_S, keep_dir: bool = False, audit: bool = False
    ) -> None:
        self.ready_timeout = ready_timeout
        self.keep_dir = keep_dir
        self.audit = audit
        self.dir = Path(tempfile.mkdtemp(prefix="lockstep-cp-"))
        self.kubeconfig = self.dir / "kubeconfig"
        self.server = ""
        self.start_seconds = 0.0
        self.etcd: ManagedProcess | None = None
        self.apiserver: ManagedProcess | None = None
        self._client: KubeClient | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def __enter__(self) -> ControlPlane:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        apiserver_bin, etcd_bin = binaries.kube_apiserver(), binaries.etcd()
        began = time.monotonic()
        self._write_certs()
        for attempt in range(3):  # a port taken between choosing and binding gets fresh ports
            try:
                self._start_etcd(etcd_bin)
                self._start_apiserver(apiserver_bin)
                break
            except ProcessFailed as failure:
                clash = any(marker in str(failure).lower() for marker in ADDRESS_IN_USE)
                self._stop_processes()
                if not clash or attempt == 2:
                    raise
        self._write_kubeconfig()
        self.start_seconds = time.monotonic() - began

    def stop(self) -> None:
        self._stop_processes()
        if not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _stop_processes(self) -> None:
        for process in (self.apiserver, self.etcd):
            if process is not None:
                process.stop()
        self.apiserver = self.etcd = None

    # -- pieces ----------------------------------------------------------------------------------------
    def _write_certs(self) -> None:
        certs = self.dir / "certs"
        certs.mkdir()
        serving_ca, client_ca = (
            CertificateAuthority("lockstep-serving-ca"),
            CertificateAuthority("lockstep-client-ca"),
        )
        serving = serving_ca.issue(
            "localhost", dns_names=("localhost",), ip_addresses=("127.0.0.1",), server=True
        )
        admin = client_ca.issue("admin", organizations=("system:masters",))
        sa = signing_key_pair()
        files = {
            "serving-ca.crt": serving_ca.cert_pem,
            "apiserver.crt": serving.cert_pem,
            "apiserver.key": serving.key_pem,
            "client-ca.crt": client_ca.cert_pem,
            "sa-signer.pub": sa.cert_pem,
            "sa-signer.key": sa.key_pem,
        }
        for name, payload in files.items():
            path = certs / name
            path.write_bytes(payload)
            path.chmod(0o600)
        self._admin = admin
        self._serving_ca = serving_ca.cert_pem
        self.client_ca = client_ca

    def _start_etcd(self, etcd_bin: Path) -> None:
        client_port, peer_port = free_port(), free_port()
        data = self.dir / "etcd-data"
        shutil.rmtree(data, ignore_errors=True)
        self.etcd_url = f"http://127.0.0.1:{client_port}"
        self.etcd = ManagedProcess(
            "etcd",
            [
                str(etcd_bin),
                f"--data-dir={data}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
            self.dir / "etcd.log",
        )
        self.etcd.start()
        self.etcd.wait_until(lambda: http_ok(self.etcd_url + "/health"), self.ready_timeout, "etcd /health")

    def _start_apiserver(self, apiserver_bin: Path) -> None:
        port = free_port()
        certs = self.dir / "certs"
        self.server = f"https://127.0.0.1:{port}"
        self.apiserver = ManagedProcess(
            "kube-apiserver",
            [
                str(apiserver_bin),
                f"--etcd-servers={self.etcd_url}",
                f"--secure-port={port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--cert-dir={certs}",
                f"--tls-cert-file={certs / 'apiserver.crt'}",
                f"--tls-private-key-file={certs / 'apiserver.key'}",
                f"--client-ca-file={certs / 'client-ca.crt'}",
                "--authorization-mode=RBAC",
                # envtest uses /24: 254 Services, too few for scale tests and benchmarks
                "--service-cluster-ip-range=10.0.0.0/16",
                "--allow-privileged=true",
                "--disable-admission-plugins=ServiceAccount",
                f"--service-account-issuer={self.server}/",
                f"--service-account-key-file={certs / 'sa-signer.pub'}",
                f"--service-account-signing-key-file={certs / 'sa-signer.key'}",
                "--v=1",
                *self._audit_flags(),
            ],
            self.dir / "kube-apiserver.log",
        )
        self.apiserver.start()
        self._wait_apiserver_ready()

    def _wait_apiserver_ready(self) -> None:
        assert self.apiserver is not None
        context = ssl.create_default_context(cadata=self._serving_ca.decode())
        from core_sync.kube.config import load_cert_chain_from_memory

        load_cert_chain_from_memory(context, self._admin.cert_pem, self._admin.key_pem)
        self.apiserver.wait_until(
            lambda: http_ok(self.server + "/readyz", context), self.ready_timeout, "kube-apiserver /readyz"
        )

    # -- faults (for fault tests): stop a component, start it again on the same port and data --------
    def stop_apiserver(self) -> None:
        assert self.apiserver is not None, "control plane not started"
        self.apiserver.stop()

    def start_apiserver(self) -> None:
        """Start kube-apiserver again with the same flags (port, etcd, certificates) and wait for /readyz."""
        assert self.apiserver is not None, "control plane not started"
        if not self.apiserver.running():
            self.apiserver.start()
        self._wait_apiserver_ready()

    def stop_etcd(self) -> None:
        assert self.etcd is not None, "control plane not started"
        self.etcd.stop()

    def start_etcd(self) -> None:
        """Start etcd again on its data directory and ports; waits until the API server is ready again."""
        assert self.etcd is not None, "control plane not started"
        if not self.etcd.running():
            self.etcd.start()
        self.etcd.wait_until(lambda: http_ok(self.etcd_url + "/health"), self.ready_timeout, "etcd /health")
        self._wait_apiserver_ready()

    def _audit_flags(self) -> list[str]:
        if not self.audit:
            return []
        policy = self.dir / "audit-policy.yaml"
        policy.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "audit.k8s.io/v1",
                    "kind": "Policy",
                    "omitStages": ["RequestReceived"],
                    "rules": [
                        {
                            "level": "Metadata",
                            "verbs": ["create", "update", "patch", "delete", "deletecollection"],
                        },
                        {  # which label selector each replica lists and watches with (sharding tests)
                            "level": "Metadata",
                            "verbs": ["list", "watch"],
                            "resources": [
                                {"group": "lockstep.dev", "resources": ["applications"]},
                                {"group": "external-secrets.io", "resources": ["externalsecrets"]},
                            ],
                        },
                        {"level": "None"},
                    ],
                }
            )
        )
        return [
            f"--audit-policy-file={policy}",
            f"--audit-log-path={self.dir / 'audit.log'}",
            "--audit-log-mode=blocking",
        ]

    def write_requests(self, *, namespaces: Iterable[str] = (), user: str = "admin") -> list[dict[str, Any]]:
        """Audited writes (not dry-runs) by ``user``, optionally only in ``namespaces``.

        Needs ``ControlPlane(audit=True)``."""
        if not self.audit:
            raise RuntimeError("ControlPlane(audit=True) is needed to count write requests")
        wanted = set(namespaces)
        found = []
        log = self.dir / "audit.log"
        for line in log.read_text().splitlines() if log.exists() else []:
            event = json.loads(line)
            if event.get("stage") != "ResponseComplete" or event.get("user", {}).get("username") != user:
                continue
            if event.get("verb") in ("list", "watch", "get"):  # audited for read_requests, not writes
                continue
            if "dryRun=All" in event.get("requestURI", ""):
                continue
            if wanted and event.get("objectRef", {}).get("namespace") not in wanted:
                continue
            found.append(event)
        return found

    def read_requests(self, resource: str, namespace: str) -> list[tuple[str, dict[str, str]]]:
        """Audited lists and watches of ``resource`` (``applications`` or ``externalsecrets``) in
        ``namespace`` or cluster-wide, as (user agent, query parameters), oldest first, one entry per
        request. Needs ``audit=True``."""
        from urllib.parse import parse_qsl, urlsplit

        log = self.dir / "audit.log"
        found, seen = [], set()
        for line in log.read_text().splitlines() if log.exists() else []:
            event = json.loads(line)
            ref = event.get("objectRef") or {}
            if event.get("verb") not in ("list", "watch") or event.get("auditID") in seen:
                continue
            if ref.get("resource") != resource or ref.get("namespace") not in (namespace, None):
                continue
            seen.add(event.get("auditID"))
            query = dict(parse_qsl(urlsplit(str(event.get("requestURI"))).query))
            found.append((str(event.get("userAgent", "")), query))
        return found

    def _write_kubeconfig(self) -> None:
        import base64

        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode()

        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "lockstep-test",
                    "cluster": {"server": self.server, "certificate-authority-data": b64(self._serving_ca)},
                }
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {
                        "client-certificate-data": b64(self._admin.cert_pem),
                        "client-key-data": b64(self._admin.key_pem),
                    },
                }
            ],
            "contexts": [{"name": "lockstep-test", "context": {"cluster": "lockstep-test", "user": "admin"}}],
            "current-context": "lockstep-test",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config))
        self.kubeconfig.chmod(0o600)

    # -- helpers for tests -----------------------------------------------------------------------------
    @property
    def ca_pem(self) -> bytes:
        """The CA that signed the API server's serving certificate (what a kubeconfig trusts)."""
        return self._serving_ca

    @property
    def client(self) -> KubeClient:
        """An admin REST client (``system:masters``)."""
        if self._client is None:
            self._client = KubeClient(KubeConfig.from_file(self.kubeconfig))
        return self._client

    def env(self) -> dict[str, str]:
        """``os.environ`` plus ``KUBECONFIG`` pointing at this control plane (for subprocesses)."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def create_namespace(self, prefix: str = "test-") -> str:
        created = self.client.create(
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"generateName": prefix}},
        )
        return str(created["metadata"]["name"])

    def install_crds(self, path: str | os.PathLike[str], timeout: float = 30.0) -> list[str]:
        """Create or update every CRD under ``path`` and wait until each is Established and discoverable."""
        crds = [doc for doc in _load_documents(Path(path)) if doc.get("kind") == "CustomResourceDefinition"]
        base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        for crd in crds:
            name = crd["metadata"]["name"]
            try:
                self.client.create(base, crd)
            except ApiError as error:
                if not error.conflict:
                    raise
                live = self.client.get(f"{base}/{name}")
                crd = {
                    **crd,
                    "metadata": {**crd["metadata"], "resourceVersion": live["metadata"]["resourceVersion"]},
                }
                self.client.request("PUT", f"{base}/{name}", body=crd)
        deadline = time.monotonic() + timeout
        for crd in crds:
            self._wait_for_crd(crd, deadline)
        return [crd["metadata"]["name"] for crd in crds]

    def _wait_for_crd(self, crd: dict[str, Any], deadline: float) -> None:
        name = crd["metadata"]["name"]
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        served = [v["name"] for v in crd["spec"]["versions"] if v.get("served", True)]
        base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        while True:
            live = self.client.get(f"{base}/{name}")
            conditions = {c["type"]: c["status"] for c in (live.get("status") or {}).get("conditions") or []}
            established = conditions.get("Established") == "True"
            discovered = established and all(
                any(r["name"] == plural for r in _resources(self.client, f"/apis/{group}/{version}"))
                for version in served
            )
            if discovered:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"CRD {name}: not Established and served in time (conditions: {conditions})"
                )
            time.sleep(0.1)


def _resources(client: KubeClient, path: str) -> list[dict[str, Any]]:
    try:
        return list(client.get(path).get("resources", []))
    except ApiError as error:
        if error.not_found:
            return []
        raise


def _load_documents(path: Path) -> Iterable[dict[str, Any]]:
    files = (
        sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
        if path.is_dir()
        else [path]
    )
    for file in files:
        for doc in yaml.safe_load_all(file.read_text()):
            if isinstance(doc, dict):
                yield doc
