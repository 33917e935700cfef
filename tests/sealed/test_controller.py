"""The SealedSecret controller in the real ``lockstep operator``, against the real API server, with
SealedSecrets made by the real kubeseal from the certificate the operator serves."""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core_sync.testing import ControlPlane
from sealed.format.keygen import generate_key_pair
from sealed.keys import COMPROMISED, create_key_secret, list_keys, set_key_state
from sealed.reconcile import SEALING_KEY_ANNOTATION
from tests.sealed.conftest import ok, run_kubeseal, run_lockstep
from tests.sealed.operator import (
    SS_API,
    SealedOperator,
    apply_sealed,
    as_json,
    events,
    secret_or_none,
    synced,
    wait_for,
)
from tests.sealed.service_proxy import ServiceProxy

CRDS = Path(__file__).parents[2] / "crds" / "sealedsecret.yaml"
ITEMS = {"username": "admin", "password": "s3cr3t-value", "token": "t0k3n"}


@pytest.fixture(scope="module")
def sealed_crd(control_plane: ControlPlane) -> None:
    control_plane.install_crds(CRDS)


@pytest.fixture(scope="module")
def spaces(control_plane: ControlPlane, sealed_crd: None) -> tuple[str, str, str]:
    """(key namespace, namespace A, namespace B), fresh for this module."""
    return (
        control_plane.create_namespace("keys-"),
        control_plane.create_namespace("ss-a-"),
        control_plane.create_namespace("ss-b-"),
    )


@pytest.fixture(scope="module")
def operator(
    control_plane: ControlPlane, spaces: tuple[str, str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SealedOperator]:
    keys, a, b = spaces
    limits = ("--rate-limit", "1000", "--rate-limit-burst", "1000")
    running = SealedOperator(control_plane, tmp_path_factory.mktemp("op"), keys, (a, b), *limits).start()
    try:
        yield running
    finally:
        running.stop()
        print(f"--- operator log tail ---\n{running.process.log_tail(80)}")


def kubeseal_from_operator(
    kubeseal_bin: str, operator: SealedOperator, namespace: str, name: str, items: dict[str, str], *flags: str
) -> dict[str, Any]:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "stringData": items,
    }
    cert = operator.url + "/v1/cert.pem"
    sealed: dict[str, Any] = json.loads(
        ok(run_kubeseal(kubeseal_bin, "--cert", cert, *flags, stdin=as_json(secret)))
    )
    return sealed


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def test_kubeseal_with_served_certificate_becomes_secret(
    control_plane: ControlPlane, operator: SealedOperator, spaces: tuple[str, str, str], kubeseal_bin: str
) -> None:
    client = control_plane.client
    keys, a, _ = spaces
    (key,) = wait_for(lambda: list_keys(client, keys), what="the generated key")
    assert key.name.startswith("sealed-secrets-key") and key.state == "active"
    status, served = operator.get("/v1/cert.pem")
    assert status == 200 and served == key.cert_pem

    sealed = kubeseal_from_operator(kubeseal_bin, operator, a, "db", ITEMS)
    created = apply_sealed(client, sealed)
    obj = wait_for(lambda: synced(client, a, "db"), what="Synced=True")
    (condition,) = obj["status"]["conditions"]
    assert set(condition) == {
        "type",
        "status",
        "lastUpdateTime",
        "lastTransitionTime",
    }  # no reason, no message
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]

    secret = secret_or_none(client, a, "db")
    assert secret is not None and decoded(secret) == ITEMS
    assert secret["metadata"]["labels"] == {"app": "db"}
    assert secret["metadata"]["annotations"][SEALING_KEY_ANNOTATION] == key.fingerprint
    (owner,) = secret["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "name": "db",
        "uid": created["metadata"]["uid"],
        "controller": True,
    }
    assert ("Normal", "Unsealed", "SealedSecret unsealed successfully") in events(client, a, "db")
    metrics = operator.metrics()
    assert "sealed_secrets_controller_unseal_requests_total " in metrics
    assert f'lockstep_sealed_secrets_by_key{{key="{key.fingerprint}"}} ' in metrics
    assert (
        f'sealed_secrets_controller_condition_info{{condition="Synced",name="db",namespace="{a}",'
        'ss_app_kubernetes_io_instance=""} 1'
    ) in metrics
    for value in ITEMS.values():
        assert value not in metrics


def test_skip_owner_references_and_template_type(
    control_plane: ControlPlane, operator: SealedOperator, spaces: tuple[str, str, str], kubeseal_bin: str
) -> None:
    client = control_plane.client
    _, a, _ = spaces
    sealed = kubeseal_from_operator(kubeseal_bin, operator, a, "noowner", {"k": "v"})
    sealed["spec"]["template"]["metadata"]["annotations"] = {
        "sealedsecrets.bitnami.com/skip-set-owner-references": "true"
    }
    sealed["spec"]["template"]["type"] = "example.com/custom"
    apply_sealed(client, sealed)
    wait_for(lambda: synced(client, a, "noowner"), what="Synced=True")
    secret = secret_or_none(client, a, "noowner")
    assert secret is not None and "ownerReferences" not in secret["metadata"]
    assert secret["type"] == "example.com/custom"


def test_moved_renamed_and_tampered_are_refused_and_change_nothing(
    control_plane: ControlPlane, operator: SealedOperator, spaces: tuple[str, str, str], kubeseal_bin: str
) -> None:
    client = control_plane.client
    _, a, b = spaces
    original = kubeseal_from_operator(kubeseal_bin, operator, a, "orig", ITEMS)

    renamed = copy.deepcopy(original)
    renamed["metadata"]["name"] = "renamed"
    moved = copy.deepcopy(original)
    moved["metadata"]["namespace"] = b
    for obj in (renamed, moved):
        apply_sealed(client, obj)
    for namespace, name in ((a, "renamed"), (b, "orig")):
        failed = wait_for(
            lambda ns=namespace, n=name: synced(client, ns, n, "False"),  # type: ignore[misc]
            what=f"{name} Synced=False",
        )
        message = failed["status"]["conditions"][0]["message"]
        assert "no key could decrypt secret" in message
        assert all(item in message for item in ITEMS)  # names every item that failed
        assert secret_or_none(client, namespace, name) is None
        assert any(
            r == "ErrUnsealFailed" and m.startswith("Failed to unseal: ")
            for _, r, m in events(client, namespace, name)
        )

    apply_sealed(client, original)
    wait_for(lambda: synced(client, a, "orig"), what="orig Synced=True")
    before = secret_or_none(client, a, "orig")
    assert before is not None
    tampered = copy.deepcopy(original)
    blob = bytearray(base64.b64decode(tampered["spec"]["encryptedData"]["password"]))
    blob[-1] ^= 0x01
    tampered["spec"]["encryptedData"]["password"] = base64.b64encode(bytes(blob)).decode()
    tampered["spec"]["template"]["metadata"]["labels"] = {"app": "changed"}
    apply_sealed(client, tampered)
    failed = wait_for(lambda: synced(client, a, "orig", "False"), what="tampered Synced=False")
    assert "password" in failed["status"]["conditions"][0]["message"]
    after = secret_or_none(client, a, "orig")
    assert after is not None and after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert decoded(after) == ITEMS


def test_foreign_secret_is_not_touched_until_managed(
    control_plane: ControlPlane, operator: SealedOperator, spaces: tuple[str, str, str], kubeseal_bin: str
) -> None:
    client = control_plane.client
    _, a, _ = spaces
    foreign = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "foreign", "labels": {"owner": "someone-else"}},
        "data": {"mine": base64.b64encode(b"keep").decode()},
    }
    client.create(f"/api/v1/namespaces/{a}/secrets", foreign)
    apply_sealed(client, kubeseal_from_operator(kubeseal_bin, operator, a, "foreign", {"k": "v"}))
    failed = wait_for(lambda: synced(client, a, "foreign", "False"), what="Synced=False")
    expected = 'Resource "foreign" already exists and is not managed by SealedSecret'
    assert failed["status"]["conditions"][0]["message"] == f"failed update: {expected}"
    assert ("Warning", "ErrUpdateFailed", expected) in events(client, a, "foreign")
    untouched = secret_or_none(client, a, "foreign")
    assert untouched is not None and decoded(untouched) == {"mine": "keep"}
    assert (
        'sealed_secrets_controller_unseal_errors_total{namespace="' + a + '",reason="unmanaged"}'
        in operator.metrics()
    )

    # patch: merge the sealed items in, keep everything else, take no ownership
    client.merge_patch(
        f"/api/v1/namespaces/{a}/secrets/foreign",
        {"metadata": {"annotations": {"sealedsecrets.bitnami.com/patch": "true"}}},
    )
    client.merge_patch(
        f"{SS_API}/namespaces/{a}/sealedsecrets/foreign", {"spec": {"template": {"type": "Opaque"}}}
    )
    wait_for(lambda: synced(client, a, "foreign"), what="Synced=True after patch annotation")
    patched = secret_or_none(client, a, "foreign")
    assert patched is not None and decoded(patched) == {"mine": "keep", "k": "v"}
    assert patched["metadata"]["labels"]["owner"] == "someone-else"
    assert "ownerReferences" not in patched["metadata"]


def test_added_and_relabelled_keys_take_effect_without_restart(
    control_plane: ControlPlane,
    operator: SealedOperator,
    spaces: tuple[str, str, str],
    kubeseal_bin: str,
    tmp_path: Path,
) -> None:
    """A key in Bitnami's layout, added while the operator runs, opens what was sealed for it; once marked
    compromised it opens nothing new, and the served certificate goes back to the newest active key."""
    client = control_plane.client
    keys, a, _ = spaces
    # Key order has one-second resolution (the certificate's NotBefore): make the added key newer.
    newest = max(k.not_before or 0 for k in list_keys(client, keys))
    time.sleep(max(0.0, newest + 1.05 - time.time()))
    foreign = generate_key_pair(2048)
    cert = tmp_path / "bitnami.pem"
    cert.write_bytes(foreign.cert_pem)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "later", "namespace": a},
        "stringData": {"x": "1"},
    }
    sealed = json.loads(ok(run_kubeseal(kubeseal_bin, "--cert", str(cert), stdin=as_json(secret))))
    apply_sealed(client, sealed)
    wait_for(lambda: synced(client, a, "later", "False"), what="Synced=False before the key exists")

    stored = create_key_secret(client, foreign, keys)
    wait_for(lambda: synced(client, a, "later"), what="Synced=True once the key is added")
    opened = secret_or_none(client, a, "later")
    assert (
        opened is not None
        and opened["metadata"]["annotations"][SEALING_KEY_ANNOTATION] == foreign.fingerprint
    )
    wait_for(lambda: operator.get("/v1/cert.pem")[1] == foreign.cert_pem, what="newest key served")

    set_key_state(client, stored.name, COMPROMISED, keys)
    wait_for(
        lambda: operator.get("/v1/cert.pem")[1] != foreign.cert_pem, what="compromised key no longer served"
    )
    later2 = {**secret, "metadata": {"name": "later2", "namespace": a}}
    again2 = json.loads(ok(run_kubeseal(kubeseal_bin, "--cert", str(cert), stdin=as_json(later2))))
    apply_sealed(client, again2)
    wait_for(lambda: synced(client, a, "later2", "False"), what="compromised key opens nothing")


def test_verify_and_rotate_endpoints(
    control_plane: ControlPlane, operator: SealedOperator, spaces: tuple[str, str, str], kubeseal_bin: str
) -> None:
    _, a, _ = spaces
    sealed = kubeseal_from_operator(kubeseal_bin, operator, a, "verify-me", ITEMS)
    assert operator.post("/v1/verify", as_json(sealed))[0] == 200
    renamed = copy.deepcopy(sealed)
    renamed["metadata"]["name"] = "other"
    assert operator.post("/v1/verify", as_json(renamed))[0] == 409
    assert operator.post("/v1/verify", b"{}\n---\n{}\n")[0] == 500
    assert operator.post("/v1/verify", b"kind: ConfigMap\n")[0] == 500

    status, body = operator.post("/v1/rotate", as_json(sealed))
    assert status == 200
    rotated = json.loads(body)
    assert rotated["spec"]["encryptedData"].keys() == sealed["spec"]["encryptedData"].keys()
    assert rotated["spec"]["encryptedData"] != sealed["spec"]["encryptedData"]
    assert operator.post("/v1/verify", body)[0] == 200
    assert operator.post("/v1/rotate", as_json(renamed))[0] == 500

    # lockstep seal's client side of --validate / --re-encrypt against the served API
    url = ("--controller-url", operator.url)
    assert run_lockstep("--validate", *url, stdin=as_json(sealed)).returncode == 0
    refused = run_lockstep("--validate", *url, stdin=as_json(renamed))
    assert refused.returncode == 1 and b"unable to decrypt sealed secret: other" in refused.stderr
    reencrypted = json.loads(ok(run_lockstep("--re-encrypt", *url, stdin=as_json(sealed))))
    assert operator.post("/v1/verify", as_json(reencrypted))[0] == 200


def test_rotate_copies_object_metadata_over_the_template(
    operator: SealedOperator, spaces: tuple[str, str, str], kubeseal_bin: str
) -> None:
    """Bitnami >= 0.36: template metadata that differs from the object's replaces it before resealing."""
    _, a, _ = spaces
    sealed = kubeseal_from_operator(kubeseal_bin, operator, a, "meta", {"k": "v"})
    sealed["spec"]["template"]["metadata"]["annotations"] = {"note": "template only"}
    status, body = operator.post("/v1/rotate", as_json(sealed))
    assert status == 200
    template_meta = json.loads(body)["spec"]["template"]["metadata"]
    assert template_meta.get("annotations") in (None, {}) and "labels" not in template_meta
    assert template_meta["name"] == "meta" and template_meta["namespace"] == a


def test_restart_reloads_keys_and_regenerates_nothing(
    control_plane: ControlPlane, spaces: tuple[str, str, str], tmp_path: Path, operator: SealedOperator
) -> None:
    client = control_plane.client
    keys, _, _ = spaces
    before = {k.name for k in list_keys(client, keys)}
    served = operator.get("/v1/cert.pem")[1]
    operator.stop()
    operator.start()
    assert operator.get("/v1/cert.pem")[1] == served
    assert {k.name for k in list_keys(client, keys)} == before


def test_verify_is_rate_limited_per_client_like_bitnami() -> None:
    from sealed.server import RateLimiter

    limiter = RateLimiter(2, 2)
    assert [limiter.allow("a", now=10.0) for _ in range(3)] == [True, True, False]
    assert limiter.allow("b", now=10.0)  # another client has its own budget
    assert limiter.allow("a", now=10.5)  # one more every 1/rate seconds
    assert not limiter.allow("a", now=10.5)


def test_real_kubeseal_validate_reencrypt_and_fetch_cert_reach_the_operator(
    operator: SealedOperator, spaces: tuple[str, str, str], kubeseal_bin: str, tmp_path: Path
) -> None:
    """kubeseal's own --validate, --re-encrypt and --fetch-cert, through a service-proxy stand-in."""
    _, a, _ = spaces
    sealed = kubeseal_from_operator(kubeseal_bin, operator, a, "via-proxy", ITEMS)
    renamed = copy.deepcopy(sealed)
    renamed["metadata"]["name"] = "elsewhere"
    with ServiceProxy(operator.url, "lockstep-system", "lockstep-sealed-secrets", tmp_path) as proxy:
        env = {"KUBECONFIG": str(proxy.kubeconfig)}
        controller = (
            "--controller-namespace",
            "lockstep-system",
            "--controller-name",
            "lockstep-sealed-secrets",
        )
        fetched = ok(run_kubeseal(kubeseal_bin, "--fetch-cert", *controller, env=env))
        assert fetched == operator.get("/v1/cert.pem")[1]
        ok(run_kubeseal(kubeseal_bin, "--validate", *controller, stdin=as_json(sealed), env=env))
        refused = run_kubeseal(kubeseal_bin, "--validate", *controller, stdin=as_json(renamed), env=env)
        assert refused.returncode != 0
        assert b"unable to decrypt sealed secret: elsewhere" in refused.stderr
        rotated = json.loads(
            ok(run_kubeseal(kubeseal_bin, "--re-encrypt", *controller, stdin=as_json(sealed), env=env))
        )
        assert rotated["spec"]["encryptedData"].keys() == sealed["spec"]["encryptedData"].keys()
        assert rotated["spec"]["encryptedData"] != sealed["spec"]["encryptedData"]
        assert any(r.endswith("/proxy/v1/rotate") for r in proxy.requests)
    assert operator.post("/v1/verify", as_json(rotated))[0] == 200


def test_deleted_secret_is_made_again(
    control_plane: ControlPlane, operator: SealedOperator, spaces: tuple[str, str, str], kubeseal_bin: str
) -> None:
    client = control_plane.client
    _, a, _ = spaces
    apply_sealed(client, kubeseal_from_operator(kubeseal_bin, operator, a, "phoenix", ITEMS))
    wait_for(lambda: synced(client, a, "phoenix"), what="Synced=True")
    first = secret_or_none(client, a, "phoenix")
    assert first is not None
    client.delete(f"/api/v1/namespaces/{a}/secrets/phoenix")
    again = wait_for(
        lambda: (
            (s := secret_or_none(client, a, "phoenix"))
            and s["metadata"]["uid"] != first["metadata"]["uid"]
            and s
        ),
        what="the Secret made again",
    )
    assert decoded(again) == ITEMS
