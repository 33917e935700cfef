"""Kubernetes label selectors (``matchLabels`` + ``matchExpressions``) evaluated on a label map.

One matcher for every place that selects by labels (ApplicationSet cluster generators, ESO's
ClusterSecretStore conditions and ClusterExternalSecret namespaces, PushSecret store selection), so they
agree with each other and with the API server: all terms must hold, and an unknown operator is an error,
never silently ignored (an ignored term would widen the selection).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class SelectorError(ValueError):
    """The selector itself is invalid (names the operator)."""


def label_selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy every term of ``selector``; an empty selector matches everything."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or ():
        key, operator, values = (
            expression.get("key"),
            expression.get("operator"),
            expression.get("values") or [],
        )
        if operator not in OPERATORS:
            raise SelectorError(f"selector operator {operator!r} is not In, NotIn, Exists or DoesNotExist")
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True
