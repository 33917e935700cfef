"""The one console script, ``lockstep``.

Why a table of dotted paths instead of argparse subparsers for everything: building every subcommand's
parser means importing every package, and ``lockstep seal`` / ``lockstep sops decrypt`` must start in a few
milliseconds over the bare interpreter. The top level only routes ``argv`` to the module that owns the
command and imports that module alone; each module builds its own parser and its own ``--help``.
"""

from __future__ import annotations

import sys
from importlib import import_module

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from collections.abc import Sequence

NOT_IMPLEMENTED_EXIT = 2


class Command:
    """A node of the subcommand tree: a leaf has a ``target`` ("module:function"), a group has children.

    A plain slotted class: a dataclass or NamedTuple would import ``dataclasses``/``typing`` (2-7 ms) on
    every command's start-up, and ``lockstep sops decrypt`` is measured against the bare interpreter.
    ``one_shot``: a command whose process ends when it returns and that is timed against the bare
    interpreter; run as the process (not in-process), its cyclic garbage collector is off (see
    :func:`_collector_off_until_exit`).
    """

    __slots__ = ("children", "name", "one_shot", "summary", "target")

    def __init__(
        self,
        name: str,
        summary: str,
        target: str | None = None,
        children: tuple[Command, ...] = (),
        *,
        one_shot: bool = False,
    ):
        self.name = name
        self.summary = summary
        self.target = target
        self.children = children
        self.one_shot = one_shot


TREE = Command(
    "lockstep",
    "Secrets-first GitOps: sync Git to Kubernetes with SealedSecrets, SOPS and External Secrets built in.",
    children=(
        Command(
            "seal", "Seal a Secret into a SealedSecret (kubeseal's flags and output).", "sealed.cli:main"
        ),
        Command(
            "keys",
            "Manage the sealing keys: list, cert, usage, rotate (the runbook), retire, backup, restore, "
            "compromised.",
            children=(
                Command(
                    "list",
                    "List the sealing key pairs in the controller namespace.",
                    "sealed.keys_cli:list_keys",
                ),
                Command("cert", "Print the active sealing certificate.", "sealed.keys_cli:cert"),
                Command(
                    "usage",
                    "Per key: how many SealedSecrets in the cluster and in directories it opens.",
                    "sealed.keys_cli:key_usage",
                ),
                Command(
                    "rotate",
                    "Rotate keys and re-encrypt SealedSecrets and SOPS files in repos.",
                    "sealed.keys_cli:rotate_keys",
                ),
                Command("backup", "Write every sealing key pair to a file.", "sealed.keys_cli:backup_keys"),
                Command(
                    "restore", "Restore sealing key pairs from a backup file.", "sealed.keys_cli:restore"
                ),
                Command(
                    "retire",
                    "Delete a sealing key; refuses while anything still needs it.",
                    "sealed.keys_cli:retire",
                ),
                Command(
                    "compromised",
                    "Retire a compromised key and re-seal what it protected.",
                    "sealed.keys_cli:compromised",
                ),
            ),
        ),
        Command(
            "sops",
            "SOPS files (age), byte-compatible with sops; sops' own flags work too (lockstep sops -d FILE).",
            # sops' flag style (`-d FILE`, `--set`, global flags before a command) goes to this target.
            "sops_plugin.sops_compat:main",
            children=(
                Command(
                    "decrypt", "Decrypt a SOPS file to stdout.", "sops_plugin.cli:decrypt", one_shot=True
                ),
                Command(
                    "encrypt",
                    "Encrypt a file following .sops.yaml creation rules.",
                    "sops_plugin.cli_encrypt:encrypt",
                ),
                Command("rotate", "Re-encrypt files with a new data key.", "sops_plugin.cli_keys:rotate"),
                Command(
                    "updatekeys",
                    "Re-wrap the data key for the recipients .sops.yaml now names.",
                    "sops_plugin.cli_keys:updatekeys",
                ),
                Command(
                    "edit",
                    "Edit a SOPS file in $EDITOR; only changed values are re-encrypted.",
                    "sops_plugin.edit:main",
                ),
                Command(
                    "git-setup",
                    "Configure git to diff SOPS files by (masked) value and merge them key by key.",
                    "sops_plugin.gitsetup:main",
                ),
                Command(
                    "git-textconv",
                    "git diff driver: a SOPS file as text, values masked (used by git-setup).",
                    "sops_plugin.gittextconv:main",
                ),
                Command(
                    "git-merge",
                    "git merge driver: three-way merge of SOPS files key by key (used by git-setup).",
                    "sops_plugin.gitmerge:main",
                ),
                Command(
                    "filestatus",
                    'Print {"encrypted":true|false} for a file.',
                    "sops_plugin.cli_tree:filestatus",
                ),
                Command(
                    "set",
                    "Set one key of an encrypted file to a JSON value.",
                    "sops_plugin.cli_tree:set_value",
                ),
                Command("unset", "Remove one key of an encrypted file.", "sops_plugin.cli_tree:unset_value"),
                Command(
                    "exec-env",
                    "Run a command with the decrypted values in its environment.",
                    "sops_plugin.cli_exec:exec_env",
                ),
                Command(
                    "exec-file",
                    "Run a command with the plaintext in a FIFO ({} in the command).",
                    "sops_plugin.cli_exec:exec_file",
                ),
            ),
        ),
        Command(
            "render",
            "Build a directory and run every render stage; YAML stream on stdout.",
            "core_sync.commands.render:main",
        ),
        Command(
            "diff",
            "Diff the rendered desired state against the live cluster (exit 0/1/2).",
            "core_sync.commands.diff:main",
        ),
        Command(
            "sync",
            "Run the sync engine without an Application object (once or in a loop).",
            "core_sync.commands.sync:main",
        ),
        Command(
            "rollback",
            "Sync a previous revision of an Application and suspend automatic sync until resumed.",
            "core_sync.commands.rollback:rollback",
        ),
        Command(
            "suspend",
            "Suspend an Application: no sync, no drift correction until resumed.",
            "core_sync.commands.rollback:suspend",
        ),
        Command(
            "resume",
            "Resume automatic sync of an Application (drops a rollback pin and suspend).",
            "core_sync.commands.rollback:resume",
        ),
        Command(
            "import",
            "Convert Argo CD and Flux manifests into Lockstep objects (what has no equivalent: stderr).",
            "core_sync.commands.import_:main",
        ),
        Command(
            "appset",
            "ApplicationSets: preview what a set would create, update or delete.",
            children=(
                Command(
                    "preview",
                    "Expand an ApplicationSet and print what would change.",
                    "core_sync.commands.appset:preview",
                ),
            ),
        ),
        Command(
            "argocd",
            "The Argo CD config management plugin's commands (deploy/argocd/plugin.yaml).",
            children=(
                Command(
                    "discover",
                    "Print the app directory's SOPS files, SealedSecrets, ExternalSecrets (none: nothing).",
                    "integrations.argocd.cli:discover",
                ),
                Command(
                    "generate",
                    "Render the app directory for Argo CD, SOPS Secrets re-sealed (stdout: objects only).",
                    "integrations.argocd.cli:generate",
                ),
            ),
        ),
        Command(
            "operator",
            "Run every controller (Application, SealedSecret, ExternalSecret, keys).",
            "core_sync.operator:main",
        ),
        Command(
            "dev",
            "The embedded local environment: control plane, OpenBao and moto on loopback.",
            children=(
                Command("up", "Start the local control plane, OpenBao and moto.", "core_sync.dev.cli:up"),
                Command("down", "Stop what `lockstep dev up` started.", "core_sync.dev.cli:down"),
                Command("env", "Print the environment to use the local services.", "core_sync.dev.cli:env"),
            ),
        ),
        Command(
            "demo",
            "Create a demo repo from examples/ and sync it until Synced and Healthy.",
            "core_sync.dev.demo.cli:main",
        ),
    ),
)

EXAMPLES = """examples:
  lockstep seal --cert cert.pem < secret.yaml > sealed.json
  lockstep sops decrypt secrets.enc.yaml
  lockstep render ./deploy/overlays/prod
  lockstep sync --repo https://git.example/app.git --ref main --path deploy --namespace app --once
"""


def _usage(node: Command, path: Sequence[str]) -> str:
    prog = " ".join(path)
    lines = [f"usage: {prog} <command> [options]", "", node.summary, "", "commands:"]
    width = max(len(child.name) for child in node.children)
    for child in node.children:
        lines.append(f"  {child.name.ljust(width)}  {child.summary}")
    lines += ["", f"Run '{prog} <command> --help' for a command's options."]
    if len(path) == 1:
        lines += ["", EXAMPLES.rstrip()]
    return "\n".join(lines) + "\n"


def _run_target(target: str, argv: list[str], prog: str) -> int:
    module_name, _, function_name = target.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as missing:
        if missing.name is None or not module_name.startswith(missing.name):
            raise
        return _not_implemented(prog, argv)
    function = getattr(module, function_name, None)
    if function is None:
        return _not_implemented(prog, argv)
    result = function(argv, prog=prog)
    return int(result or 0)


def _collector_off_until_exit() -> None:
    """Python's cyclic garbage collector off for the rest of the process, and what is alive at exit frozen
    (``gc.freeze`` at ``atexit``) so the interpreter's final collection skips it.

    Why: a one-shot command's process ends when it returns, and the memory goes back with it. While it
    runs, the collector would walk the objects of the modules it imports again and again looking for
    cycles (~4 M instructions for ``lockstep sops decrypt``), and at exit walk every live object once more
    (~10 M): together more than the command's own work. Reference counting still frees everything that is
    not in a cycle, and the inputs are bounded by ``gocompat.limits``. Only when the command is the process
    (the console script); an in-process caller keeps its collector as it was.
    """
    import atexit
    import gc

    gc.disable()
    atexit.register(gc.freeze)


def dispatch(argv: Sequence[str], *, own_process: bool = False) -> int:
    """Walk the tree along ``argv`` and run the leaf it names; print usage for groups. ``own_process``: the
    command is this process's only job (the console script), so a one-shot leaf may tune the interpreter
    for a short life."""
    node, path, rest = TREE, ["lockstep"], list(argv)
    while node.children:
        if not rest or rest[0] in ("-h", "--help"):
            sys.stdout.write(_usage(node, path))
            return 0 if rest else NOT_IMPLEMENTED_EXIT
        if rest[0] == "--version" and len(path) == 1:
            from core_sync import __version__

            print(f"lockstep {__version__}")
            return 0
        child = next((c for c in node.children if c.name == rest[0]), None)
        if child is None and node.target is not None:
            break  # a group that also takes its tool's own flag style (`lockstep sops -d FILE`)
        if child is None:
            sys.stderr.write(f"{' '.join(path)}: unknown command {rest[0]!r}\n\n{_usage(node, path)}")
            return NOT_IMPLEMENTED_EXIT
        node, path, rest = child, [*path, child.name], rest[1:]
    prog = " ".join(path)
    if node.target is None:
        return _not_implemented(prog, rest)
    if node.one_shot and own_process:
        _collector_off_until_exit()
    return _run_target(node.target, rest, prog)


def _not_implemented(prog: str, argv: Sequence[str]) -> int:
    """A command of the contract whose module does not exist yet: say so, never fake output."""
    if argv and argv[0] in ("-h", "--help"):
        print(f"usage: {prog} ...\n\n(not implemented yet)")
        return 0
    sys.stderr.write(f"{prog}: not implemented yet\n")
    return NOT_IMPLEMENTED_EXIT


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point; ``argv`` given (tests): run in-process, the interpreter left as it is."""
    try:
        if argv is None:
            return dispatch(sys.argv[1:], own_process=True)
        return dispatch(argv)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
