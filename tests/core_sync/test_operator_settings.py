"""The operator's command line becomes one OperatorSettings, handed to controllers old and new."""

from __future__ import annotations

from typing import Any

from core_sync.operator import build_parser, register_controller
from core_sync.operator_settings import OperatorSettings


def test_command_line_becomes_settings() -> None:
    args = build_parser("lockstep operator").parse_args(
        [
            "--kubeconfig",
            "/k",
            "--context",
            "c",
            "-n",
            "a",
            "-n",
            "b",
            "--controllers",
            "application, external",
            "--insecure-kubeconfig-exec",
        ]
    )
    settings = OperatorSettings.from_args(args)
    assert (settings.kubeconfig, settings.context, settings.namespaces) == ("/k", "c", ("a", "b"))
    assert settings.controllers == ("application", "external") and settings.insecure_kubeconfig_exec
    assert settings.wants("external") and not settings.wants("sealed")
    assert OperatorSettings().wants("anything")


def test_controllers_registered_with_or_without_settings() -> None:
    settings, registry = OperatorSettings(context="x"), object()
    seen: list[tuple[Any, ...]] = []

    def old_style(registry: Any) -> None:
        seen.append((registry,))

    def new_style(registry: Any, settings: OperatorSettings) -> None:
        seen.append((registry, settings))

    def optional(registry: Any, settings: OperatorSettings | None = None) -> None:
        seen.append((registry, settings))

    def variadic(*args: Any) -> None:
        seen.append(args)

    for register in (old_style, new_style, optional, variadic):
        register_controller(register, registry, settings)
    assert seen == [(registry,), (registry, settings), (registry, settings), (registry, settings)]
