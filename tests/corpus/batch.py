"""Run many ``lockstep`` (and ``lockstep-ksops``) invocations in one interpreter, each as the console script
would run it.

Why: starting Python and importing the engine costs more than most corpus inputs take to refuse, and the
corpus has over a thousand runs. Each invocation gets its own argv, stdin, cwd, environment, stdout and
stderr; an exception that escapes ``core_sync.cli.main`` is printed as the interpreter would print it
(``Traceback (most recent call last): ...``, exit 1), so the corpus sees exactly what a user would. A
hang is cut by an interval timer; a hang the timer cannot interrupt (inside C code) kills the whole
batch, and the runner then re-runs the batch's remaining jobs one subprocess each.

Protocol: a JSON list of jobs (argv, stdin, cwd, env, and ``entry``: the console script's
``module:function``) on stdin; one JSON line per finished job on stdout (written to the real
stdout, which the invocations never see).
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from types import FrameType


class _Timeout(BaseException):
    """Raised by the interval timer; a BaseException so the CLI's own handlers do not swallow it."""


class _Captured(io.BytesIO):
    """Output kept after the text wrapper around it is collected (which would close a plain BytesIO)."""

    def close(self) -> None:
        pass


def _expire(signum: int, frame: FrameType | None) -> None:
    raise _Timeout


def _entry(name: str) -> Callable[[list[str]], int]:
    """``module:function``: the console script the job runs (``lockstep`` or ``lockstep-ksops``)."""
    module, function = name.split(":")
    entry: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)
    return entry


def _run_one(job: dict[str, object], timeout: float) -> dict[str, object]:
    main = _entry(str(job.get("entry") or "core_sync.cli:main"))
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    saved = sys.stdin, sys.stdout, sys.stderr
    out, err = _Captured(), _Captured()
    sys.stdin = io.TextIOWrapper(io.BytesIO(base64.b64decode(str(job["stdin"]))), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True)
    os.environ.clear()
    os.environ.update(job["env"])  # type: ignore[arg-type]
    os.chdir(str(job["cwd"]))
    tempfile.tempdir = None  # read $TMPDIR afresh, as a new interpreter would
    started = time.monotonic()
    code: int | None
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        code = main(list(job["argv"]))  # type: ignore[call-overload]
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except _Timeout:
        code = None
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):
                stream.flush()
        sys.stdin, sys.stdout, sys.stderr = saved
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
    return {
        "id": job["id"],
        "returncode": code,
        "stdout": out.getvalue().decode("utf-8", "replace"),
        "stderr": err.getvalue().decode("utf-8", "replace"),
        "seconds": time.monotonic() - started,
    }


def main() -> None:
    timeout, memory = float(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    signal.signal(signal.SIGALRM, _expire)
    jobs = json.loads(sys.stdin.read())
    real_stdout = sys.stdout
    for job in jobs:
        result = _run_one(job, timeout)
        real_stdout.write(json.dumps(result) + "\n")
        real_stdout.flush()


if __name__ == "__main__":
    main()
