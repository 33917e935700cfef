"""Leak scan: one Application with a SOPS Secret, a SealedSecret and an ExternalSecret (OpenBao), synced by
the real operator running the Application and ExternalSecret controllers, with marked plaintext values.

No marker — as plaintext, base64 at any alignment, URL-safe base64, hex or its SHA-256 — may appear in the
operator's logs, Events of any namespace, the Application (status included), /metrics, the metadata of
any object (annotations, labels, managed fields; only a Secret's own ``data`` may hold it), the text of
errors (a revision the API server refuses), or any file in the operator's TMPDIR and repository cache.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import signal
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyrage
import pytest
import yaml

from core_sync.kube import ApiError, KubeClient
from core_sync.testing import ControlPlane, GitServer, OpenBao
from tests.core_sync.conftest import Apps, Operator, configmap, wait_for
from tests.core_sync.test_secret_stages import _seal_secret, _sealing_key, _sops_encrypt
from tests.external.es_helpers import (
    kv_put,
    make_secret,
    password_external_secret,
    vault_store_object,
    wait_for_store_api,
)

pytestmark = pytest.mark.integration


def leak_forms(marker: str) -> set[str]:
    """Every way the value could be written out: plaintext, base64 (std and URL-safe) at each of the three
    alignments it can take inside a longer encoded string, hex, and its SHA-256."""
    raw = marker.encode()
    forms = {marker, raw.hex(), hashlib.sha256(raw).hexdigest()}
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * pad + raw).decode()
            forms.add(encoded[4 if pad else 0 : -4])  # the part fixed by the marker alone
    return forms


def find_leaks(texts: Iterable[tuple[str, str]], markers: Iterable[str]) -> list[str]:
    """``where: form`` for every marker form found in the ``(where, text)`` pairs."""
    forms = {form: marker for marker in markers for form in leak_forms(marker)}
    return [f"{where}: {form!r}" for where, text in texts for form in forms if form in text]


def test_leak_forms_find_base64_at_every_alignment() -> None:
    marker = "LEAKCANARY-" + secrets.token_hex(8)
    for prefix in (b"", b"a", b"ab", b"abc"):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(prefix + marker.encode() + b"tail").decode()
            assert find_leaks([("x", text)], [marker]), (prefix, encode)
    assert find_leaks([("x", hashlib.sha256(marker.encode()).hexdigest())], [marker])
    assert not find_leaks([("x", "LEAKCANARY-other " + base64.b64encode(b"unrelated").decode())], [marker])


def _files(*roots: Path) -> Iterator[tuple[str, str]]:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                yield str(path), path.read_bytes().decode("latin-1")


def _metadata_and_status(client: KubeClient, namespaces: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Every object in the namespaces (all listable kinds) without a Secret's ``data``/``stringData``."""
    paths = ["/api/v1"] + [
        f"/apis/{group['preferredVersion']['groupVersion']}" for group in client.get("/apis")["groups"]
    ]
    for base in paths:
        try:
            resources = client.get(base)["resources"]
        except ApiError:
            continue
        for resource in resources:
            if "/" in resource["name"] or "list" not in resource.get("verbs", []):
                continue
            if not resource["namespaced"]:
                continue
            for ns in namespaces:
                try:
                    items = client.get(f"{base}/namespaces/{ns}/{resource['name']}")["items"]
                except ApiError:
                    continue
                for item in items:
                    shown = {k: v for k, v in item.items() if k not in ("data", "stringData")}
                    if resource["name"] != "secrets":
                        shown = item
                    where = f"{base}/{ns}/{resource['name']}/{item['metadata']['name']}"
                    yield where, yaml.safe_dump(shown)


def _cluster_scoped_events(client: KubeClient) -> Iterator[tuple[str, str]]:
    yield "events (all namespaces)", yaml.safe_dump(client.get("/api/v1/events")["items"])
    yield (
        "events.k8s.io (all namespaces)",
        yaml.safe_dump(client.get("/apis/events.k8s.io/v1/events")["items"]),
    )


@pytest.fixture
def vault_store(control_plane: ControlPlane, apps: Apps, openbao: OpenBao) -> str:
    make_secret(control_plane.client, apps.namespace, "vault-token", {"token": openbao.token})
    wait_for_store_api(control_plane.client)
    path = f"/apis/external-secrets.io/v1/namespaces/{apps.namespace}/secretstores"
    control_plane.client.create(path, vault_store_object(openbao))
    return "vault"


def test_no_secret_value_leaks_anywhere(
    apps: Apps,
    git_server: GitServer,
    control_plane: ControlPlane,
    openbao: OpenBao,
    vault_store: str,
    age_identity: pyrage.x25519.Identity,
    tmp_path: Path,
) -> None:
    ns = apps.namespace
    client = control_plane.client
    sops_value, sealed_value, vault_value, refused_value = (
        f"LEAKCANARY-{kind}-{secrets.token_hex(12)}" for kind in ("sops", "sealed", "vault", "refused")
    )
    markers = [sops_value, sealed_value, vault_value, refused_value]
    kv_put(openbao, f"{ns}/db", {"password": vault_value})
    cert = _sealing_key(control_plane, tmp_path)
    sealed = _seal_secret(cert, ns, "api", {"token": sealed_value.encode()})
    sops_secret = _sops_encrypt(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {sops_value}\n",
        str(age_identity.to_public()),
        tmp_path,
    )
    external = password_external_secret("vault-creds", f"{ns}/db", store=vault_store, refreshInterval="1h")
    url = git_server.create_repo(
        "leaks",
        {
            "deploy/api.sealed.yaml": sealed,
            "deploy/db.enc.yaml": sops_secret,
            "deploy/external.yaml": yaml.safe_dump(external),
            "deploy/cm.yaml": configmap("plain", "1"),
        },
    )
    workdir, tmpdir = tmp_path / "op", tmp_path / "tmpdir"
    workdir.mkdir()
    tmpdir.mkdir()
    operator = Operator(
        control_plane,
        workdir,
        env={"TMPDIR": str(tmpdir)},
        args=("--controllers", "application,external", "--namespace", ns, "--log-format", "json", "-v"),
    )
    operator.start()
    try:
        apps.create("leaks", url, interval="2s", decryption={"sops": {"secretRef": {"name": "sops-age"}}})
        apps.wait_ready("leaks", timeout=60)
        wait_for(
            lambda: _secret(client, ns, "vault-creds").get("password") == vault_value, 30, "vault Secret"
        )
        assert _secret(client, ns, "db") == {"password": sops_value}
        assert _secret(client, ns, "api") == {"token": sealed_value}

        # a revision the API server refuses, whose bad value is a secret: the error text must not carry it
        refused = _sops_encrypt(
            f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad\ndata:\n  password: '{refused_value}!'\n",
            str(age_identity.to_public()),
            tmp_path,
        )
        git_server.commit("leaks", {"deploy/bad.enc.yaml": refused})
        cond = apps.wait_failed("leaks", timeout=30)
        assert "Secret/" in cond["message"] and "bad" in cond["message"]
        metrics = operator.metrics()
    finally:
        operator.kill(signal.SIGTERM)

    texts: list[tuple[str, str]] = [
        ("operator log", operator.log_path.read_text(errors="replace")),
        ("/metrics", metrics),
        ("Application", yaml.safe_dump(apps.get("leaks"))),
        *_cluster_scoped_events(client),
        *_metadata_and_status(client, [ns, "lockstep-system"]),
        *_files(tmpdir, workdir / "cache"),
    ]
    assert any(where.startswith(str(workdir / "cache")) for where, _ in texts), "no repository cache scanned"
    leaks = find_leaks(texts, markers)
    assert not leaks, "secret values leaked:\n" + "\n".join(leaks)
    # the scan reads what it claims to: the Secrets' own data holds the markers
    secret_data = [
        (ns, yaml.safe_dump(client.get(f"/api/v1/namespaces/{ns}/secrets/{name}")["data"]))
        for name in ("db", "api", "vault-creds")
    ]
    assert len(find_leaks(secret_data, markers)) >= 3


def _secret(client: KubeClient, ns: str, name: str) -> dict[str, str]:
    try:
        secret = client.get(f"/api/v1/namespaces/{ns}/secrets/{name}")
    except ApiError as error:
        if error.not_found:
            return {}
        raise
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
