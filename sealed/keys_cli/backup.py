"""``lockstep keys backup -o FILE`` and ``lockstep keys restore FILE``.

A backup is Bitnami's format (a ``v1`` ``List`` of the key Secrets, written 0600, atomically) or, with
``--age-recipient``, the same bytes age-encrypted and armoured, safe to commit. After writing, every saved
key Secret is stamped ``lockstep.dev/backed-up-at`` so ``keys rotate`` can tell that a backup newer than the
newest key exists. Restore reads either form (age identities from ``--age-identity FILE`` or where sops
looks: ``SOPS_AGE_KEY``, ``SOPS_AGE_KEY_FILE``, ``$XDG_CONFIG_HOME/sops/age/keys.txt``) and creates each key
Secret that is missing; a Secret that exists with the same key is left alone, one with a different key is
refused (nothing is overwritten).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from sealed.keys_cli.common import CommandError, key_namespace, kube_client, parser, run

BACKUP_EPILOG = """\
examples:
  lockstep keys backup -o sealing-keys.yaml                       # plain, mode 0600: keep it offline
  lockstep keys backup -o keys.age --age-recipient age1...        # encrypted: safe to keep in Git
"""
RESTORE_EPILOG = """\
examples:
  lockstep keys restore sealing-keys.yaml
  SOPS_AGE_KEY_FILE=~/.config/sops/age/keys.txt lockstep keys restore keys.age
"""


def identity_sources(files: list[str]) -> list[tuple[str, str]]:
    """Age identity texts: ``--age-identity`` files, else the places sops reads them from."""
    from core_sync.age_keys import AgeKeyError, identity_texts

    if not files:
        try:
            return identity_texts()
        except AgeKeyError as error:
            raise CommandError(str(error)) from None
    sources: list[tuple[str, str]] = []
    for path in map(Path, files):
        try:
            sources.append((str(path), path.read_text()))
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from None
    return sources


def backup_command(argv: list[str], prog: str) -> int:
    p = parser(prog, "Write every sealing key Secret to a backup file.", BACKUP_EPILOG)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the backup file (written 0600)")
    p.add_argument("--age-recipient", action="append", default=[], metavar="AGE1...", help="encrypt for it")
    args = p.parse_args(argv)
    return run(lambda: _backup(args))


def _backup(args: argparse.Namespace) -> int:
    import yaml

    from core_sync.files import write_atomic
    from sealed.keybackup import age_encrypt, backup_list
    from sealed.keys import KEY_LABEL
    from sealed.runbook.keysource import BACKUP_ANNOTATION

    client = kube_client(args)
    namespace = key_namespace(args)
    listing = client.get(f"/api/v1/namespaces/{namespace}/secrets", labelSelector=KEY_LABEL)
    secrets = [s for s in listing.get("items") or [] if (s.get("data") or {}).get("tls.key")]
    if not secrets:
        raise CommandError(f"no sealing key Secrets in namespace {namespace}")
    data = yaml.safe_dump(backup_list(secrets), sort_keys=False).encode()
    if args.age_recipient:
        data = age_encrypt(data, args.age_recipient)
    target = Path(args.output)
    if target.is_file():
        target.chmod(0o600)  # an existing file's mode is kept by the write: narrow it first
    write_atomic(target, data, new_file_mode=0o600)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for secret in secrets:
        name = secret["metadata"]["name"]
        client.merge_patch(
            f"/api/v1/namespaces/{namespace}/secrets/{name}",
            {"metadata": {"annotations": {BACKUP_ANNOTATION: stamp}}},
        )
    kind = "age-encrypted " if args.age_recipient else ""
    sys.stderr.write(f"wrote {len(secrets)} key(s) to {kind}backup {args.output}\n")
    return 0


def restore_command(argv: list[str], prog: str) -> int:
    p = parser(prog, "Create the key Secrets of a backup that the cluster lacks.", RESTORE_EPILOG)
    p.add_argument("file", metavar="FILE", help="a backup (plain List of Secrets, or age-encrypted)")
    p.add_argument("--age-identity", action="append", default=[], metavar="FILE", help="age identity file")
    args = p.parse_args(argv)
    return run(lambda: _restore(args))


def _restore(args: argparse.Namespace) -> int:
    from core_sync.kube import ApiError
    from sealed.keybackup import age_decrypt, is_age, read_backup, read_backup_file
    from sealed.keys import ensure_namespace, list_keys

    data = read_backup_file(Path(args.file))
    if is_age(data):
        data = age_decrypt(data, identity_sources(args.age_identity), args.file)
    entries = read_backup(data, args.file)  # every key checked before anything is created
    client = kube_client(args)
    namespace = key_namespace(args)
    ensure_namespace(client, namespace)
    existing = {k.name: k for k in list_keys(client, namespace)}
    created, present = [], []
    for key, secret in entries:
        have = existing.get(key.name)
        if have is not None:
            if have.fingerprint != key.fingerprint:
                raise CommandError(
                    f"Secret {namespace}/{key.name} exists with a different key; not overwritten"
                )
            present.append(key.name)
            continue
        metadata = {
            k: v for k, v in (secret.get("metadata") or {}).items() if k not in ("creationTimestamp",)
        }
        body = {**secret, "metadata": {**metadata, "namespace": namespace}}
        try:
            client.create(f"/api/v1/namespaces/{namespace}/secrets", body)
        except ApiError as error:
            raise CommandError(f"cannot create Secret {namespace}/{key.name}: {error}") from None
        created.append(key.name)
    sys.stderr.write(
        f"restored {len(created)} key(s) to {namespace}"
        + (f"; {len(present)} already present" if present else "")
        + "\n"
    )
    return 0
