"""``lockstep keys rotate`` and ``lockstep keys compromised``: flags, the question, and the report.

The steps themselves are in :mod:`sealed.runbook.steps`; this module only turns flags into a key source
(the cluster through the controller, or ``--offline --keys BACKUP``) and run options, and prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sealed.runbook.keysource import BackupKeys, ClusterKeys
    from sealed.runbook.report import Report
    from sealed.runbook.steps import RunOptions

from sealed.keys_cli.common import CommandError, confirm, controller, key_namespace, kube_client, parser, run

ROTATE_EPILOG = """\
examples:
  lockstep keys rotate --repo ./gitops --dry-run            # the plan; nothing changes
  lockstep keys rotate --repo ./gitops --repo ./infra --commit rotate-keys-2026-12
  lockstep keys rotate --repo ./gitops --offline --keys backup.yaml --yes -o json

Steps: 1 preflight (controller reachable, a backup newer than the newest key, clean working trees);
2 a new active key (or --use-current), served by /v1/cert.pem; 3 re-encrypt every SealedSecret in place
(/v1/rotate, or locally with --offline --keys BACKUP) and rotate SOPS files' data keys to the recipients
.sops.yaml names; 4 verify every file; 5 --commit BRANCH. The journal in <git dir>/lockstep-rotate.jsonl
makes every step resumable: after an interruption, run the same command again.
"""


def _rotate_parser(prog: str, description: str, epilog: str) -> argparse.ArgumentParser:
    p = parser(prog, description, epilog)
    p.add_argument(
        "--repo", action="append", default=[], metavar="DIR", help="a Git working tree (repeatable)"
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    p.add_argument("--yes", action="store_true", help="do not ask before changing anything")
    p.add_argument("--offline", action="store_true", help="re-encrypt locally with the keys of --keys BACKUP")
    p.add_argument("--keys", metavar="BACKUP", help="key backup (plain or age-encrypted) for --offline")
    p.add_argument(
        "--age-identity", action="append", default=[], metavar="FILE", help="age identity for --keys"
    )
    p.add_argument(
        "--no-backup-check", action="store_true", help="skip the 'backup newer than newest key' check"
    )
    p.add_argument("--commit", metavar="BRANCH", help="commit the changed files to a new branch")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text", help="report format")
    return p


def _source(args: argparse.Namespace) -> BackupKeys | ClusterKeys:
    from sealed.runbook.keysource import ClusterKeys, load_backup_keys

    if args.offline:
        if not args.keys:
            raise CommandError("--offline needs --keys BACKUP")
        from sealed.keys_cli.backup import identity_sources

        return load_backup_keys(Path(args.keys), lambda: identity_sources(args.age_identity))
    if args.keys:
        raise CommandError("--keys is only used with --offline")
    return ClusterKeys(kube_client(args), controller(args), key_namespace(args))


def _run_options(args: argparse.Namespace, use_current: bool, require_repo: bool = True) -> RunOptions:
    from sealed.runbook.steps import RunOptions

    if require_repo and not args.repo:
        raise CommandError("name at least one --repo DIR")
    return RunOptions(
        repos=[Path(r) for r in args.repo],
        dry_run=args.dry_run,
        use_current=use_current,
        check_backup=not args.no_backup_check,
        commit=args.commit,
        progress=True,
    )


def _emit(report: Report, output: str) -> int:
    sys.stdout.write(report.to_json() if output == "json" else report.to_text())
    return 0 if report.ok else 1


def rotate_command(argv: list[str], prog: str) -> int:
    p = _rotate_parser(prog, "The key rotation runbook over Git working trees.", ROTATE_EPILOG)
    p.add_argument(
        "--use-current", action="store_true", help="re-encrypt to the current key; make no new key"
    )
    args = p.parse_args(argv)
    return run(lambda: _rotate(args))


def _rotate(args: argparse.Namespace) -> int:
    from sealed.runbook.steps import Runbook, RunbookError

    runbook = Runbook(_source(args), _run_options(args, args.use_current))
    try:
        plans, journals, resume = runbook.plan()
    except RunbookError as error:
        raise CommandError("preflight failed:\n  " + "\n  ".join(error.problems)) from None
    if args.dry_run:
        runbook.describe_plan(resume)
        return _emit(runbook.report, args.output)
    files = len(runbook.report.files)
    what = "re-encrypt" if args.use_current or resume or args.offline else "create a new key and re-encrypt"
    confirm(f"{what} {files} file(s) in {len(plans)} repo(s) ({runbook.source.describe()})?", args.yes)
    return _emit(runbook.execute(plans, journals, resume), args.output)


COMPROMISED_EPILOG = """\
example:
  lockstep keys compromised sealed-secrets-key7xk2p --repo ./gitops --yes

Cutoff now: a new active key, every SealedSecret re-encrypted to it, the old key relabelled `compromised`
(the controller stops using it), and the list of Secrets whose values must now be changed at their source:
anyone holding the old key and an old copy of the files can read them, and re-encryption does not change
that.
"""


def compromised_command(argv: list[str], prog: str) -> int:
    p = _rotate_parser(
        prog, "A compromised key: rotate now, retire it, list what to change.", COMPROMISED_EPILOG
    )
    p.add_argument("name", help="the key Secret's name")
    args = p.parse_args(argv)
    return run(lambda: _compromised(args))


def _compromised(args: argparse.Namespace) -> int:
    from sealed.keys import COMPROMISED, list_keys, set_key_state
    from sealed.keys_cli.usage import cluster_usage
    from sealed.runbook.steps import Runbook, RunbookError

    if args.offline:
        raise CommandError("a compromised key is relabelled in the cluster: --offline cannot do that")
    client = kube_client(args)
    namespace = key_namespace(args)
    keys = {k.name: k for k in list_keys(client, namespace)}
    if args.name not in keys:
        raise CommandError(f"no sealing key Secret {namespace}/{args.name}")
    bad = keys[args.name]
    exposed = sorted(cluster_usage(client).get(bad.fingerprint, []))
    runbook = Runbook(_source(args), _run_options(args, use_current=False, require_repo=False))
    runbook.options.check_backup = False  # the old key must go now, backup or not
    try:
        plans, journals, resume = runbook.plan()
    except RunbookError as error:
        raise CommandError("preflight failed:\n  " + "\n  ".join(error.problems)) from None
    runbook.report.compromised = {
        "key": bad.name,
        "fingerprint": bad.fingerprint,
        "change_at_source": exposed,
    }
    if args.dry_run:
        runbook.describe_plan(resume)
        return _emit(runbook.report, args.output)
    confirm(
        f"mark {bad.name} compromised, create a new key and re-encrypt {len(runbook.report.files)} file(s)?",
        args.yes,
    )
    report = runbook.execute(plans, journals, resume)
    if report.ok:
        set_key_state(client, bad.name, COMPROMISED, namespace)
        report.notes.append(f"{bad.name} is now labelled {COMPROMISED}; the controller no longer uses it")
    report.notes += [f"change at its source: Secret {ref}" for ref in exposed]
    return _emit(report, args.output)
