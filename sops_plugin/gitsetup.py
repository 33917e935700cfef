"""``lockstep sops git-setup``: make git diff and merge SOPS files by their values, in the repository it is
run in.

Writes, in ``.git/config`` (local: each clone opts in), a ``diff.sops`` textconv driver
(:mod:`sops_plugin.gittextconv`, masked unless ``--show-values``; ``cachetextconv`` off so decrypted text
is never stored in git notes) and a ``merge.sops`` driver (:mod:`sops_plugin.gitmerge`); and in
``.gitattributes`` (to be committed, so every clone routes the same files) a block of patterns for the files
``.sops.yaml``'s creation rules cover: a glob per ``path_regex`` that has one, plus every tracked SOPS file
a rule covers that no glob reaches. Re-running replaces the block and the settings (idempotent);
``--unset`` removes both.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

DRIVER_KEYS = ("diff.sops", "merge.sops")


class SetupError(Exception):
    """Something git-setup cannot do; the message says what and where."""


def _git(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False)
    except OSError as exc:
        raise SetupError(f"cannot run git: {exc.strerror}") from None


def _checked(*args: str, cwd: Path, stdin: bytes | None = None) -> bytes:
    done = _git(*args, cwd=cwd, stdin=stdin)
    if done.returncode != 0:
        raise SetupError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def lockstep_command() -> str:
    """How git should start lockstep: this executable's absolute path when it is the console script (git
    may run drivers with another PATH, e.g. from an IDE), else ``lockstep``."""
    argv0 = Path(sys.argv[0])
    if argv0.name.startswith("lockstep") and argv0.is_file():
        return shlex.quote(str(argv0.absolute()))
    return "lockstep"


def configure(top: Path, command: str, *, show_values: bool) -> None:
    textconv = f"{command} sops git-textconv" + (" --show-values" if show_values else "")
    settings = {
        "diff.sops.textconv": textconv,
        "diff.sops.cachetextconv": "false",
        "merge.sops.name": "lockstep: merge SOPS files key by key",
        "merge.sops.driver": f"{command} sops git-merge %O %A %B %P",
    }
    for key, value in settings.items():
        _checked("config", "--local", key, value, cwd=top)


def unconfigure(top: Path) -> None:
    for section in DRIVER_KEYS:
        _git("config", "--local", "--remove-section", section, cwd=top)  # absent: nothing to remove


def _rules(config: Path) -> list[str | None]:
    """Each creation rule's ``path_regex`` (``None``: the rule covers every file)."""
    import yaml

    from gocompat import limits

    try:
        parsed = limits.safe_load(config.read_text()) or {}
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SetupError(f"{config}: cannot read the sops config: {exc}") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise SetupError(f"{config}: not valid YAML: {str(exc).splitlines()[0]}") from None
    rules = parsed.get("creation_rules") if isinstance(parsed, dict) else None
    if not isinstance(rules, list):
        return []
    return [str(r.get("path_regex")) if r.get("path_regex") else None for r in rules if isinstance(r, dict)]


def _covered_sops_files(top: Path, config_dir: str, regexes: list[str | None]) -> list[str]:
    """Tracked files under the config's directory that a rule covers and that hold SOPS metadata."""
    import re

    from sops_plugin.gitmerge import is_sops

    compiled = []
    for regex in regexes:
        try:
            compiled.append(re.compile(regex) if regex else None)
        except re.error as exc:
            raise SetupError(f".sops.yaml: invalid path_regex {regex!r}: {exc}") from None
    found = []
    for name in _checked("ls-files", "-z", cwd=top).decode("utf-8", "surrogateescape").split("\0"):
        if not name or (config_dir and not name.startswith(config_dir + "/")):
            continue
        rel = name[len(config_dir) + 1 :] if config_dir else name
        if not any(c is None or c.search(rel) for c in compiled):
            continue
        try:
            data = (top / name).read_bytes()
        except OSError:
            continue
        if is_sops(data, name):
            found.append(name)
    return found


def _uncovered(top: Path, files: list[str]) -> list[str]:
    """Those of ``files`` whose ``merge`` attribute is not ``sops`` with the attributes as they are now."""
    if not files:
        return []
    out = _checked("check-attr", "-z", "--stdin", "merge", cwd=top, stdin="\0".join(files).encode() + b"\0")
    fields = out.decode("utf-8", "surrogateescape").split("\0")
    triples = zip(fields[0::3], fields[1::3], fields[2::3], strict=False)
    return [path for path, _, value in triples if value != "sops"]


def _write_attributes(path: Path, text: str) -> None:
    from core_sync.files import WriteError, write_files

    try:
        if text.strip():
            write_files([(path, text.encode())], new_file_mode=0o644)
        elif path.exists():
            path.unlink()
    except (WriteError, OSError) as exc:
        raise SetupError(f"{path}: cannot write: {exc}") from None


def setup_attributes(top: Path, config: Path | None) -> tuple[list[str], list[str]]:
    """Write our ``.gitattributes`` block; returns (patterns written, SOPS files that could not be listed)."""
    from sops_plugin.format import gitattributes as ga

    attributes = top / ".gitattributes"
    current = attributes.read_text() if attributes.exists() else ""
    if config is None:
        return [], []
    try:
        config_dir = str(config.resolve().parent.relative_to(top.resolve())).replace(os.sep, "/")
    except ValueError:
        raise SetupError(f"{config} is outside the repository {top}") from None
    config_dir = "" if config_dir == "." else config_dir
    regexes = _rules(config)
    patterns = [ga.under(config_dir, g) for g in map(ga.regex_to_glob, filter(None, regexes)) if g]
    _write_attributes(attributes, ga.with_block(current, patterns))
    unlisted = []
    missing = _uncovered(top, _covered_sops_files(top, config_dir, regexes))
    for name in missing:
        pattern = ga.literal(name)
        if pattern is None:
            unlisted.append(name)
        else:
            patterns.append(pattern)
    if missing:
        _write_attributes(attributes, ga.with_block(current, patterns))
    return patterns, unlisted


def main(argv: list[str], prog: str) -> int:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Configure git to diff SOPS files by their (masked) values and merge them key by key.",
        epilog="example:\n  cd my-repo && lockstep sops git-setup && git add .gitattributes\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--show-values", action="store_true", help="git diff shows decrypted values, not masks")
    p.add_argument("--unset", action="store_true", help="remove the drivers and the .gitattributes block")
    p.add_argument("--config", default=os.environ.get("SOPS_CONFIG"), help="path to .sops.yaml")
    args = p.parse_args(argv)
    from sops_plugin.api import find_config
    from sops_plugin.format import gitattributes as ga

    try:
        top = Path(_checked("rev-parse", "--show-toplevel", cwd=Path.cwd()).decode().strip())
        if args.unset:
            unconfigure(top)
            attributes = top / ".gitattributes"
            if attributes.exists():
                _write_attributes(attributes, ga.without_block(attributes.read_text()))
            sys.stderr.write(f"removed the sops diff/merge drivers from {top}\n")
            return 0
        configure(top, lockstep_command(), show_values=args.show_values)
        config = find_config(Path.cwd(), args.config)
        patterns, unlisted = setup_attributes(top, config if config and config.is_file() else None)
    except SetupError as exc:
        sys.stderr.write(f"lockstep sops git-setup: {exc}\n")
        return 1
    shown = "decrypted values" if args.show_values else "masked values"
    sys.stderr.write(f"configured in {top}/.git/config: diff.sops (git diff shows {shown}), merge.sops\n")
    if patterns:
        sys.stderr.write(".gitattributes routes to them (commit it):\n")
        sys.stderr.write("".join(f"  {p} {ga.ATTRIBUTES}\n" for p in patterns))
    else:
        sys.stderr.write(
            "no .sops.yaml path_regex to derive patterns from: add lines like\n"
            f"  *.enc.yaml {ga.ATTRIBUTES}\nto .gitattributes for your SOPS files\n"
        )
    for name in unlisted:
        sys.stderr.write(f"  not listed (characters .gitattributes needs quoted): {name}\n")
    return 0
