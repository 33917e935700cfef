"""``external-secrets.io/v1beta1`` manifests, as most repositories written before mid-2025 have them.

ESO stopped serving v1beta1; Lockstep's CRDs serve it beside v1 (``conversion: None``, v1 stored), so
these apply to the real API server unchanged, the controller turns them into Secrets and the render
stage resolves them at render time.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml
from es_helpers import decoded, kv_put, make_secret, read_secret, wait_ready

from core_sync.kube import KubeClient
from core_sync.stages import StageContext
from external_secrets.stage import ExternalStage

pytestmark = pytest.mark.integration

BETA = "/apis/external-secrets.io/v1beta1"

# The guide's shape: a SecretStore backed by Vault/OpenBao and an ExternalSecret pulling one property.
GUIDE = """\
apiVersion: external-secrets.io/v1beta1
kind: SecretStore
metadata:
  name: vault-backend
spec:
  provider:
    vault:
      server: "{server}"
      path: secret
      version: v2
      auth:
        tokenSecretRef:
          name: vault-token
          key: token
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: db-credentials
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: vault-backend
    kind: SecretStore
  target:
    name: db-credentials
    creationPolicy: Owner
  data:
  - secretKey: password
    remoteRef:
      key: "{key}"
      property: password
"""


def guide_docs(server: str, key: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(GUIDE.format(server=server, key=key)) if doc]


def create_beta(kube: KubeClient, doc: dict[str, Any], namespace: str) -> dict[str, Any]:
    plural = {"SecretStore": "secretstores", "ExternalSecret": "externalsecrets"}[doc["kind"]]
    return kube.create(f"{BETA}/namespaces/{namespace}/{plural}", doc)


def test_v1beta1_objects_apply_and_read_back_in_both_versions(
    es_crds: list[str], kube: KubeClient, namespace: str
) -> None:
    for doc in guide_docs("http://127.0.0.1:1", "team/db"):
        created = create_beta(kube, doc, namespace)
        assert created["apiVersion"] == "external-secrets.io/v1beta1"
        assert created["spec"] == doc["spec"]
    as_v1 = kube.get(f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets/db-credentials")
    as_beta = kube.get(f"{BETA}/namespaces/{namespace}/externalsecrets/db-credentials")
    assert as_v1["apiVersion"] == "external-secrets.io/v1" and as_beta["spec"] == as_v1["spec"]
    crd = kube.get(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/externalsecrets.external-secrets.io"
    )
    versions = {v["name"]: (v["served"], v["storage"]) for v in crd["spec"]["versions"]}
    assert versions == {"v1": (True, True), "v1beta1": (True, False)}
    assert crd["spec"]["conversion"]["strategy"] == "None"


def test_v1beta1_external_secret_produces_a_secret(
    operator: Any, kube: KubeClient, openbao: Any, namespace: str
) -> None:
    key = f"{namespace}/db"
    kv_put(openbao, key, {"password": "beta-pw"})
    make_secret(kube, namespace, "vault-token", {"token": openbao.token})
    for doc in guide_docs(openbao.url, key):
        create_beta(kube, doc, namespace)
    assert wait_ready(kube, namespace, "db-credentials")["reason"] == "SecretSynced"
    secret = read_secret(kube, namespace, "db-credentials")
    assert secret is not None and decoded(secret)["password"] == b"beta-pw"
    owner = secret["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"]) == ("ExternalSecret", "db-credentials")


def test_v1beta1_external_secret_renders(openbao: Any, namespace: str) -> None:
    key = f"{namespace}/rendered"
    kv_put(openbao, key, {"password": "render-pw"})
    token = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "vault-token", "namespace": namespace},
        "data": {"token": base64.b64encode(openbao.token.encode()).decode()},
    }
    objects = [token, *guide_docs(openbao.url, key)]
    result = ExternalStage().render(
        objects, StageContext(namespace=namespace, decryption={"external": {"mode": "render"}})
    )
    assert not result.diagnostics
    assert "ExternalSecret" not in [o["kind"] for o in result.objects]
    secret = next(
        o for o in result.objects if o["kind"] == "Secret" and o["metadata"]["name"] == "db-credentials"
    )
    assert base64.b64decode(secret["data"]["password"]) == b"render-pw"
