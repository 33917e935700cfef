"""``lockstep keys list`` and ``lockstep keys cert``: what keys the cluster holds, and the one that seals."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from sealed.keys_cli.common import CommandError, controller, dump, key_namespace, kube_client, parser, run


def _date(unix: int | None) -> str:
    if unix is None:
        return ""
    return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_command(argv: list[str], prog: str) -> int:
    p = parser(prog, "List the sealing key Secrets: name, state, fingerprint, created, expiry.")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    args = p.parse_args(argv)
    return run(lambda: _list(args))


def _list(args: argparse.Namespace) -> int:
    from sealed.format.certs import parse_certificate_pem
    from sealed.format.errors import FormatError
    from sealed.keys import list_keys, newest_active

    keys = list_keys(kube_client(args), key_namespace(args))
    sealing = newest_active(keys)
    rows = []
    for key in keys:
        try:
            expiry = _date(parse_certificate_pem(key.cert_pem).not_after)
        except FormatError:
            expiry = ""
        rows.append(  # str values except "sealing"
            {
                "name": key.name,
                "state": key.state or "(unlabelled)",
                "fingerprint": key.fingerprint,
                "created": key.created or _date(key.not_before),
                "expiry": expiry,
                "sealing": key is sealing,
                "problem": key.problem,
            }
        )
    if args.output == "json":
        sys.stdout.write(dump({"namespace": key_namespace(args), "keys": rows}))
        return 0
    if not rows:
        sys.stderr.write(f"no sealing keys in namespace {key_namespace(args)}\n")
        return 0
    width = max(len(str(r["name"])) for r in rows)
    sys.stdout.write(f"{'NAME'.ljust(width)}  {'STATE':11}  {'FINGERPRINT':51}  {'CREATED':20}  EXPIRY\n")
    for r in rows:
        mark = " *" if r["sealing"] else ""
        name = str(r["name"]).ljust(width)
        sys.stdout.write(
            f"{name}  {r['state']:11}  {r['fingerprint']:51}  {r['created']:20}  {r['expiry']}{mark}\n"
        )
        if r["problem"]:
            sys.stdout.write(f"  ! {r['problem']}\n")
    return 0


def cert_command(argv: list[str], prog: str) -> int:
    p = parser(
        prog,
        "Print the active sealing certificate (PEM): from the controller's /v1/cert.pem, or with --from-keys "
        "from the newest active key Secret.",
    )
    p.add_argument("--from-keys", action="store_true", help="read the key Secrets instead of the controller")
    args = p.parse_args(argv)
    return run(lambda: _cert(args))


def _cert(args: argparse.Namespace) -> int:
    if args.from_keys:
        from sealed.keys import list_keys, newest_active

        newest = newest_active(list_keys(kube_client(args), key_namespace(args)))
        if newest is None:
            raise CommandError(f"no active sealing key in namespace {key_namespace(args)}")
        pem = newest.cert_pem
    else:
        from sealed.remote import fetch_controller_cert

        pem = fetch_controller_cert(controller(args))
    sys.stdout.buffer.write(pem)
    return 0
