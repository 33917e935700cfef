"""The one label-selector matcher: each operator, the combination of terms, and invalid operators (an error
for ApplicationSets, no match for ESO store conditions: a typo never widens who may use a store)."""

from __future__ import annotations

from typing import Any

import pytest

from core_sync.appset.generators import AppSetError, matches
from core_sync.selectors import SelectorError, label_selector_matches
from external_secrets.stores import selector_matches

LABELS = {"env": "production", "team": "a"}

CASES: list[tuple[dict[str, Any], bool]] = [
    ({}, True),
    ({"matchLabels": {"env": "production"}}, True),
    ({"matchLabels": {"env": "staging"}}, False),
    ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["production", "qa"]}]}, True),
    ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["qa"]}]}, False),
    ({"matchExpressions": [{"key": "missing", "operator": "In", "values": ["x"]}]}, False),
    ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["qa"]}]}, True),
    ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["production"]}]}, False),
    ({"matchExpressions": [{"key": "missing", "operator": "NotIn", "values": ["x"]}]}, True),
    ({"matchExpressions": [{"key": "team", "operator": "Exists"}]}, True),
    ({"matchExpressions": [{"key": "missing", "operator": "Exists"}]}, False),
    ({"matchExpressions": [{"key": "missing", "operator": "DoesNotExist"}]}, True),
    ({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}, False),
    (
        {
            "matchLabels": {"team": "a"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["production"]}],
        },
        True,
    ),
    (
        {
            "matchLabels": {"team": "b"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["production"]}],
        },
        False,
    ),
]


@pytest.mark.parametrize(("selector", "expected"), CASES)
def test_every_user_agrees(selector: dict[str, Any], expected: bool) -> None:
    assert label_selector_matches(selector, LABELS) is expected
    assert matches(selector, LABELS) is expected
    assert selector_matches(selector, LABELS) is expected


def test_an_unknown_operator_is_an_error_or_matches_nothing() -> None:
    bad = {"matchExpressions": [{"key": "env", "operator": "Contains", "values": ["prod"]}]}
    with pytest.raises(SelectorError, match="'Contains'"):
        label_selector_matches(bad, LABELS)
    with pytest.raises(AppSetError, match="'Contains'"):
        matches(bad, LABELS)
    assert selector_matches(bad, LABELS) is False
