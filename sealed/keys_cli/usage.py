"""``lockstep keys usage [--repo DIR...]`` and ``lockstep keys retire NAME``: which secrets need which key.

Cluster: the controller stamps every Secret it unseals with ``lockstep.dev/sealing-key`` (the fingerprints
of the keys that opened it); only Secret *metadata* is listed (``PartialObjectMetadataList``), so no secret
value is ever fetched. SealedSecrets whose Secret lacks the stamp (unsealed by Bitnami's controller, or not
yet) are counted as ``unknown``. Directories: every SealedSecret in ``*.yaml|*.yml|*.json`` is opened by
trial decryption — with ``--keys BACKUP``, else with the cluster's key Secrets (needs read access to them).
``/v1/verify`` is no help here: it says whether a file opens, never with which key.

``retire`` refuses while anything (cluster or directories) needs the key, or while it is the key that seals
new secrets, or while cluster SealedSecrets of unknown key remain (``--allow-unknown`` accepts that risk).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sealed.keys_cli.common import CommandError, confirm, dump, key_namespace, kube_client, parser, run

UNKNOWN = "unknown"
_METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


def cluster_usage(client: Any) -> dict[str, list[str]]:
    """Fingerprint → the ``namespace/name`` of each Secret opened by it; ``unknown`` for SealedSecrets whose
    Secret carries no stamp."""
    import json

    from core_sync.kube import ApiError
    from sealed.reconcile import SEALING_KEY_ANNOTATION

    status, body = client.raw("GET", "/api/v1/secrets", accept=_METADATA_LIST)
    if status != 200:
        raise CommandError(f"cannot list Secrets: {status} {body[:200].decode(errors='replace')}")
    usage: dict[str, list[str]] = {}
    stamped = set()
    for item in json.loads(body).get("items") or []:
        meta = item.get("metadata") or {}
        value = (meta.get("annotations") or {}).get(SEALING_KEY_ANNOTATION)
        if not value:
            continue
        ref = f"{meta.get('namespace')}/{meta.get('name')}"
        stamped.add(ref)
        for fingerprint in value.split(","):
            usage.setdefault(fingerprint.strip(), []).append(ref)
    try:
        sealed = client.get("/apis/bitnami.com/v1alpha1/sealedsecrets").get("items") or []
    except ApiError as error:
        if not error.not_found:
            raise
        sealed = []
    for item in sealed:
        meta = item.get("metadata") or {}
        ref = f"{meta.get('namespace')}/{meta.get('name')}"
        if ref not in stamped:
            usage.setdefault(UNKNOWN, []).append(ref)
    return usage


def _manifests(directory: Path) -> Iterator[Path]:
    if directory.is_file():
        yield directory
        return
    if not directory.is_dir():
        raise CommandError(f"{directory}: no such directory")
    from sealed.runbook.plan import MAX_FILE_BYTES, not_rewritable

    for path in sorted(directory.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(directory).parts)
        if hidden or path.suffix not in (".yaml", ".yml", ".json"):
            continue
        # the files the runbook would rotate: no symlinks (one leaving the tree is never followed), no
        # FIFOs, nothing over the runbook's size limit
        if not_rewritable(path, directory) is None and path.stat().st_size <= MAX_FILE_BYTES:
            yield path


def directory_usage(directories: list[str], keys: list[Any]) -> dict[str, list[str]]:
    """Fingerprint → ``file: namespace/name`` of each SealedSecret in the directories it opens."""
    from sealed.format.convert import decode_base64, sealed_parts
    from sealed.format.errors import FormatError
    from sealed.format.scopes import label_for
    from sealed.runbook.reseal import LocalCipher, sealed_documents

    if not keys:
        raise CommandError("no keys to try: pass --keys BACKUP or give access to the cluster's key Secrets")
    opener = LocalCipher(keys, keys[0])
    usage: dict[str, list[str]] = {}
    for directory in directories:
        for path in _manifests(Path(directory)):
            data = path.read_bytes()
            if b"SealedSecret" not in data:
                continue
            try:
                documents = sealed_documents(data)
            except FormatError:
                continue  # not a manifest (a template, say): nothing a key could open
            for document in documents:
                try:
                    metadata, _, encrypted, legacy = sealed_parts(document)
                except FormatError as error:
                    raise error.at(str(path)) from None
                ref = f"{path}: {metadata.get('namespace') or ''}/{metadata['name']}"
                label = label_for(metadata)
                found = set()
                for text in [*encrypted.values(), *([legacy] if legacy else [])]:
                    try:
                        found.add(opener.open(decode_base64(text, "value"), label)[1])
                    except FormatError:
                        found.add(UNKNOWN)
                for fingerprint in sorted(found):
                    usage.setdefault(fingerprint, []).append(ref)
    return usage


def _keys_for(args: argparse.Namespace, client: Any | None) -> tuple[list[Any], list[Any]]:
    """(KeySecret records to name rows by, private keys to try)."""
    if args.keys:
        from sealed.keys_cli.backup import identity_sources
        from sealed.runbook.keysource import load_backup_keys

        backup = load_backup_keys(Path(args.keys), lambda: identity_sources(args.age_identity))
        return backup.keys, [k.key for k in backup.keys if k.key is not None]
    from sealed.keys import list_keys

    assert client is not None
    records = list_keys(client, key_namespace(args))
    return records, [k.key for k in records if k.key is not None]


def _usage_parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = parser(prog, description)
    p.add_argument(
        "--repo", action="append", default=[], metavar="DIR", help="a directory to search (repeatable)"
    )
    p.add_argument("--keys", metavar="BACKUP", help="open the directories' files with this backup's keys")
    p.add_argument(
        "--age-identity", action="append", default=[], metavar="FILE", help="age identity for --keys"
    )
    p.add_argument(
        "--offline", action="store_true", help="do not ask the cluster (directories only; needs --keys)"
    )
    return p


def _collect(args: argparse.Namespace) -> tuple[list[Any], dict[str, list[str]], dict[str, list[str]]]:
    if args.offline and not args.keys:
        raise CommandError("--offline needs --keys BACKUP")
    client = None if args.offline else kube_client(args)
    records, private = _keys_for(args, client)
    cluster = cluster_usage(client) if client is not None else {}
    directories = directory_usage(args.repo, private) if args.repo else {}
    return records, cluster, directories


def usage_command(argv: list[str], prog: str) -> int:
    p = _usage_parser(prog, "Per key: how many SealedSecrets in the cluster and in the directories it opens.")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    args = p.parse_args(argv)
    return run(lambda: _usage(args))


def _usage(args: argparse.Namespace) -> int:
    records, cluster, directories = _collect(args)
    rows = []
    known = {k.fingerprint for k in records}
    for key in records:
        rows.append(_row(key.name, key.state, key.fingerprint, cluster, directories))
    for fingerprint in sorted((set(cluster) | set(directories)) - known):
        rows.append(_row("", "", fingerprint, cluster, directories))
    if args.output == "json":
        sys.stdout.write(dump({"keys": rows}))
        return 0
    sys.stdout.write(f"{'NAME':28}  {'STATE':11}  {'FINGERPRINT':51}  CLUSTER  REPOS\n")
    for r in rows:
        sys.stdout.write(
            f"{r['name'] or '-':28}  {r['state'] or '-':11}  {r['fingerprint']:51}  "
            f"{r['cluster']:7}  {r['repos']}\n"
        )
    return 0


def _row(
    name: str, state: str, fingerprint: str, cluster: dict[str, list[str]], dirs: dict[str, list[str]]
) -> dict[str, Any]:
    return {
        "name": name,
        "state": state,
        "fingerprint": fingerprint,
        "cluster": len(cluster.get(fingerprint, [])),
        "repos": len(dirs.get(fingerprint, [])),
        "cluster_secrets": sorted(cluster.get(fingerprint, [])),
        "repo_sealed_secrets": sorted(dirs.get(fingerprint, [])),
    }


def retire_command(argv: list[str], prog: str) -> int:
    p = _usage_parser(prog, "Delete (or relabel) a sealing key that nothing needs any more.")
    p.add_argument("name", help="the key Secret's name")
    p.add_argument("--relabel", metavar="STATE", help="relabel the key (e.g. retired) instead of deleting it")
    p.add_argument("--allow-unknown", action="store_true", help="accept SealedSecrets whose key is unknown")
    p.add_argument("--yes", action="store_true", help="do not ask")
    args = p.parse_args(argv)
    return run(lambda: _retire(args))


def _retire(args: argparse.Namespace) -> int:
    from sealed.keys import KeySecret, list_keys, newest_active, set_key_state

    if args.offline:
        raise CommandError("retire changes the cluster: --offline cannot do that")
    records, cluster, directories = _collect(args)
    in_cluster: list[KeySecret] = list_keys(kube_client(args), key_namespace(args)) if args.keys else records
    by_name = {k.name: k for k in in_cluster}
    key = by_name.get(args.name)
    if key is None:
        raise CommandError(f"no sealing key Secret {key_namespace(args)}/{args.name}")
    reasons = []
    if newest_active(list(by_name.values())) is key:
        reasons.append("it is the key that seals new secrets (rotate first)")
    for where, found in (("cluster", cluster), ("directories", directories)):
        users = found.get(key.fingerprint, [])
        if users:
            reasons.append(
                f"{len(users)} SealedSecret(s) in the {where} still need it: {', '.join(users[:5])}"
            )
    unknown = cluster.get(UNKNOWN, []) + directories.get(UNKNOWN, [])
    if unknown and not args.allow_unknown:
        reasons.append(
            f"{len(unknown)} SealedSecret(s) of unknown key: {', '.join(unknown[:5])} (--allow-unknown)"
        )
    if reasons:
        raise CommandError(f"refusing to retire {args.name}: " + "; ".join(reasons))
    client = kube_client(args)
    namespace = key_namespace(args)
    verb = (
        f"relabel {args.name} {args.relabel}"
        if args.relabel
        else f"delete key Secret {namespace}/{args.name}"
    )
    confirm(f"{verb}?", args.yes)
    if args.relabel:
        set_key_state(client, args.name, args.relabel, namespace)
    else:
        client.delete(f"/api/v1/namespaces/{namespace}/secrets/{args.name}")
    sys.stderr.write(f"retired {args.name}\n")
    return 0
