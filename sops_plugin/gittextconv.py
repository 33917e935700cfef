"""``lockstep sops git-textconv FILE``: git's ``textconv`` for SOPS files (``git-setup`` configures it as
``diff.sops.textconv``), so ``git diff`` / ``git log -p`` show which keys changed instead of ``ENC[…]`` and
MAC noise.

By default every encrypted value (and encrypted comment) is masked as ``<secret:TAG>``: the keys and the
values stored in clear are shown, the secrets are not. TAG is 8 hex digits of an HMAC-SHA256 keyed with a
key derived from the file's data key, over the value's path, type and bytes. It changes exactly when the
value changes (whichever tool re-encrypted it), and without the data key it tells nothing about the value —
not its length, not a digest anyone could test guesses against. (What it does show a reader of the diff: that
a value at a path is equal to one it had before.) ``--show-values`` prints the decrypted values.

A file that is not SOPS-encrypted is printed as it is; one that cannot be decrypted (no key here) is printed
as it is with a note on stderr, so ``git diff`` keeps working. Cached textconv output would store the
decrypted text in ``refs/notes/textconv``: ``git-setup`` sets ``diff.sops.cachetextconv=false``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sys
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sops_plugin.format.document import SopsDocument

MASK_CONTEXT = b"lockstep sops git-textconv mask v1"


class Masker:
    """Turns one leaf into its mask; keyed per file so tags from different files cannot be compared."""

    def __init__(self, data_key: bytes) -> None:
        self._key = hmac.new(data_key, MASK_CONTEXT, hashlib.sha256).digest()

    def tag(self, value: Any, aad: str) -> str:
        from sops_plugin.format.values import to_bytes, type_name

        message = b"\0".join(
            [aad.encode("utf-8", "surrogateescape"), type_name(value).encode(), to_bytes(value)]
        )
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:8]

    def __call__(self, value: Any, aad: str) -> Any:
        from gocompat.yaml.v3.tree import Comment

        if isinstance(value, Comment):
            return Comment(f" <secret comment:{self.tag(value, aad)}>")
        return f"<secret:{self.tag(value, aad)}>"


def _summary(doc: SopsDocument, mac_ok: bool) -> bytes:
    """The metadata people review (recipients, time), without the MAC or wrapped keys."""
    meta = doc.metadata
    lines = ["", "# sops metadata (lockstep sops git-textconv):", f"#   lastmodified: {meta.lastmodified}"]
    for n, group in enumerate(meta.key_groups):
        label = f"group {n + 1} " if len(meta.key_groups) > 1 else ""
        lines += [f"#   {label}{key.describe()}" for key in group]
    if not mac_ok:
        lines.append(
            "#   WARNING: MAC mismatch: the file was changed without its key (tampered or hand-edited)"
        )
    return ("\n".join(lines) + "\n").encode()


def render(data: bytes, fmt: str, *, show_values: bool) -> bytes:
    """The text git diffs for one version of the file."""
    from sops_plugin import api
    from sops_plugin.errors import MacMismatch
    from sops_plugin.format import document as d
    from sops_plugin.format.crypt import map_encrypted

    try:
        doc, mac_ok = api.decrypt_document(data, fmt), True
    except MacMismatch:
        doc, mac_ok = api.decrypt_document(data, fmt, ignore_mac=True), False
    assert doc.cipher is not None
    branches = doc.branches
    if not show_values:
        branches = map_encrypted(branches, doc.metadata.rules, Masker(doc.cipher.key))
    if fmt == "binary" and not show_values:
        fmt = "yaml"  # a binary file is one value: its mask is shown as the tree sops keeps it in
    return d.emit_plain(branches, fmt) + _summary(doc, mac_ok)


def main(argv: list[str], prog: str) -> int:
    p = argparse.ArgumentParser(
        prog=prog, description="git textconv for SOPS files (configured by `lockstep sops git-setup`)."
    )
    p.add_argument("file", type=Path, help="the file git wants shown as text")
    p.add_argument("--show-values", action="store_true", help="print decrypted values instead of masks")
    args = p.parse_args(argv)
    from gocompat.limits import MAX_FILE_BYTES
    from sops_plugin.errors import MetadataNotFound, SopsError
    from sops_plugin.format.document import format_for

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        sys.stderr.write(f"{args.file}: {exc.strerror}\n")
        return 1
    try:
        if len(data) > MAX_FILE_BYTES:
            raise SopsError(f"over the limit of {MAX_FILE_BYTES} bytes")
        out = render(data, format_for(str(args.file)), show_values=args.show_values)
    except MetadataNotFound:
        out = data
    except SopsError as exc:
        sys.stderr.write(f"lockstep sops git-textconv: {exc.located(str(args.file))}; showing it encrypted\n")
        out = data
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return 0
