"""ExternalSecrets under ``--shard auto``: two real replicas split them by their per-replica Leases, each
target Secret written by one replica once (audit log). Its own module: no default-shard operator runs here."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from conftest import running_operator
from es_helpers import create, password_external_secret, secret_writes, vault_password_store, wait_ready

from core_sync.shard_ring import owner

COUNT = 8


def test_auto_replicas_split_externalsecrets(
    es_crds: list[str],
    control_plane: Any,
    kube: Any,
    openbao: Any,
    moto_server: Any,
    namespace: str,
    tmp_path: Path,
) -> None:
    key = vault_password_store(kube, openbao, namespace)
    names = [f"es-{i}" for i in range(COUNT)]
    auto = ("--shard", "auto", "--shard-namespace", namespace, "--shard-lease-seconds", "4")
    with ExitStack() as stack:
        logs = {}
        for rid in ("r0", "r1"):
            logs[rid] = tmp_path / f"{rid}.log"
            stack.enter_context(
                running_operator(control_plane, moto_server, logs[rid], *auto, env={"LOCKSTEP_SHARD_ID": rid})
            )
        time.sleep(3)  # both replicas have seen each other's Lease
        for name in names:
            create(kube, password_external_secret(name, key), namespace)
        for name in names:
            wait_ready(kube, namespace, name)
        time.sleep(2)
    owners = Counter(owner(f"{namespace}/{name}", ["r0", "r1"]) for name in names)
    assert set(owners) == {"r0", "r1"}, f"the split put everything on one replica: {owners}"
    writes = secret_writes(control_plane, namespace, names)
    assert writes == dict.fromkeys(names, 1), f"target Secrets not written exactly once: {writes}"
