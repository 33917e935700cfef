"""``lockstep sops git-merge BASE OURS THEIRS PATH``: git's merge driver for SOPS files (``git-setup``
configures it as ``merge.sops.driver``).

Git hands over three temp files (``%O %A %B``) and the path (``%P``); the result goes to OURS, exit 0 for a
clean merge, non-zero for a conflict. Here the three versions are decrypted in memory, merged key by key
(:mod:`sops_plugin.format.merge3`) and re-encrypted for the recipients ``.sops.yaml`` names for PATH — with
ours' data key and IVs when the recipients are unchanged (theirs' IVs too when both share the key), so the
merged file differs from each side only where the values do. A conflict (the same key changed on both sides)
writes the merge with ours' value at each conflicting key, still encrypted, names the keys on stderr and
exits 1: git reports the file as conflicted, and no plaintext reaches the work tree. A file that is not a
SOPS file gets git's ordinary text merge (``git merge-file``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gocompat.yaml.v3.tree import Branch
    from sops_plugin.format.document import SopsDocument
    from sops_plugin.format.encryption import KeyPlan


def _text_merge(base: Path, ours: Path, theirs: Path, path: str) -> int:
    """git's own line merge, with conflict markers, for files that are not SOPS-encrypted."""
    labels = ["-L", f"{path} (ours)", "-L", f"{path} (base)", "-L", f"{path} (theirs)"]
    done = subprocess.run(["git", "merge-file", *labels, str(ours), str(base), str(theirs)], check=False)
    return 0 if done.returncode == 0 else 1


def _rule_plan(path: str) -> KeyPlan | None:
    """The KeyPlan of the ``.sops.yaml`` creation rule for ``path`` (nearest config above it), if any."""
    from sops_plugin.api import find_config
    from sops_plugin.errors import SopsError
    from sops_plugin.format.config import find_creation_rule

    target = (Path.cwd() / path).resolve()
    config = find_config(target.parent)
    if config is None:
        return None
    try:
        rel = str(target.relative_to(config.resolve().parent))
    except ValueError:
        rel = path
    try:
        return find_creation_rule(config.read_text(), rel).plan
    except (SopsError, OSError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"lockstep sops git-merge: {config}: {exc}; {path} keeps its own recipients\n")
        return None


def encrypt_merged(
    ours: SopsDocument, theirs: SopsDocument, branches: list[Branch], path: str, indent: int | None = None
) -> bytes:
    """The merged plaintext encrypted for the recipients of ``.sops.yaml`` (ours' when no rule matches)."""
    from sops_plugin import api
    from sops_plugin.format import document as d
    from sops_plugin.format import encryption

    plan = _rule_plan(path)
    meta = ours.metadata
    same_recipients = plan is None or (
        api._recipients(plan.groups) == api._recipients(meta.key_groups)
        and (plan.shamir_threshold or meta.shamir_threshold) == meta.shamir_threshold
    )
    if same_recipients:
        assert ours.cipher is not None and theirs.cipher is not None
        ours.cipher.adopt_ivs(theirs.cipher)
        return api.reencrypt(ours, branches, indent=indent)
    assert plan is not None
    doc = encryption.encrypt(branches, ours.fmt, meta.rules, plan, version=meta.version or "3.11.0")
    return d.emit_encrypted(doc, layout=api.layout_for(meta.version), indent=indent)


def merge(base: bytes, ours: bytes, theirs: bytes, path: str) -> tuple[bytes, list[str]]:
    """Decrypt, merge, re-encrypt: the merged file and the conflicting key paths (pure apart from
    reading identities from the environment and ``.sops.yaml``)."""
    from sops_plugin import api
    from sops_plugin.format.document import format_for
    from sops_plugin.format.merge3 import merge_documents

    fmt = format_for(path)
    our_doc = api.decrypt_document(ours, fmt, where=f"{path} (ours)")
    their_doc = api.decrypt_document(theirs, fmt, where=f"{path} (theirs)")
    base_doc = api.decrypt_document(base, fmt, where=f"{path} (base)") if base.strip() else None
    merged, conflicts = merge_documents(
        base_doc.branches if base_doc else None, our_doc.branches, their_doc.branches
    )
    return encrypt_merged(our_doc, their_doc, merged, path, api.indent_of(ours, fmt)), conflicts


def is_sops(data: bytes, path: str) -> bool:
    """Whether ``data`` carries SOPS metadata (a damaged SOPS file counts: decrypting it says why)."""
    from sops_plugin.errors import MetadataNotFound, SopsError
    from sops_plugin.format.document import format_for, parse_encrypted

    try:
        parse_encrypted(data, format_for(path))
    except MetadataNotFound:
        return False
    except SopsError:
        return True
    return True


def main(argv: list[str], prog: str) -> int:
    p = argparse.ArgumentParser(
        prog=prog, description="git merge driver for SOPS files (configured by `lockstep sops git-setup`)."
    )
    p.add_argument("base", type=Path, help="%%O: the common ancestor's version (empty if none)")
    p.add_argument("ours", type=Path, help="%%A: our version; the result is written here")
    p.add_argument("theirs", type=Path, help="%%B: their version")
    p.add_argument("path", help="%%P: the file's path in the repository")
    args = p.parse_args(argv)
    from gocompat.limits import LimitExceeded, check_size
    from sops_plugin.errors import SopsError

    try:
        for f in (args.base, args.ours, args.theirs):
            check_size(f.stat().st_size, f"{args.path} ({f.name})")
        base, ours, theirs = (f.read_bytes() for f in (args.base, args.ours, args.theirs))
    except LimitExceeded as exc:
        sys.stderr.write(f"{exc}\nlockstep sops git-merge: {args.path} not merged; it holds our version\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"{args.path}: merge driver cannot read git's temp file: {exc.strerror}\n")
        return 1
    if not (is_sops(ours, args.path) and is_sops(theirs, args.path)):
        return _text_merge(args.base, args.ours, args.theirs, args.path)
    try:
        merged, conflicts = merge(base, ours, theirs, args.path)
    except SopsError as exc:
        sys.stderr.write(f"{exc}\nlockstep sops git-merge: {args.path} not merged; it holds our version\n")
        return 1
    try:
        args.ours.write_bytes(merged)
    except OSError as exc:
        sys.stderr.write(f"{args.path}: merge driver cannot write the result: {exc.strerror}\n")
        return 1
    if conflicts:
        sys.stderr.write(
            f"CONFLICT (sops): {args.path}: changed on both sides: {', '.join(conflicts)}\n"
            f"  the file holds the merge with our value at those keys, still encrypted; "
            f"resolve with `lockstep sops edit {args.path}`, then `git add {args.path}`\n"
        )
        return 1
    return 0
