"""``--shard auto``: real operator replicas split the unlabelled Applications by rendezvous hashing over their
per-replica Leases; SIGKILL one and its share resumes on the others within twice the lease duration; add one
and only its share moves. Each replica lists and watches only the Applications labelled
``lockstep.dev/replica=<itself>`` (seen in the API server's audit log); only the moved share is relabelled.
Its own module: no other operator may run beside these in the namespace."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

from core_sync.shard_ring import owner
from core_sync.sharding import REPLICA_LABEL
from core_sync.testing import ControlPlane, GitServer
from tests.core_sync.conftest import Apps, Operator, configmap, wait_for
from tests.core_sync.test_sharding import _synced

COUNT = int(os.environ.get("LOCKSTEP_TEST_AUTO_APPS", "150"))
LEASE_S = 4


def test_rendezvous_spreads_evenly_and_moves_only_the_changed_members_share() -> None:
    keys = [f"ns/app-{i}" for i in range(3000)]
    three = ["r0", "r1", "r2"]
    before = {key: owner(key, three) for key in keys}
    counts = Counter(before.values())
    assert set(counts) == set(three) and all(800 <= n <= 1200 for n in counts.values()), counts
    after_add = {key: owner(key, [*three, "r3"]) for key in keys}
    moved = [key for key in keys if after_add[key] != before[key]]
    assert all(after_add[key] == "r3" for key in moved)  # only the newcomer gains
    assert 600 <= len(moved) <= 900, len(moved)  # about a quarter
    after_loss = {key: owner(key, ["r0", "r2"]) for key in keys}
    assert all(after_loss[key] == before[key] for key in keys if before[key] != "r1")  # only r1's share
    assert owner("x", []) is None


def test_assigner_relabels_only_objects_whose_owner_changed() -> None:
    from core_sync.shard_assign import collection_paths, moves

    items = [{"metadata": {"namespace": "ns", "name": f"app-{i}"}} for i in range(300)]
    three = ("r0", "r1", "r2")
    first = moves(items, three)
    assert len(first) == 300  # unlabelled: every object gets its owner
    for item, want in first:
        assert want == owner(f"ns/{item['metadata']['name']}", three)
        item["metadata"]["labels"] = {REPLICA_LABEL: want}
    assert moves(items, three) == []  # labelled right: nothing to write
    added = moves(items, (*three, "r3"))
    assert {want for _, want in added} == {"r3"} and 50 <= len(added) <= 100  # only the newcomer's share
    lost = moves(items, ("r0", "r2"))
    assert {item["metadata"]["labels"][REPLICA_LABEL] for item, _ in lost} == {"r1"}  # only r1's share
    assert moves(items, ()) == []  # no members: leave the labels alone
    assert collection_paths(("lockstep.dev", "v1alpha1", "applications"), ()) == [
        "/apis/lockstep.dev/v1alpha1/applications"
    ]
    assert collection_paths(("external-secrets.io", "v1", "externalsecrets"), ("a", "b")) == [
        "/apis/external-secrets.io/v1/namespaces/a/externalsecrets",
        "/apis/external-secrets.io/v1/namespaces/b/externalsecrets",
    ]


def _labels(control_plane: ControlPlane, ns: str) -> dict[str, str | None]:
    """Each Application's ``lockstep.dev/replica`` label."""
    items = control_plane.client.get(f"/apis/lockstep.dev/v1alpha1/namespaces/{ns}/applications")["items"]
    return {i["metadata"]["name"]: (i["metadata"].get("labels") or {}).get(REPLICA_LABEL) for i in items}


def _kopf_selectors(control_plane: ControlPlane, ns: str, since: int) -> Counter[str]:
    """The label selectors of the operators' (kopf's) lists and watches of Applications in ``ns`` (or
    cluster-wide), from the ``since``-th audited one on."""
    return Counter(
        query.get("labelSelector", "")
        for agent, query in control_plane.read_requests("applications", ns)[since:]
        if agent.startswith("kopf")
    )


def _replica(control_plane: ControlPlane, tmp_path: Path, ns: str, rid: str) -> Operator:
    workdir = tmp_path / rid
    workdir.mkdir()
    replica = Operator(
        control_plane,
        workdir,
        namespaces=(ns,),
        env={"LOCKSTEP_SHARD_ID": rid},
        args=("--shard", "auto", "--shard-namespace", ns, "--shard-lease-seconds", str(LEASE_S)),
    )
    replica.start()
    return replica


def test_auto_shards_split_resume_after_sigkill_and_rebalance_on_add(
    apps: Apps, git_server: GitServer, control_plane: ControlPlane, tmp_path: Path
) -> None:
    ns = apps.namespace
    names = [f"app-{i:03d}" for i in range(COUNT)]
    url = git_server.create_repo("auto", {f"deploy/{n}/cm.yaml": configmap(f"cm-{n}", n) for n in names})
    audited = len(control_plane.read_requests("applications", ns))  # earlier tests' lists and watches
    replicas = {rid: _replica(control_plane, tmp_path, ns, rid) for rid in ("r0", "r1", "r2")}
    try:
        time.sleep(LEASE_S / 3 + 1)  # every replica has seen the others' Leases
        for name in names:
            apps.create(name, url, path=f"deploy/{name}", interval="1h")
        for name in names:
            apps.wait_ready(name, timeout=120)
        members = ["r0", "r1", "r2"]
        expected = {rid: {n for n in names if owner(f"{ns}/{n}", members) == rid} for rid in members}
        for rid, replica in replicas.items():
            synced = Counter(_synced(replica))
            assert set(synced) == expected[rid], f"{rid} synced {sorted(synced)}"
            assert all(count == 1 for count in synced.values()), f"{rid} synced twice: {synced}"
        # the API server sends each replica its share only: every Application is labelled with its owner,
        # and every list and watch of Applications by a replica selects its own label
        assert _labels(control_plane, ns) == {n: owner(f"{ns}/{n}", members) for n in names}
        selectors = _kopf_selectors(control_plane, ns, audited)
        assert set(selectors) == {f"!lockstep.dev/shard,{REPLICA_LABEL}={rid}" for rid in members}, selectors

        # SIGKILL r1: its Applications resume on r0 and r2 within twice the lease duration
        orphans = expected["r1"]
        assert orphans, "r1 owned nothing: the test would prove nothing"
        replicas["r1"].kill(signal.SIGKILL)
        killed_at = time.monotonic()
        survivors = {rid: replicas[rid] for rid in ("r0", "r2")}

        def resumed() -> bool:
            return orphans <= {n for r in survivors.values() for n in _synced(r)}

        wait_for(resumed, 2 * LEASE_S, "the killed replica's Applications to resume", interval=0.05)
        took = time.monotonic() - killed_at
        assert _labels(control_plane, ns) == {n: owner(f"{ns}/{n}", ["r0", "r2"]) for n in names}
        for rid, replica in survivors.items():
            synced = Counter(_synced(replica))
            mine = {n for n in names if owner(f"{ns}/{n}", ["r0", "r2"]) == rid}
            assert set(synced) == mine, f"{rid} after the kill synced {sorted(synced)}"
            assert all(count == 1 for count in synced.values()), f"{rid} synced twice: {synced}"
        before_add = {rid: Counter(_synced(r)) for rid, r in survivors.items()}
        labels_before_add = _labels(control_plane, ns)

        # add r3: it takes exactly its share; the others sync nothing again
        replicas["r3"] = _replica(control_plane, tmp_path, ns, "r3")
        share = {n for n in names if owner(f"{ns}/{n}", ["r0", "r2", "r3"]) == "r3"}
        assert share
        wait_for(lambda: set(_synced(replicas["r3"])) >= share, 4 * LEASE_S, "r3 to take its share")
        time.sleep(2)
        assert set(_synced(replicas["r3"])) == share
        assert {rid: Counter(_synced(r)) for rid, r in survivors.items()} == before_add
        labels = _labels(control_plane, ns)
        assert {n for n in names if labels[n] != labels_before_add[n]} == share  # only r3's share moved
        assert {labels[n] for n in share} == {"r3"}
        assert f"!lockstep.dev/shard,{REPLICA_LABEL}=r3" in _kopf_selectors(control_plane, ns, audited)
    finally:
        for replica in replicas.values():
            replica.kill(signal.SIGTERM)
    print(f"resumed {len(orphans)} Applications {took:.1f} s after SIGKILL (lease {LEASE_S} s)")
