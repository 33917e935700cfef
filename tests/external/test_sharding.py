"""ExternalSecrets in fixed label shards: the default-shard replica leaves a labelled ExternalSecret alone,
the ``--shard a`` replica takes it, and each target Secret is written by one replica only (counted from the
API server's audit log)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from conftest import running_operator
from es_helpers import (
    create,
    password_external_secret,
    read_secret,
    secret_writes,
    vault_password_store,
    wait_ready,
)

from core_sync.sharding import SHARD_LABEL


def test_externalsecrets_follow_their_shard(
    operator: Any,
    control_plane: Any,
    kube: Any,
    openbao: Any,
    moto_server: Any,
    namespace: str,
    tmp_path: Path,
) -> None:
    key = vault_password_store(kube, openbao, namespace)
    create(kube, password_external_secret("mine", key), namespace)
    theirs = password_external_secret("theirs", key)
    theirs["metadata"]["labels"] = {SHARD_LABEL: "a"}
    create(kube, theirs, namespace)

    wait_ready(kube, namespace, "mine")
    time.sleep(3)  # the default shard's replica had time to touch "theirs" too, if it were going to
    assert read_secret(kube, namespace, "theirs") is None
    es = kube.get(f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets/theirs")
    assert not (es.get("status") or {}).get("conditions"), "the default shard reconciled a shard-a object"

    with running_operator(control_plane, moto_server, tmp_path / "shard-a.log", "--shard", "a"):
        wait_ready(kube, namespace, "theirs")
        time.sleep(2)  # and shard a leaves "mine" alone
    secret = read_secret(kube, namespace, "theirs")
    assert secret is not None
    writes = secret_writes(control_plane, namespace, ["mine", "theirs"])
    assert writes == {"mine": 1, "theirs": 1}, f"target Secrets written by more than one replica: {writes}"
