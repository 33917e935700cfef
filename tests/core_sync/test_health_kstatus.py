"""kstatus's own test cases (cli-utils ``pkg/kstatus/status``), as data, against core_sync.health.

Every case must give kstatus's status, except the cases named in ``health.KSTATUS_DIFFERENCES``: those
must still differ (so the list stays true), each for the reason written there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from core_sync.health import KSTATUS_DIFFERENCES, assess

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).with_name("kstatus_cases.yaml")).read_text(encoding="utf-8")
)


def _live(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the test saw it: a creationTimestamp of "NOW" is the current time."""
    meta = obj.get("metadata") or {}
    if meta.get("creationTimestamp") == "NOW":
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {**obj, "metadata": {**meta, "creationTimestamp": now}}
    return obj


def test_every_kstatus_test_case_is_here() -> None:
    # 53 table cases in status_compute_test.go and 4 Job suspension cases in core_test.go.
    assert len(CASES) == 57
    assert len({c["name"] for c in CASES}) == len(CASES)


SAME = [c for c in CASES if c["name"] not in KSTATUS_DIFFERENCES]


@pytest.mark.parametrize("case", SAME, ids=[c["name"] for c in SAME])
def test_matches_kstatus(case: dict[str, Any]) -> None:
    health = assess(_live(case["object"]))
    assert health.status == case["kstatus"], f"{case['test']}/{case['name']}: {health}"


@pytest.mark.parametrize("name", sorted(KSTATUS_DIFFERENCES))
def test_deliberate_difference_still_differs(name: str) -> None:
    (case,) = [c for c in CASES if c["name"] == name]
    health = assess(_live(case["object"]))
    assert health.status != case["kstatus"], f"{name} now matches kstatus; drop it from KSTATUS_DIFFERENCES"
    assert KSTATUS_DIFFERENCES[name]  # a reason is written down


def test_the_deliberate_differences_give_argo_cds_answers() -> None:
    by_name = {c["name"]: assess(_live(c["object"])).status for c in CASES}
    assert by_name["podCompletedFailed"] == "Failed"
    assert by_name["podUnschedulable"] == "InProgress"
    assert by_name["jobInProgress"] == "InProgress"
    assert by_name["serviceLBok"] == "InProgress"
