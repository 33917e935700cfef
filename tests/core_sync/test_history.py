"""The deployment history and rollback pin (pure): ids, trimming, lookups and their errors."""

from __future__ import annotations

import pytest

from core_sync.history import HistoryError, find, limit, pinned_revision, record

A, B, C = "a" * 40, "b" * 40, "c" * 40


def test_record_appends_new_revisions_only_and_trims_to_the_limit() -> None:
    history = record([], A, "t1", 3)
    assert history == [{"id": 1, "revision": A, "deployedAt": "t1"}]
    assert record(history, A, "t2", 3) == history  # the same revision again: no new entry
    for revision in (B, C, A):
        history = record(history, revision, "t", 3)
    assert [(e["id"], e["revision"]) for e in history] == [(2, B), (3, C), (4, A)]


def test_limit_defaults_to_ten_and_keeps_at_least_one() -> None:
    assert limit({}) == 10
    assert limit({"revisionHistoryLimit": 3}) == 3
    assert limit({"revisionHistoryLimit": 0}) == 1


def test_find_by_id_sha_prefix_and_previous() -> None:
    history = [{"id": 1, "revision": A}, {"id": 2, "revision": B}, {"id": 3, "revision": C}]
    assert find(history, None, C)["revision"] == B
    assert find(history, "1", C)["revision"] == A
    assert find(history, "bbbbbbb", C)["id"] == 2
    assert find(history, C, C)["id"] == 3


@pytest.mark.parametrize(
    ("history", "wanted", "message"),
    [
        ([], None, "no deployment history"),
        ([{"id": 1, "revision": A}], None, "no previous revision"),
        ([{"id": 1, "revision": A}], "7", "not in the deployment history"),
        ([{"id": 1, "revision": A}], "deadbeef", "not in the deployment history"),
        ([{"id": 1, "revision": A}], "main", "not in the deployment history"),
        ([{"id": 1, "revision": "ab" + "0" * 38}, {"id": 2, "revision": "ab" + "1" * 38}], "ab00", None),
        ([{"id": 1, "revision": "abc" + "0" * 37}, {"id": 2, "revision": "abc" + "1" * 37}], "abc0", None),
        (
            [{"id": 1, "revision": "abcd" + "0" * 36}, {"id": 2, "revision": "abcd" + "1" * 36}],
            "abcd",
            "ambiguous",
        ),
    ],
)
def test_find_refuses_what_the_history_does_not_hold(
    history: list[dict[str, object]], wanted: str | None, message: str | None
) -> None:
    current = history[-1]["revision"] if history else None
    if message is None:
        assert find(history, wanted, str(current))["id"] == 1
        return
    with pytest.raises(HistoryError, match=message):
        find(history, wanted, str(current))


def test_pinned_revision() -> None:
    assert pinned_revision({}) is None
    assert pinned_revision({"rollback": {"revision": A, "historyId": 1}}) == A
