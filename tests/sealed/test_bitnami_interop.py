"""Lockstep's controller beside Bitnami's real controller (v0.38.4) on the same control plane and keys:
a Bitnami-made key is used unchanged, a Lockstep-made key opens in Bitnami's controller, and both write the
same status and events for the same SealedSecrets."""

from __future__ import annotations

import copy
import email.utils
import json
import time
from pathlib import Path
from typing import Any

import pytest

from core_sync.testing import ControlPlane
from core_sync.testing.bitnami import BitnamiController
from sealed.keys import list_keys
from sealed.reconcile import SEALING_KEY_ANNOTATION
from tests.sealed.conftest import ok, run_kubeseal
from tests.sealed.operator import (
    SealedOperator,
    apply_sealed,
    as_json,
    events,
    secret_or_none,
    synced,
    wait_for,
)
from tests.sealed.test_controller import CRDS, decoded

KEYS = "kube-system"  # Bitnami's controller keeps its keys in its own namespace
ITEMS = {"user": "u", "password": "p"}


def seal(kubeseal_bin: str, cert_url: str, namespace: str, name: str) -> dict[str, Any]:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}}
    secret["stringData"] = ITEMS  # type: ignore[assignment]
    sealed: dict[str, Any] = json.loads(
        ok(run_kubeseal(kubeseal_bin, "--cert", cert_url, stdin=as_json(secret)))
    )
    return sealed


def outcome(control_plane: ControlPlane, namespace: str, name: str, status: str) -> dict[str, Any]:
    """What a controller left for one SealedSecret: the Synced condition's shape and texts, and its events."""
    client = control_plane.client
    obj = wait_for(lambda: synced(client, namespace, name, status), 60, f"{namespace}/{name} Synced={status}")
    (condition,) = obj["status"]["conditions"]
    message = item_order_free(condition.get("message", ""))
    posted = wait_for(lambda: events(client, namespace, name), 30, f"events of {namespace}/{name}")
    return {
        "condition_fields": sorted(condition),
        "message": message,
        # a retry may post the same event again with the items in another order: one entry per distinct text
        "events": sorted(
            {
                (kind, reason, item_order_free(text).replace(message, "<message>") if message else text)
                for kind, reason, text in posted
            }
        ),
    }


def item_order_free(text: str) -> str:
    """Bitnami lists the undecryptable items in Go map order, which differs between attempts: sort them."""
    marker = "no key could decrypt secret ("
    start = text.find(marker)
    if start < 0 or not text.endswith(")"):
        return text
    items = text[start + len(marker) : -1].split(", ")
    return text[:start] + "no key could decrypt secret " + str(sorted(items))


@pytest.fixture(scope="module")
def crd(control_plane: ControlPlane) -> None:
    control_plane.install_crds(CRDS)


def test_keys_move_both_ways_and_status_matches_bitnami(
    control_plane: ControlPlane, crd: None, kubeseal_bin: str, tmp_path: Path
) -> None:
    client = control_plane.client
    ns_bitnami, ns_lockstep = control_plane.create_namespace("bit-"), control_plane.create_namespace("ls-")

    # Bitnami makes its key; both controllers get the same SealedSecrets (one good, one renamed)
    with BitnamiController(control_plane, [ns_bitnami]) as bitnami:
        (bitnami_key,) = [k for k in list_keys(client, KEYS) if k.state == "active"][:1]
        cert_url = bitnami.url + "/v1/cert.pem"
        for namespace in (ns_bitnami, ns_lockstep):
            good = seal(kubeseal_bin, cert_url, namespace, "good")
            renamed = copy.deepcopy(good)
            renamed["metadata"]["name"] = "renamed"
            for obj in (good, renamed):
                apply_sealed(client, obj)
        theirs = [
            outcome(control_plane, ns_bitnami, "good", "True"),
            outcome(control_plane, ns_bitnami, "renamed", "False"),
        ]
    key_secret = client.get(f"/api/v1/namespaces/{KEYS}/secrets/{bitnami_key.name}")

    operator = SealedOperator(control_plane, tmp_path, KEYS, (ns_lockstep,)).start()
    try:
        ours = [
            outcome(control_plane, ns_lockstep, "good", "True"),
            outcome(control_plane, ns_lockstep, "renamed", "False"),
        ]
        assert ours == theirs
        secret = secret_or_none(client, ns_lockstep, "good")
        assert secret is not None and decoded(secret) == ITEMS
        assert secret["metadata"]["annotations"][SEALING_KEY_ANNOTATION] == bitnami_key.fingerprint
        # the Bitnami-made key is used as it is: not rewritten, and no key of our own is made beside it
        assert client.get(f"/api/v1/namespaces/{KEYS}/secrets/{bitnami_key.name}") == key_secret
        assert [k.name for k in list_keys(client, KEYS)] == [bitnami_key.name]
    finally:
        operator.stop()

    # Lockstep makes the newest key (cutoff now); Bitnami's controller serves it and opens what it sealed
    time.sleep(1.1)
    cutoff = email.utils.format_datetime(email.utils.localtime())
    operator = SealedOperator(
        control_plane, tmp_path, KEYS, (ns_lockstep,), "--key-cutoff-time", cutoff
    ).start()
    try:
        lockstep_key = wait_for(
            lambda: [k for k in list_keys(client, KEYS) if k.name != bitnami_key.name], 120
        )[0]
    finally:
        operator.stop()
    with BitnamiController(control_plane, [ns_bitnami]) as bitnami:
        assert bitnami.process is not None
        served = wait_for(lambda: ok_get(bitnami.url + "/v1/cert.pem"), 30, "Bitnami's certificate")
        assert served == lockstep_key.cert_pem
        apply_sealed(client, seal(kubeseal_bin, bitnami.url + "/v1/cert.pem", ns_bitnami, "ours"))
        wait_for(lambda: synced(client, ns_bitnami, "ours"), 60, "Bitnami opens a secret sealed for our key")
        opened = secret_or_none(client, ns_bitnami, "ours")
        assert opened is not None and decoded(opened) == ITEMS


def ok_get(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return bytes(response.read())
