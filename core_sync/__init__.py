"""Lockstep's GitOps engine: source, build, render stages, plan, apply, health, status, CLI and operator.

Nothing heavy is imported here: the CLI must start fast, so every subsystem is imported where it is used.
"""

__version__ = "0.1.0"
