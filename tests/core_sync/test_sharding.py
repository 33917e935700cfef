"""Fixed label shards: three real operator replicas (shards ``a``, ``b`` and the default) against one API
server, each Application reconciled by exactly one of them. Its own module: no other operator may run
beside these in the namespace."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from core_sync.operator import build_parser, main
from core_sync.sharding import SHARD_LABEL, ShardNameError, check_shard, owns, shard_selector
from core_sync.testing import ControlPlane, GitServer
from tests.core_sync.conftest import Apps, Operator, configmap, wait_for

PER_SHARD = 4
SHARDS: tuple[str | None, ...] = ("a", "b", None)


def test_selector_and_ownership_agree() -> None:
    assert shard_selector("a") == f"{SHARD_LABEL}=a"
    assert shard_selector(None) == f"!{SHARD_LABEL}"
    assert owns("a", {SHARD_LABEL: "a"}) and not owns("a", {SHARD_LABEL: "b"}) and not owns("a", None)
    assert owns(None, {}) and owns(None, {"other": "x"}) and not owns(None, {SHARD_LABEL: "a"})
    assert check_shard("team-a.eu_1") == "team-a.eu_1"


@pytest.mark.parametrize("bad", ["", "-a", "a-", "a b", "x" * 64, "a=b", "a,b"])
def test_bad_shard_name_is_a_clear_error(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ShardNameError, match="label value"):
        check_shard(bad)
    with pytest.raises(SystemExit) as exit_:
        main(["--shard", bad])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--shard" in err and "Traceback" not in err


def test_shard_flag_reaches_settings() -> None:
    from core_sync.operator_settings import OperatorSettings

    parser = build_parser("lockstep operator")
    assert OperatorSettings.from_args(parser.parse_args(["--shard", "a"])).shard == "a"
    assert OperatorSettings.from_args(parser.parse_args([])).shard is None


def _app_name(shard: str | None, index: int) -> str:
    return f"app-{shard or 'default'}-{index}"


def _create(apps: Apps, name: str, url: str, shard: str | None) -> None:
    labels = {SHARD_LABEL: shard} if shard else {}
    body = {
        "apiVersion": "lockstep.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": apps.namespace, "labels": labels},
        "spec": {
            "source": {"repoURL": url, "targetRevision": "main", "path": f"deploy/{name}"},
            "interval": "1h",
        },
    }
    apps.created.append(name)
    apps.client.create(apps.base, body)


def _synced(operator: Operator) -> list[str]:
    """The Applications this replica synced, one entry per sync (its JSON log lines)."""
    found = []
    for line in operator.log_path.read_text().splitlines():
        try:
            record: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        if record.get("msg") == "synced":
            found.append(str(record["application"]).rpartition("/")[2])
    return found


def test_each_application_is_reconciled_by_exactly_its_shard(
    apps: Apps, git_server: GitServer, control_plane: ControlPlane, tmp_path: Path
) -> None:
    ns = apps.namespace
    names = {shard: [_app_name(shard, i) for i in range(PER_SHARD)] for shard in SHARDS}
    files = {
        f"deploy/{name}/cm.yaml": configmap(f"cm-{name}", name) for group in names.values() for name in group
    }
    url = git_server.create_repo("sharded", files)
    replicas: dict[str | None, Operator] = {}
    try:
        for shard in SHARDS:
            workdir = tmp_path / (shard or "default")
            workdir.mkdir()
            args = ("--shard", shard) if shard else ()
            replicas[shard] = Operator(control_plane, workdir, namespaces=(ns,), args=args)
            replicas[shard].start()
        for shard, group in names.items():
            for name in group:
                _create(apps, name, url, shard)
        for group in names.values():
            for name in group:
                apps.wait_ready(name, timeout=90)
        wait_for(lambda: sum(len(_synced(r)) for r in replicas.values()) >= 3 * PER_SHARD, 10, "sync logs")
        time.sleep(2)  # a second look after everything is Ready: no replica picks another shard's up late
    finally:
        for replica in replicas.values():
            replica.kill(signal.SIGTERM)

    for shard, replica in replicas.items():
        synced = Counter(_synced(replica))
        assert set(synced) == set(names[shard]), f"shard {shard!r} synced {sorted(synced)}"
        assert all(count == 1 for count in synced.values()), f"shard {shard!r} synced twice: {synced}"
    # and from the API server's side: each managed ConfigMap was written by one replica, once
    writes = Counter(
        event["objectRef"]["name"]
        for event in control_plane.write_requests(namespaces=[ns])
        if event.get("objectRef", {}).get("resource") == "configmaps"
    )
    expected = {f"cm-{name}" for group in names.values() for name in group}
    assert set(writes) == expected
    assert all(count == 1 for count in writes.values()), f"ConfigMaps written more than once: {writes}"


def test_the_selector_reaches_kopfs_watch_of_applications_only() -> None:
    """kopf (``_cogs/clients/watching.py``) joins ``settings.watching.label_selectors.collect(resource)``
    into the watch and list requests' ``labelSelector``: the shard's selector must match the Application
    resource and nothing else the operator watches."""
    import kopf
    from kopf._cogs.structs.references import Resource

    from core_sync.reconciler import GROUP, PLURAL, VERSION
    from core_sync.sharding import watch_only_shard

    settings = kopf.OperatorSettings()
    watch_only_shard(settings, "a", GROUP, PLURAL)
    applications = Resource(GROUP, VERSION, PLURAL, kind="Application", namespaced=True)
    secrets = Resource("", "v1", "secrets", kind="Secret", namespaced=True)
    assert settings.watching.label_selectors.collect(applications) == [f"{SHARD_LABEL}=a"]
    assert settings.watching.label_selectors.collect(secrets) == []


def test_relabelling_moves_an_application_to_its_new_shard(
    apps: Apps, git_server: GitServer, control_plane: ControlPlane, tmp_path: Path
) -> None:
    ns = apps.namespace
    url = git_server.create_repo("moving", {"deploy/moving/cm.yaml": configmap("cm-moving", "1")})
    replicas: dict[str | None, Operator] = {}
    try:
        for shard in ("a", None):
            workdir = tmp_path / (shard or "default")
            workdir.mkdir()
            replicas[shard] = Operator(
                control_plane, workdir, namespaces=(ns,), args=("--shard", shard) if shard else ()
            )
            replicas[shard].start()
        _create(apps, "moving", url, None)
        apps.wait_ready("moving", timeout=60)
        apps.client.merge_patch(f"{apps.base}/moving", {"metadata": {"labels": {SHARD_LABEL: "a"}}})
        wait_for(lambda: _synced(replicas["a"]) == ["moving"], 30, "shard a to take the Application")
        apps.patch_spec("moving", {"interval": "59m"})  # a new generation: only its new owner reconciles
        wait_for(lambda: _synced(replicas["a"]) == ["moving", "moving"], 30, "shard a to reconcile it again")
        time.sleep(2)
    finally:
        for replica in replicas.values():
            replica.kill(signal.SIGTERM)
    assert _synced(replicas[None]) == ["moving"], "the default shard kept reconciling a relabelled one"
