"""``lockstep sops rotate | updatekeys``: a new data key for every value, or the same data key re-wrapped
for the recipients ``.sops.yaml`` now names; sops' flags, output and exit codes. Files are written all or
none. A module of their own: ``lockstep sops decrypt`` (:mod:`sops_plugin.cli`) never loads them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sops_plugin.cli import (
    BINARY_KEY_TYPES,
    FORMATS,
    _config_text,
    _fail,
    _fallback,
    _io_flags,
    _parser,
    _read,
    _target,
    _write,
    _write_files,
)

EXAMPLES = {
    "rotate": "example:\n  lockstep sops rotate -i secrets/*.enc.yaml\n",
    "updatekeys": "example:\n  lockstep sops updatekeys secrets/db.enc.yaml   # after editing .sops.yaml\n",
}


def rotate(argv: list[str], prog: str) -> int:
    p = _parser(
        prog,
        "rotate",
        "Re-encrypt files with a new data key (every value, the MAC and each enc change).",
        EXAMPLES,
    )
    p.add_argument("files", nargs="+", metavar="PATH")
    _io_flags(p)
    p.add_argument("--add-age", default="", help="comma-separated age recipients to add")
    p.add_argument("--rm-age", default="", help="comma-separated age recipients to remove")
    for kind in BINARY_KEY_TYPES:
        for verb in ("add", "rm"):
            p.add_argument(f"--{verb}-{kind}", default="", help=f"{kind} keys to {verb} (sops binary)")
    args = p.parse_args(argv)
    from sops_plugin.errors import SopsError

    named = [
        k for k in BINARY_KEY_TYPES for v in ("add", "rm") if getattr(args, f"{v}_{k}".replace("-", "_"))
    ]
    if named:
        return _fallback("rotate", argv, f"--add/--rm-{named[0]} keys need the sops binary")

    if len(args.files) > 1 and not args.in_place:
        sys.stderr.write(f"{prog}: several files need -i/--in-place\n")
        return 1
    from core_sync.progress import Progress
    from sops_plugin import api
    from sops_plugin.format.document import format_for, parse_encrypted

    status, outputs, binary_files = 0, [], []
    progress = Progress(len(args.files) if len(args.files) > 1 else 0, "rotating")
    for path in args.files:
        progress.step(path)
        try:
            data = _read(path)
            fmt = format_for(path, args.input_type)
            groups = parse_encrypted(data, fmt).metadata.key_groups
            if any(k.kind != "age" for g in groups for k in g):
                binary_files.append(path)
                continue
            out = api.rotate_bytes(
                data,
                fmt,
                None,
                add_age=[r for r in args.add_age.split(",") if r],
                rm_age=[r for r in args.rm_age.split(",") if r],
                where=path,
            )
            outputs.append((_target(args, path), out))
        except SopsError as exc:
            status = _fail(exc, path)
    progress.done()
    status = status or _write_all(outputs, len(args.files))
    for path in binary_files if not status else []:
        one = [a for a in argv if a not in args.files] + [path]
        status = _fallback("rotate", one, f"{path}: the file has non-age keys") or status
    return status


def _write_all(outputs: list[tuple[str | None, bytes]], attempted: int) -> int:
    """Write every computed result (files all or nothing, then stdout); the exit status."""
    from sops_plugin.errors import SopsError

    try:
        _write_files([(target, data) for target, data in outputs if target is not None])
    except SopsError as exc:
        if attempted > 1:
            exc.message += "; no file was changed"
        return _fail(exc)
    for target, data in outputs:
        if target is None:
            _write(data, None)
    return 0


def updatekeys(argv: list[str], prog: str) -> int:
    p = _parser(
        prog,
        "updatekeys",
        "Re-wrap each file's data key for the recipients its .sops.yaml rule now names.",
        EXAMPLES,
    )
    p.add_argument("files", nargs="+", metavar="PATH")
    p.add_argument("-y", "--yes", action="store_true", help="accepted for sops compatibility (never prompts)")
    p.add_argument("--input-type", choices=FORMATS)
    p.add_argument("--config", default=os.environ.get("SOPS_CONFIG"), help="path to .sops.yaml")
    p.add_argument("--shamir-secret-sharing-threshold", type=int, default=0)
    args = p.parse_args(argv)
    from core_sync.progress import Progress
    from sops_plugin import api
    from sops_plugin.errors import SopsError
    from sops_plugin.format.config import find_creation_rule
    from sops_plugin.format.document import format_for

    status, outputs, binary_files, messages = 0, [], [], []
    progress = Progress(len(args.files) if len(args.files) > 1 else 0, "updating keys")
    for path in args.files:
        progress.step(path)
        try:
            config = api.find_config(Path.cwd(), args.config)
            if config is None or not config.is_file():
                raise SopsError("config file not found")
            if not Path(path).is_file():
                raise SopsError("no such file or directory", where=path)
            try:
                rel = str(Path(path).resolve().relative_to(config.resolve().parent))
            except ValueError:
                rel = path
            rule = find_creation_rule(_config_text(config), rel, updatekeys=True)
            if args.shamir_secret_sharing_threshold:
                rule.plan.shamir_threshold = args.shamir_secret_sharing_threshold
            if any(k.kind != "age" for g in rule.plan.groups for k in g):
                binary_files.append(path)
                continue
            out, changes = api.updatekeys_bytes(
                _read(path), format_for(path, args.input_type), rule.plan, where=path
            )
            if out is None:
                messages.append(f"File {path} already up to date\n")
                continue
            messages.append(
                "The following changes will be made to the file's groups:\n" + "\n".join(changes) + "\n"
            )
            outputs.append((path, out))
        except SopsError as exc:
            status = _fail(exc, path)
    progress.done()
    if status:
        return status
    status = _write_all(list(outputs), len(args.files))
    if not status:
        sys.stderr.write("".join(messages))
        sys.stderr.write("".join(f"File {path} synced with new keys\n" for path, _ in outputs))
    for path in binary_files if not status else []:
        reason = f"{path}: the creation rule names non-age keys"
        status = _fallback("updatekeys", ["-y", path], reason) or status
    return status
