"""``lockstep sops exec-env | exec-file``: run a command with the decrypted file, as sops 3.13 does.

The plaintext never enters this process's own environment and never lands in a regular file by default:
``exec-env`` hands it to the child's environment only; ``exec-file`` writes it into a FIFO (a pipe with a
name) that the child reads once. ``--no-fifo`` writes a 0600 file instead. Either lives in the private
scratch directory ``lockstep sops edit`` uses (``scratch.py``: 0700, RAM-backed where possible), zeroed and
removed on every exit path: the command's end, an error, Ctrl-C, SIGTERM or SIGHUP (the last two passed on
to the command first). The child's exit status is ours (255 if a signal killed it, as in sops).
"""

from __future__ import annotations

import argparse
import os
import sys

from sops_plugin.cli import FORMATS, _parser, _read, _sops_only_flags, check_decryption_order, open_file
from sops_plugin.cli import _fail as fail

TYPE_CHECKING = False  # typing is not imported at run time (start-up speed)
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterator

    from sops_plugin.format.document import SopsDocument

EXAMPLES = {
    "exec-env": "example:\n  lockstep sops exec-env secrets.enc.env 'psql \"$DATABASE_URL\"'\n",
    "exec-file": (
        "examples:\n  lockstep sops exec-file secrets.enc.json 'app --config {}'\n"
        "  lockstep sops exec-file --no-fifo --filename app.ini secrets.enc.ini 'app -c {}'\n"
    ),
}
FALLBACK_FILENAME = "tmp-file"


def _exec_parser(prog: str, command: str, description: str) -> argparse.ArgumentParser:
    p = _parser(prog, command, description, EXAMPLES)
    p.add_argument("rest", nargs="*", metavar="FILE COMMAND", help="the encrypted file and a shell command")
    p.add_argument("--background", action="store_true", help="do not wait for the command (deprecated)")
    p.add_argument("--user", help="run the command as this user (needs root)")
    p.add_argument("--input-type", choices=FORMATS, help="input format (default: from the file extension)")
    p.add_argument("--ignore-mac", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--config", help=argparse.SUPPRESS)
    _sops_only_flags(p)
    return p


def _decrypted(args: argparse.Namespace, command: str, argv: list[str]) -> SopsDocument | int:
    from sops_plugin.errors import GENERIC, SopsError
    from sops_plugin.format.document import format_for

    if len(args.rest) != 2:
        raise SopsError("error: missing file to decrypt", GENERIC)
    check_decryption_order(args.decryption_order)
    path = args.rest[0]
    fmt = format_for(path, args.input_type)
    return open_file(_read(path), fmt, command, argv, path, ignore_mac=args.ignore_mac)


def _user(name: str | None) -> tuple[dict[str, str], dict[str, object]]:
    """(environment additions, Popen arguments) that run the command as ``name``."""
    if not name:
        return {}, {}
    import pwd

    from sops_plugin.errors import SopsError

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise SopsError(f"user: unknown user {name}") from None
    env = {"HOME": entry.pw_dir, "USER": entry.pw_name, "LOGNAME": entry.pw_name}
    groups = os.getgrouplist(entry.pw_name, entry.pw_gid)
    return env, {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": groups}


def _start(command: str, env: dict[str, str], popen: dict[str, object]) -> subprocess.Popen[bytes]:
    import subprocess

    from sops_plugin.errors import SopsError

    try:
        return subprocess.Popen(["/bin/sh", "-c", command], env=env, **popen)  # type: ignore[call-overload,no-any-return]
    except (OSError, subprocess.SubprocessError) as exc:
        raise SopsError(f"could not start the command: {exc}") from None


def _wait(child: subprocess.Popen[bytes]) -> int:
    """The command's status, passing SIGTERM/SIGHUP on to it; Ctrl-C reaches it from the terminal."""
    code = child.wait()
    return 255 if code < 0 else code


def _guarded(run: Callable[[], int], on_signal: Callable[[int], None]) -> int:
    """Run with SIGINT/SIGTERM/SIGHUP raised as exceptions (``scratch.signals_raise``: ``finally`` blocks
    clean up); SIGTERM/SIGHUP are passed on to the command (Ctrl-C reaches it from the terminal). The status
    is then 128 + the signal."""
    import signal

    from sops_plugin.scratch import Interrupted, signals_raise

    try:
        with signals_raise():
            return run()
    except Interrupted as exc:
        if exc.signum != signal.SIGINT:
            on_signal(exc.signum)
        return 128 + exc.signum


def exec_env(argv: list[str], prog: str) -> int:
    p = _exec_parser(prog, "exec-env", "Run COMMAND with the file's top-level values in its environment.")
    p.add_argument(
        "--pristine", action="store_true", help="pass only the decrypted values, no other variables"
    )
    p.add_argument("--same-process", action="store_true", help="replace this process with the command")
    args = p.parse_intermixed_args(argv)
    from sops_plugin.errors import CONFLICTING_PARAMETERS, SopsError

    where = args.rest[0] if args.rest else ""
    try:
        if args.background:
            sys.stderr.write("exec-env's --background option is deprecated (as in sops)\n")
            if args.same_process:
                raise SopsError(
                    "Error: The --same-process flag cannot be used with --background", CONFLICTING_PARAMETERS
                )
        doc = _decrypted(args, "exec-env", argv)
        if isinstance(doc, int):
            return doc
        values = dict(_environment(doc))
        user_env, popen = _user(args.user)
        env = {} if args.pristine else dict(os.environ)
        env.update(user_env)
        env.update(values)
        if args.same_process:
            if popen:
                _become(popen)
            os.execve("/bin/sh", ["/bin/sh", "-c", args.rest[1]], env)  # noqa: S606 (sops runs sh -c)
        child = _start(args.rest[1], env, popen)
        del env, values
        if args.background:
            return 0
        return _guarded(lambda: _wait(child), child.send_signal)
    except SopsError as exc:
        return fail(exc, where)
    except OSError as exc:
        return fail(SopsError(f"could not run the command: {exc.strerror}"), where)


def _become(popen: dict[str, object]) -> None:
    """``--same-process --user``: drop to the user before exec (groups, then gid, then uid)."""
    groups = popen["extra_groups"]
    assert isinstance(groups, list)
    os.setgroups(groups)
    os.setgid(int(str(popen["group"])))
    os.setuid(int(str(popen["user"])))


def _environment(doc: SopsDocument) -> Iterator[tuple[str, str]]:
    """``KEY=value`` pairs of the first document's top level (sops' rules: no nested values, no '=')."""
    from gocompat.yaml.v3.tree import Comment
    from sops_plugin.errors import SopsError
    from sops_plugin.format.flat import value_text

    for key, value in doc.branches[0]:
        if isinstance(value, list):  # a Branch is a list too
            raise SopsError(f"cannot use complex value in environment; offending key {key}")
        if isinstance(key, Comment):
            continue
        if "=" in key:
            raise SopsError(f"cannot use keys with '=' in environment: {key}")
        if "\0" in key or (isinstance(value, str) and "\0" in value):
            raise SopsError(f"cannot put a NUL byte into the environment: key {key}")
        yield key, value if isinstance(value, str) else value_text(value)


def exec_file(argv: list[str], prog: str) -> int:
    p = _exec_parser(prog, "exec-file", "Run COMMAND, {} replaced by a FIFO (or file) with the plaintext.")
    p.add_argument("--no-fifo", action="store_true", help="a 0600 temporary file instead of a FIFO")
    p.add_argument("--output-type", choices=FORMATS, help="format of the plaintext (default: the extension)")
    p.add_argument(
        "--filename", help=f"name of the FIFO/file in its private directory (default: {FALLBACK_FILENAME})"
    )
    args = p.parse_intermixed_args(argv)
    from sops_plugin.errors import SopsError

    where = args.rest[0] if args.rest else ""
    try:
        doc = _decrypted(args, "exec-file", argv)
        if isinstance(doc, int):
            return doc
        from sops_plugin.cli import output_format, resolve_indent
        from sops_plugin.format.document import emit_plain

        out_fmt = output_format(where, args.output_type, doc.fmt)
        args.indent = None
        plaintext = emit_plain(doc.branches, out_fmt, resolve_indent(args, out_fmt))
        del doc
        _check_local(args.filename)
        user_env, popen = _user(args.user)
        if args.background:
            sys.stderr.write("exec-file's --background option is deprecated (as in sops)\n")
            if os.fork():
                return 0  # the forked copy runs the command and removes the directory afterwards
            os.setsid()
            os._exit(_run_with_file(args, plaintext, user_env, popen))
        return _run_with_file(args, plaintext, user_env, popen)
    except SopsError as exc:
        return fail(exc, where)


def _check_local(filename: str | None) -> None:
    from sops_plugin.errors import SopsError

    if filename is None:
        return
    parts = filename.replace("\\", "/").split("/")
    if not filename or filename.startswith("/") or ".." in parts or "\0" in filename:
        raise SopsError("The provided filename is not a local path.")


def _run_with_file(
    args: argparse.Namespace, plaintext: bytes, user_env: dict[str, str], popen: dict[str, object]
) -> int:
    """The plaintext in the edit command's private scratch directory (0700, RAM-backed where possible,
    zeroed and removed on every exit path): a FIFO, or with ``--no-fifo`` a 0600 file."""
    from sops_plugin.errors import SopsError
    from sops_plugin.scratch import Scratch, ScratchError, signals_deferred

    children: list[subprocess.Popen[bytes]] = []
    cleanups: list[Callable[[], None]] = []

    def forward(signum: int) -> None:
        for child in children:
            child.send_signal(signum)

    def run() -> int:
        with Scratch(args.filename or FALLBACK_FILENAME) as scratch:
            try:
                owner = (int(str(popen["user"])), int(str(popen["group"]))) if popen else None
                path = scratch.path
                if owner:
                    os.chown(path.parent, *owner)
                if args.no_fifo:
                    scratch.write(plaintext)
                else:
                    os.mkfifo(path, 0o600)
                    cleanups.append(_FifoWriter(str(path), plaintext).release)
                if owner:
                    os.chown(path, *owner)
                env = dict(os.environ)
                env.update(user_env)
                with signals_deferred():  # a SIGTERM now reaches the child once it is recorded
                    children.append(_start(args.rest[1].replace("{}", str(path)), env, popen))
                return _wait(children[0])
            finally:
                for cleanup in cleanups:
                    cleanup()

    try:
        return _guarded(run, forward)
    except (OSError, ScratchError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        return fail(SopsError(f"could not prepare the plaintext file: {reason}"), args.rest[0])


class _FifoWriter:
    """Writes the plaintext into the FIFO once a reader opens it (a thread: opening blocks until then)."""

    def __init__(self, path: str, plaintext: bytes) -> None:
        import threading

        self.path = path
        self.plaintext = plaintext
        self.thread = threading.Thread(target=self._write, name="sops-fifo", daemon=True)
        self.thread.start()

    def _write(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY)
        except OSError:
            return
        try:
            view = memoryview(self.plaintext)
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            pass  # the reader went away early (EPIPE): nothing to do
        finally:
            os.close(fd)

    def release(self) -> None:
        """Unblock a writer still waiting for a reader (the command never opened the FIFO) and wait for it."""
        if self.thread.is_alive():
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                fd = -1
            self.thread.join(timeout=2)
            if fd >= 0:
                os.close(fd)
        self.thread.join(timeout=2)
        self.plaintext = b""
