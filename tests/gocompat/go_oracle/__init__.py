"""The Go reference renderer of the differential template tests, built once per session.

``main.go`` (cases in, results out, one JSON line each) is built with one of the ``funcs_*.go`` files:
``plain`` (text/template alone, standard library) or ``sprig`` (Sprig v3.3.0 as ESO vendors it). The build
runs offline from the Go module cache; on a fresh machine it fetches the pinned modules once through the Go
module proxy (a package registry). Without Go, or when the build fails, the tests fail; they never skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


@contextmanager
def running(workdir: Path, flavour: str) -> Iterator[subprocess.Popen[str]]:
    """Build the ``flavour`` renderer in ``workdir`` and keep it running for the session."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(go).exists():
        raise RuntimeError(f"the Go toolchain is needed for the {flavour} template reference (Go >= 1.23)")
    (workdir / "go.mod").write_text((HERE / f"go.mod.{flavour}").read_text())
    for name in ("main.go", f"funcs_{flavour}.go"):
        (workdir / name).write_text((HERE / name).read_text())
    command = [go, "build", "-o", "reference", "."]
    base = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    build = subprocess.run(
        command,
        cwd=workdir,
        env={**base, "GOPROXY": "off", "GOSUMDB": "off"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if build.returncode != 0:
        build = subprocess.run(command, cwd=workdir, env=base, capture_output=True, text=True, timeout=600)
    if build.returncode != 0:
        raise RuntimeError(
            f"could not build the {flavour} template reference (is the Go module proxy reachable?):\n"
            + build.stderr[-2000:]
        )
    proc = subprocess.Popen(
        [str(workdir / "reference")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield proc
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def render(
    proc: subprocess.Popen[str], text: str, data: Any, *, missingkey: str = "error", stringmap: bool = False
) -> dict[str, Any]:
    """Go's output, error and whether the error came from parsing, for one template."""
    assert proc.stdin is not None and proc.stdout is not None
    request = {"text": text, "data": data, "missingkey": missingkey, "stringmap": stringmap}
    proc.stdin.write(json.dumps(request) + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())  # type: ignore[no-any-return]
