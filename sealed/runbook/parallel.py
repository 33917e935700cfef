"""Re-sealing many SealedSecret files on every core: the RSA private-key operations are the whole cost
(one per value, ~1.4 ms for RSA-4096), so the offline runbook spreads files over worker processes.

Workers are forked after the cipher is built, so they inherit the keys in memory: nothing is written,
pickled or passed on a command line. Results come back in file order (the caller journals and writes them
one by one, so resuming works exactly as without workers); an error comes back as its message.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator

from sealed.format.errors import FormatError
from sealed.runbook.reseal import Cipher, FileReseal, reseal_file

MIN_FILES_FOR_WORKERS = 16
_cipher: Cipher | None = None  # set in the parent just before forking; inherited by the workers


def _work(data: bytes) -> FileReseal | str:
    assert _cipher is not None
    try:
        return reseal_file(data, _cipher)
    except FormatError as error:
        return str(error)
    except (ValueError, UnicodeDecodeError) as error:
        return str(error)


def reseal_many(contents: list[bytes], cipher: Cipher, parallel: bool = True) -> Iterator[FileReseal | str]:
    """``reseal_file`` over ``contents``, in order; on several cores when ``parallel`` and there is enough
    work (a cipher that talks to the controller stays in this process: its connection is not fork-safe)."""
    global _cipher
    workers = min(os.cpu_count() or 1, 8)
    forkable = "fork" in multiprocessing.get_all_start_methods()
    if not parallel or workers < 2 or len(contents) < MIN_FILES_FOR_WORKERS or not forkable:
        _cipher = cipher
        try:
            yield from (_work(data) for data in contents)
        finally:
            _cipher = None
        return
    _cipher = cipher
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_work, contents, chunksize=4)
    finally:
        _cipher = None
