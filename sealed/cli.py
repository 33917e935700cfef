"""``lockstep seal``: kubeseal's flags, behaviour and output, plus ``--in-place`` batch sealing.

Start-up time is part of the contract (a few ms over the bare interpreter), so this module imports only
the standard library at the top; the format layer, PyYAML and the cluster client are imported by the
code path that needs them. Errors read ``error: <file or key>: <reason>`` and nothing is written on failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sealed.flags import DEFAULT_CONTROLLER_NAME, DEFAULT_CONTROLLER_NAMESPACE, ENV_PREFIX, parse
from sealed.seal_args import SealArgs
from sealed.sealing import (
    PLAINTEXT_FILE_MODE,
    SEALED_FILE_MODE,
    Fail,
    certificate_bytes,
    certificate_encrypter,
    controller_for,
    default_namespace,
    format_error,
    render,
    seal_options,
)

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep seal` must start fast
if TYPE_CHECKING:
    from typing import Any

    from sealed.format.convert import Encrypt
    from sealed.format.crypto import PrivateKey

DESCRIPTION = "Seal a Secret into a SealedSecret that Lockstep's and Bitnami's controllers can open."
EPILOG = f"""\
examples:
  lockstep seal --cert cert.pem -f secret.yaml -w sealed.yaml
  lockstep seal --fetch-cert > cert.pem                      # via the API server's service proxy
  kubectl create secret generic db --from-literal=password=s3cr3t --dry-run=client -o yaml \\
    | lockstep seal --cert cert.pem --format yaml > db-sealed.yaml
  echo -n s3cr3t | lockstep seal --raw --cert cert.pem --namespace app --name db
  lockstep seal --cert cert.pem --in-place deploy/ --replace  # every Secret under deploy/, in one process
  lockstep seal --recovery-unseal --recovery-private-key backup.yaml < sealed.yaml

The controller defaults to service {DEFAULT_CONTROLLER_NAMESPACE}/{DEFAULT_CONTROLLER_NAME} (Lockstep's own);
use --controller-namespace kube-system --controller-name sealed-secrets-controller for Bitnami's.
Every flag can also be set as {ENV_PREFIX}<FLAG> (e.g. {ENV_PREFIX}CERT); the command line wins.
"""


def main(argv: list[str], prog: str = "lockstep seal") -> int:
    args = SealArgs(parse(argv, os.environ, prog, DESCRIPTION, EPILOG))
    try:
        return _run(args)
    except Fail as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    except BrokenPipeError:
        return 1


def _run(args: SealArgs) -> int:
    from sealed.format.errors import FormatError

    if args.format not in ("json", "yaml"):
        raise Fail(f"unsupported output format: {args.format}")
    if args.from_file and not args.raw:
        raise Fail("--from-file requires --raw")
    if args.recovery_private_key and not args.recovery_unseal and sys.stderr.isatty():
        sys.stderr.write(
            "warning: ignoring --recovery-private-key because unseal command not chosen "
            "with --recovery-unseal\n"
        )
    if args.sealed_secret_file and Path(args.sealed_secret_file).suffix in (".yaml", ".yml"):
        args.format = "yaml"
    try:
        if args.in_place:
            from sealed.inplace import run_in_place

            return run_in_place(args, certificate_encrypter(args), default_namespace(args))
        if args.recovery_unseal:
            return _recovery_unseal(args)
        if args.validate:
            return _validate(args)
        if args.re_encrypt:
            return _re_encrypt(args)
        if args.fetch_cert:
            _write_output(args, certificate_bytes(args))
            return 0
        encrypt = certificate_encrypter(args)
        if args.merge_into:
            return _merge_into(args, Path(args.merge_into), encrypt)
        if args.raw:
            return _raw(args, encrypt)
        return _seal(args, encrypt)
    except FormatError as error:
        raise format_error(error) from None


# --- input and output ----------------------------------------------------------------------------------


def _input_name(args: SealArgs) -> str:
    return str(args.secret_file) if args.secret_file else "<stdin>"


def _read_input(args: SealArgs, raw: bool = False) -> bytes:
    if args.secret_file:
        try:
            return Path(args.secret_file).read_bytes()
        except OSError as error:
            raise Fail(error.strerror or str(error), args.secret_file) from None
    if sys.stdin.isatty():
        what = "a secret to encrypt" if raw else "json/yaml k8s resource"
        sys.stderr.write(f"(tty detected: expecting {what} in stdin)\n")
    return sys.stdin.buffer.read()


def _documents(args: SealArgs) -> list[Any]:
    from sealed.format.documents import load_documents
    from sealed.format.errors import FormatError

    data = _read_input(args)
    try:
        return load_documents(data)
    except FormatError as error:
        raise format_error(error, _input_name(args)) from None


def _write_output(args: SealArgs, data: bytes, path: str | None = None, mode: int = SEALED_FILE_MODE) -> None:
    """``data`` to stdout or, all or nothing, to the output file (a new file gets ``mode``)."""
    target = path or args.sealed_secret_file
    if target:
        from core_sync.files import WriteError, write_atomic

        try:
            write_atomic(Path(target), data, mode)
        except WriteError as error:
            raise Fail(error.reason, target) from None
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


# --- the modes -----------------------------------------------------------------------------------------


def _seal(args: SealArgs, encrypt: Encrypt) -> int:
    from sealed.format.convert import parse_secret, seal
    from sealed.format.errors import FormatError

    documents = _documents(args)
    source = _input_name(args)
    if not documents:
        raise Fail("no secrets found. Ensure the input is valid and UTF-8 encoded", source)
    options = seal_options(args, documents)
    out = []
    for index, document in enumerate(documents):
        where = source if len(documents) == 1 else f"{source}: document {index + 1}"
        try:
            out.append(render(seal(parse_secret(document), encrypt, options), args.format))
        except FormatError as error:
            raise format_error(error, where) from None
    _write_output(args, "".join(out).encode())
    return 0


def _raw(args: SealArgs, encrypt: Encrypt) -> int:
    from sealed.format.convert import seal_raw
    from sealed.format.scopes import Scope

    if len(args.from_file) > 1:
        raise Fail("must provide only one --from-file when encrypting a single item with --raw")
    if args.from_file:
        path = args.from_file[0].split("=", 1)[-1]
        try:
            value = Path(path).read_bytes()
        except OSError as error:
            raise Fail(error.strerror or str(error), path) from None
    else:
        value = _read_input(args, raw=True)
    scope = Scope.parse(args.scope)
    namespace = args.namespace or (default_namespace(args) if scope is not Scope.CLUSTER_WIDE else "")
    _write_output(args, seal_raw(value, encrypt, scope, namespace, args.name or "").encode())
    return 0


def _merge_into(args: SealArgs, target: Path, encrypt: Encrypt) -> int:
    from sealed.format.convert import parse_secret, seal, sealed_parts
    from sealed.format.documents import load_documents
    from sealed.format.errors import FormatError
    from sealed.format.objects import sealed_secret

    try:
        original_bytes = target.read_bytes()
        existing = load_documents(original_bytes)
        if len(existing) != 1:
            raise FormatError(f"expected one SealedSecret, found {len(existing)} documents")
        metadata, _, _, _ = sealed_parts(existing[0])
        merged = sealed_secret(existing[0])
    except OSError as error:
        raise Fail(error.strerror or str(error), str(target)) from None
    except FormatError as error:
        raise format_error(error, str(target)) from None
    documents = _documents(args)
    if not documents:
        raise Fail("no secrets found. Ensure the input is valid and UTF-8 encoded", _input_name(args))
    options = seal_options(args, [])
    for document in documents:
        try:
            secret = parse_secret(document)
            secret.metadata = {**secret.metadata, "name": metadata["name"]}
            if metadata.get("namespace"):
                secret.metadata["namespace"] = metadata["namespace"]
            update = seal(secret, encrypt, options)
        except FormatError as error:
            raise format_error(error, _input_name(args)) from None
        spec, new_spec = merged["spec"], update["spec"]
        spec["encryptedData"] = dict(sorted({**spec["encryptedData"], **new_spec["encryptedData"]}.items()))
        meta, new_meta = spec["template"]["metadata"], new_spec["template"]["metadata"]
        for field in ("labels", "annotations"):
            if new_meta.get(field):
                meta[field] = dict(sorted({**meta.get(field, {}), **new_meta[field]}.items()))
        spec["template"]["metadata"] = _reorder_meta(meta)
    output_format = "json" if original_bytes.lstrip().startswith(b"{") else "yaml"
    _write_output(args, render(merged, output_format).encode(), path=str(target))
    return 0


def _reorder_meta(meta: dict[str, Any]) -> dict[str, Any]:
    from sealed.format.objects import object_meta

    return object_meta(meta)


def _load_keys(args: SealArgs) -> list[PrivateKey]:
    from sealed.format.errors import FormatError
    from sealed.format.keys import load_private_keys

    paths = [p for value in args.recovery_private_key for p in value.split(",") if p]
    if not paths:
        raise Fail("--recovery-unseal requires --recovery-private-key FILE[,FILE]")
    keys = []
    for path in paths:
        try:
            keys += load_private_keys(Path(path).read_bytes(), path)
        except OSError as error:
            raise Fail(error.strerror or str(error), path) from None
        except FormatError as error:
            raise format_error(error, path) from None
    return keys


def _recovery_unseal(args: SealArgs) -> int:
    from sealed.format.convert import unseal
    from sealed.format.errors import FormatError

    keys = _load_keys(args)
    documents = _documents(args)
    source = _input_name(args)
    if not documents:
        raise Fail("no sealed secrets found", source)
    out = []
    for index, document in enumerate(documents):
        where = source if len(documents) == 1 else f"{source}: document {index + 1}"
        try:
            out.append(render(unseal(document, keys), args.format))
        except FormatError as error:
            raise format_error(error, where) from None
    _write_output(args, "".join(out).encode(), mode=PLAINTEXT_FILE_MODE)
    return 0


def _sealed_inputs(args: SealArgs) -> list[tuple[str, bytes]]:
    """Each input SealedSecret as ``(name, compact JSON)`` for the controller's endpoints."""
    from sealed.format.convert import sealed_parts
    from sealed.format.errors import FormatError
    from sealed.format.serialize import to_compact_json

    documents = _documents(args)
    if not documents:
        raise Fail("no sealed secrets found", _input_name(args))
    out = []
    for document in documents:
        try:
            metadata, _, _, _ = sealed_parts(document)
        except FormatError as error:
            raise format_error(error, _input_name(args)) from None
        out.append((str(metadata["name"]), to_compact_json(document).encode()))
    return out


def _validate(args: SealArgs) -> int:
    from sealed.remote import verify

    controller = controller_for(args)
    for name, body in _sealed_inputs(args):
        verify(controller, body, name)
    return 0


def _re_encrypt(args: SealArgs) -> int:
    import json

    from sealed.format.errors import FormatError
    from sealed.format.objects import sealed_secret
    from sealed.remote import rotate

    controller = controller_for(args)
    target = args.sealed_secret_file or args.secret_file
    if target and Path(target).suffix in (".yaml", ".yml"):
        args.format = "yaml"  # rewriting a YAML file in place keeps it YAML
    out = []
    for name, body in _sealed_inputs(args):
        reply = rotate(controller, body)
        try:
            out.append(render(sealed_secret(json.loads(reply)), args.format))
        except (ValueError, FormatError) as error:
            raise Fail(f"controller returned an unreadable SealedSecret: {error}", name) from None
    _write_output(args, "".join(out).encode(), path=target)
    return 0
