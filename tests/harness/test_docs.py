"""The docs cannot rot: every fenced block marked ```sh runnable in README.md and docs/ runs and succeeds
(from the repository root, with this venv's lockstep and kubectl and the pinned helm on PATH), and every
relative link points at a file that exists."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core_sync.testing import binaries

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
RUNNABLE = re.compile(r"^```sh runnable\n(.*?)^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _blocks() -> list[tuple[str, str]]:
    return [
        (f"{page.relative_to(ROOT)}#{n}", block)
        for page in PAGES
        for n, block in enumerate(RUNNABLE.findall(page.read_text()))
    ]


def test_the_docs_have_runnable_blocks() -> None:
    assert len(_blocks()) >= 6
    required = {
        "README.md",
        "docs/getting-started.md",
        "docs/install.md",
        "docs/runbook.md",
        "docs/migrating.md",
    }
    required |= {"docs/testing-your-repos.md", "docs/benchmarks.md"}
    assert {str(p.relative_to(ROOT)) for p in PAGES} >= required


@pytest.mark.parametrize(("where", "block"), _blocks(), ids=[w for w, _ in _blocks()])
def test_runnable_block_succeeds(where: str, block: str) -> None:
    path = os.pathsep.join(
        [str(Path(sys.executable).parent), str(binaries.helm().parent), str(binaries.kubectl().parent)]
    )
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=ROOT,
        env={**os.environ, "PATH": path + os.pathsep + os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{where}:\n{block}\nstdout: {result.stdout}\nstderr: {result.stderr}"


def test_relative_links_resolve() -> None:
    broken = []
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken
