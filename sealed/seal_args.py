"""``lockstep seal``'s parsed flags as one typed object (the table in ``sealed.flags``; one attribute each).

A plain slotted class, not a dataclass: importing ``dataclasses`` would cost a share of the start-up
budget, and the fast parser already produced every value.
"""

from __future__ import annotations

from collections.abc import Mapping

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep seal` must start fast
if TYPE_CHECKING:
    from typing import Any


class SealArgs:
    """What the user asked of ``lockstep seal``; the modes read it, only ``format`` may be adjusted."""

    __slots__ = (
        "allow_empty_data",
        "cert",
        "context",
        "controller_name",
        "controller_namespace",
        "controller_url",
        "dry_run",
        "fetch_cert",
        "format",
        "from_file",
        "in_place",
        "kubeconfig",
        "merge_into",
        "name",
        "namespace",
        "raw",
        "re_encrypt",
        "recovery_private_key",
        "recovery_unseal",
        "replace",
        "scope",
        "sealed_secret_file",
        "secret_file",
        "validate",
    )

    allow_empty_data: bool
    cert: str | None
    context: str | None
    controller_name: str
    controller_namespace: str
    controller_url: str | None
    dry_run: bool
    fetch_cert: bool
    format: str
    from_file: list[str]
    in_place: list[str] | None
    kubeconfig: str | None
    merge_into: str | None
    name: str | None
    namespace: str
    raw: bool
    re_encrypt: bool
    recovery_private_key: list[str]
    recovery_unseal: bool
    replace: bool
    scope: str
    sealed_secret_file: str | None
    secret_file: str | None
    validate: bool

    def __init__(self, values: Mapping[str, Any]) -> None:
        for name in self.__slots__:
            object.__setattr__(self, name, values[name])


class ControllerRef:
    """How to reach the sealing controller (the five flags ``lockstep seal`` and ``lockstep keys`` share)."""

    __slots__ = ("context", "controller_name", "controller_namespace", "controller_url", "kubeconfig")

    context: str | None
    controller_name: str
    controller_namespace: str
    controller_url: str | None
    kubeconfig: str | None

    def __init__(self, values: Any) -> None:
        """``values``: any object with the five attributes (parsed ``SealArgs`` or an argparse namespace)."""
        for name in self.__slots__:
            object.__setattr__(self, name, getattr(values, name))
