"""Notifications end to end: the real operator (Application, ExternalSecret, SealedSecret and notification
controllers), a real git server and API server, and receivers started here on loopback that check the
HMAC signature and count deliveries."""

from __future__ import annotations

import base64
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyrage
import pytest

from core_sync.testing import ControlPlane, GitServer
from core_sync.testing.oracles import sops_encrypt
from core_sync.testing.processes import free_port
from tests.core_sync.conftest import Apps, Operator, configmap, wait_for
from tests.core_sync.receivers import Receiver
from tests.external.es_helpers import password_external_secret, wait_for_store_api

TOKEN = b"hmac-key-5e1c0d"
SOPS_PLAINTEXT = "sops-plaintext-7f3b2a9d"
NOTIFIERS = "/apis/lockstep.dev/v1alpha1/namespaces/{ns}/notifiers"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(TOKEN)
    running.start()
    yield running
    running.stop()


def _secret(control_plane: ControlPlane, ns: str, name: str, data: dict[str, bytes]) -> None:
    control_plane.client.create(
        f"/api/v1/namespaces/{ns}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
        },
    )


def _notifier(control_plane: ControlPlane, ns: str, name: str, **spec: Any) -> None:
    control_plane.client.create(
        NOTIFIERS.format(ns=ns),
        {"apiVersion": "lockstep.dev/v1alpha1", "kind": "Notifier", "metadata": {"name": name}, "spec": spec},
    )


WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.notify.lockstep.test"},
    "spec": {
        "group": "notify.lockstep.test",
        "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
        "versions": [
            {  # no status subresource: the status written in Git is the status the object has
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}
STALLED_WIDGET = """apiVersion: notify.lockstep.test/v1
kind: Widget
metadata:
  name: broken
status:
  conditions:
    - type: Stalled
      status: "True"
      reason: Broken
      message: the widget is broken
"""


def test_every_event_kind_reaches_the_receivers_signed_deduplicated_and_retried(
    control_plane: ControlPlane,
    apps: Apps,
    git_server: GitServer,
    age_identity: pyrage.x25519.Identity,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    ns, client = apps.namespace, control_plane.client
    keys_ns = control_plane.create_namespace("notify-keys-")
    client.apply(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.notify.lockstep.test",
        WIDGET_CRD,
        field_manager="test",
    )
    _secret(control_plane, ns, "hook", {"address": f"{receiver.url}/hmac".encode(), "token": TOKEN})
    _secret(control_plane, ns, "slack-hook", {"address": f"{receiver.url}/slack".encode()})
    _secret(control_plane, ns, "slow-hook", {"address": f"{receiver.url}/slow".encode()})
    _secret(control_plane, keys_ns, "hook", {"address": f"{receiver.url}/keys".encode()})
    everything = [{"kind": "Application"}, {"kind": "ExternalSecret"}]
    _notifier(control_plane, ns, "hmac", type="generic-hmac", secretRef={"name": "hook"},
              eventSources=everything, rateLimitInterval="1h")  # fmt: skip
    _notifier(control_plane, ns, "slack", type="slack", secretRef={"name": "slack-hook"}, channel="deploys",
              eventSources=[{"kind": "Application", "name": "web"}], eventSeverity="error")  # fmt: skip
    _notifier(control_plane, ns, "slow", type="generic", secretRef={"name": "slow-hook"}, timeout="30s",
              eventSources=[{"kind": "Application"}])  # fmt: skip
    _notifier(control_plane, keys_ns, "keys", type="generic", secretRef={"name": "hook"},
              eventSources=[{"kind": "Secret"}])  # fmt: skip

    operator = Operator(
        control_plane,
        tmp_path,
        namespaces=(ns, keys_ns),
        args=(
            "--controllers",
            "application,notifications,external,sealed",
            "-n",
            ns,
            "-n",
            keys_ns,
            "--key-namespace",
            keys_ns,
            "--key-size",
            "2048",
            "--key-renew-period",
            "4s",
        ),
    )
    operator.start()
    try:
        # Synced (a revision holding a SOPS Secret: its plaintext must never reach a receiver)
        plain = tmp_path / "db.yaml"
        plain.write_text(
            f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  pw: {SOPS_PLAINTEXT}\n"
        )
        files = {
            "deploy/cm.yaml": configmap("web", "1"),
            "deploy/db.enc.yaml": sops_encrypt(plain, str(age_identity.to_public())),
        }
        url = git_server.create_repo("notify", files)
        apps.create("web", url, interval="1s", decryption={"sops": {"secretRef": {"name": "sops-age"}}})
        apps.wait_ready("web", timeout=60)
        wait_for(lambda: "Synced" in receiver.reasons(), 30, "Synced delivered")

        # DriftCorrected
        cm_path = f"/api/v1/namespaces/{ns}/configmaps/web"
        client.merge_patch(cm_path, {"data": {"value": "edited"}}, fieldManager="kubectl-edit")
        wait_for(lambda: "DriftCorrected" in receiver.reasons(), 30, "DriftCorrected delivered")

        # HealthDegraded
        sha = git_server.commit("notify", {"deploy/widget.yaml": STALLED_WIDGET})
        apps.wait_ready("web", revision=sha, timeout=60)
        wait_for(lambda: "HealthDegraded" in receiver.reasons(), 30, "HealthDegraded delivered")

        # SyncFailed, repeated by every retry: delivered once within the rate-limit window
        git_server.commit("notify", {"deploy/bad.yaml": "kind: [unclosed\n"})
        wait_for(lambda: len(apps.events("SyncFailed")) >= 3, 60, "three SyncFailed Events")
        wait_for(lambda: "SyncFailed" in receiver.reasons(), 30, "SyncFailed delivered")
        time.sleep(2)
        assert receiver.reasons().count("SyncFailed") == 1

        # the Slack notifier (error only, Application web): the failure, in Slack's shape
        def slack_failure() -> list[dict[str, Any]]:
            return [e for e in receiver.events("/slack") if "BuildFailed" in e["attachments"][0]["text"]]

        failure = wait_for(slack_failure, 30, "Slack delivery of the failure")[0]
        attachment = failure["attachments"][0]
        assert failure["channel"] == "deploys"
        assert attachment["color"] == "danger"
        assert attachment["author_name"] == f"application/web.{ns}"
        assert attachment["mrkdwn_in"] == ["text"]
        assert {"title": "reason", "value": "SyncFailed", "short": True} in attachment["fields"]
        slack = receiver.events("/slack")
        assert {e["attachments"][0]["color"] for e in slack} == {"danger"}  # info events were not sent
        assert sorted({e["attachments"][0]["fields"][0]["value"] for e in slack}) == [
            "HealthDegraded",
            "SyncFailed",
        ]

        # SecretSyncedError from the ExternalSecret controller (its store's server is down)
        wait_for_store_api(client)
        store = {
            "apiVersion": "external-secrets.io/v1",
            "kind": "SecretStore",
            "metadata": {"name": "vault"},
            "spec": {"provider": {"vault": {"server": f"http://127.0.0.1:{free_port()}", "path": "secret",
                     "version": "v2", "auth": {"tokenSecretRef": {"name": "hook", "key": "token"}}}}},
        }  # fmt: skip
        client.create(f"/apis/external-secrets.io/v1/namespaces/{ns}/secretstores", store)
        client.create(
            f"/apis/external-secrets.io/v1/namespaces/{ns}/externalsecrets",
            password_external_secret("creds", "db", refreshInterval="1h"),
        )
        wait_for(lambda: "SecretSyncedError" in receiver.reasons(), 60, "SecretSyncedError delivered")

        # KeyRotated from the sealing key lifecycle (a new key every 4 s here)
        wait_for(lambda: "KeyRotated" in [e["reason"] for e in receiver.events("/keys")], 60, "KeyRotated")

        # the receiver is down: the next event is retried until it is back
        receiver.stop()
        git_server.commit("notify", {"deploy/cm.yaml": configmap("web", "2")}, remove=("deploy/bad.yaml",))
        wait_for(lambda: len(apps.events("Synced")) >= 2, 60, "a second Synced Event")
        time.sleep(2)
        receiver.start()
        wait_for(lambda: receiver.reasons().count("Synced") >= 2, 60, "Synced delivered after the outage")

        # the slow receiver (8 s per request) never held a sync up: all of the above ran meanwhile
        assert receiver.events("/slow"), "the slow receiver got its notifications too"
        assert receiver.bad_signatures == 0
        for path, headers, body in receiver.received:
            assert SOPS_PLAINTEXT.encode() not in body, path
            assert TOKEN not in body, path
            if path == "/hmac":
                assert headers["x-signature"].startswith("sha256=")
        generic = receiver.events()[0]
        assert set(generic) >= {"involvedObject", "severity", "timestamp", "message", "reason"}
        assert generic["involvedObject"]["kind"] == "Application"
        assert generic["reportingController"] == "lockstep"
        log = operator.log_path.read_text()
        assert TOKEN.decode() not in log and SOPS_PLAINTEXT not in log and receiver.url not in log
        status = client.get(NOTIFIERS.format(ns=ns) + "/hmac")["status"]
        assert status["conditions"][0]["status"] == "True"
    finally:
        operator.kill(signal.SIGTERM)
