"""``lockstep operator`` flags of the SealedSecret controller, named as Bitnami's controller names them.

Each flag can also come from ``SEALED_SECRETS_<FLAG>`` (upper case, ``-`` → ``_``), as Bitnami reads them;
a flag on the command line wins. Durations are Go's (``720h``, ``30m``, ``0`` disables).
"""

from __future__ import annotations

import os
from typing import Any

from sealed.key_order import CERT_NOT_BEFORE, KEY_ORDERS


def _env(flag: str, default: str) -> str:
    return os.environ.get("SEALED_SECRETS_" + flag.upper().replace("-", "_"), default)


def add_arguments(group: Any) -> None:
    """Add the sealed flags to an argparse group (entry point ``lockstep.operator_options``)."""
    add = group.add_argument
    add(
        "--key-namespace",
        default=os.environ.get("LOCKSTEP_KEY_NAMESPACE", _env("key-namespace", "lockstep-system")),
        help="namespace of the sealing key Secrets (default lockstep-system)",
    )
    add(
        "--key-prefix",
        default=_env("key-prefix", "sealed-secrets-key"),
        help="generateName of new key Secrets",
    )
    add("--key-size", type=int, default=int(_env("key-size", "4096")), help="RSA key size of new keys")
    add(
        "--key-ttl",
        default=_env("key-ttl", "87600h"),
        help="validity of a new key's certificate (default 87600h = 10 years; kubeseal refuses expired ones)",
    )
    add(
        "--key-renew-period",
        "--rotate-period",
        dest="key_renew_period",
        default=_env("key-renew-period", _env("rotate-period", "720h")),
        help="make a new sealing key this often (default 720h; 0 disables automatic renewal)",
    )
    add(
        "--key-cutoff-time",
        default=_env("key-cutoff-time", ""),
        help="make a new key at start-up if the newest is older than this RFC 1123 time (`date -R`)",
    )
    add(
        "--key-order-priority",
        default=_env("key-order-priority", CERT_NOT_BEFORE),
        choices=KEY_ORDERS,
        help="which key is the newest (seals, is served, dates renewal): certificate NotBefore (default) "
        "or the key Secret's creation time",
    )
    add("--my-cn", default=_env("my-cn", ""), help="common name of new keys' certificates (default empty)")
    add(
        "--key-backup",
        default=os.environ.get("LOCKSTEP_KEY_BACKUP", ""),
        metavar="s3://BUCKET/PREFIX",
        help="after every new key, write an age-encrypted backup of all keys here (AWS_* environment)",
    )
    add(
        "--key-backup-age-recipient",
        action="append",
        default=[r for r in os.environ.get("LOCKSTEP_KEY_BACKUP_AGE_RECIPIENT", "").split(",") if r],
        metavar="AGE1...",
        help="age recipient of the key backups (repeatable; required with --key-backup)",
    )
    add(
        "--rate-limit",
        type=float,
        default=float(_env("rate-limit", "2")),
        help="/v1/verify requests per second",
    )
    add("--rate-limit-burst", type=int, default=int(_env("rate-limit-burst", "2")), help="/v1/verify burst")
    add(
        "--update-status",
        default=_env("update-status", "true"),
        choices=("true", "false"),
        help="write the Synced condition and observedGeneration (default true)",
    )
    add(
        "--skip-recreate",
        action="store_true",
        default=_env("skip-recreate", "false") == "true",
        help="do not make a Secret again when someone deletes it (default: make it again)",
    )
    add(
        "--sealed-workers",
        type=int,
        default=int(os.environ.get("LOCKSTEP_SEALED_WORKERS", "16")),
        help="SealedSecrets unsealed in parallel (default 16; the work is mostly waiting on the API server)",
    )
