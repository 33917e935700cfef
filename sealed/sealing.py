"""What every sealing command needs beside its flags: the certificate and its encrypter, the controller,
the default namespace, ``SealOptions``, kubeseal's rendering and the user-facing failure.

Shared by ``lockstep seal`` (``sealed.cli``), ``--in-place`` (``sealed.inplace``), the runbook and
``lockstep keys``; it sits below all of them so none imports another's command module. Standard library
only at the top: the format layer and the network code are imported by the path that needs them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep seal` must start fast
if TYPE_CHECKING:
    from typing import Any

    from sealed.format.convert import Encrypt, SealOptions
    from sealed.remote import Controller
    from sealed.seal_args import ControllerRef, SealArgs

SEALED_FILE_MODE = 0o644  # a new output file: SealedSecrets are made to be published
PLAINTEXT_FILE_MODE = 0o600  # a new file of unsealed Secrets (--recovery-unseal)


class Fail(Exception):
    """A fatal error already phrased for the user (``where``: file or key)."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)


def format_error(error: Exception, where: str = "") -> Fail:
    """A format-layer error located at ``where`` (a file, or a document in it)."""
    from sealed.format.errors import FormatError

    if isinstance(error, FormatError):
        located = error.at(where) if where else error
        return Fail(located.message, located.where)
    return Fail(str(error), where)


def render(obj: Any, output_format: str) -> str:
    """One object as kubeseal prints it: JSON plus a newline, or ``---`` and YAML."""
    from sealed.format.serialize import to_json, to_yaml

    if output_format == "yaml":
        return "---\n" + to_yaml(obj)
    return to_json(obj) + "\n"


def controller_for(ref: ControllerRef | SealArgs, timeout: float | None = None) -> Controller:
    """The controller ``ref`` names; ``timeout``: seconds per request (default: sealed.remote's)."""
    from sealed.remote import TIMEOUT_S, DirectController, ProxyController

    seconds = TIMEOUT_S if timeout is None else timeout
    if ref.controller_url:
        return DirectController(ref.controller_url, seconds)
    return ProxyController(
        ref.controller_namespace, ref.controller_name, ref.kubeconfig, ref.context, seconds
    )


def certificate_bytes(args: SealArgs, timeout: float | None = None) -> bytes:
    if args.cert and "://" not in args.cert:
        try:
            return Path(args.cert).read_bytes()  # the common case, without loading the network code
        except OSError as error:
            raise Fail(error.strerror or str(error), args.cert) from None
    from sealed.remote import TIMEOUT_S, fetch_controller_cert, read_cert_source

    if args.cert:
        return read_cert_source(args.cert, TIMEOUT_S if timeout is None else timeout)
    return fetch_controller_cert(controller_for(args, timeout))


def certificate_encrypter(args: SealArgs, timeout: float | None = None) -> Encrypt:
    """``encrypt(plaintext, label)`` bound to the sealing certificate (checked: PEM, RSA, not expired)."""
    import time

    from sealed.format import crypto
    from sealed.format.certs import parse_certificate_pem
    from sealed.format.errors import FormatError

    where = args.cert or args.controller_url or f"{args.controller_namespace}/{args.controller_name}"
    data = certificate_bytes(args, timeout)
    try:
        cert = parse_certificate_pem(data)
        cert.check_valid(time.time())
    except FormatError as error:
        raise format_error(error, where) from None
    key = crypto.public_key(cert)

    def encrypt(plaintext: bytes, label: bytes) -> bytes:
        return crypto.hybrid_encrypt(key, plaintext, label)

    return encrypt


def environment_encrypter(environ: Mapping[str, str], timeout: float | None = None) -> Encrypt:
    """The encrypter ``lockstep seal`` would use with no flags: the certificate from ``SEALED_SECRETS_CERT``
    (path or URL), else ``SEALED_SECRETS_CONTROLLER_URL``'s ``/v1/cert.pem``, else the controller's Service
    (``SEALED_SECRETS_CONTROLLER_NAME``/``_NAMESPACE``) through the API server.

    Why: integrations (the Argo CD plugin) seal with the cluster's certificate exactly as the command does,
    configured the same way. ``timeout`` bounds each request (a plugin passes what is left of its host's
    budget). Raises :class:`Fail` naming the source and the reason.
    """
    from sealed.flags import defaults
    from sealed.seal_args import SealArgs

    return certificate_encrypter(SealArgs(defaults(environ)), timeout)


def default_namespace(args: SealArgs) -> str:
    """``-n``, else the kubeconfig context's namespace; empty when there is no kubeconfig (as kubeseal)."""
    if args.namespace:
        return str(args.namespace)
    from core_sync.kube import KubeConfig, KubeConfigError

    try:
        return KubeConfig.load(args.kubeconfig, args.context).namespace
    except (KubeConfigError, OSError, KeyError):
        return ""


def seal_options(args: SealArgs, documents: Sequence[Any]) -> SealOptions:
    from sealed.format.convert import SealOptions
    from sealed.format.scopes import Scope, scope_of

    scope = Scope.parse(args.scope)
    metadatas = [d.get("metadata") for d in documents if isinstance(d, dict)]
    needs_namespace = any(
        isinstance(m, dict)  # anything else is reported by parse_secret, naming the field
        and not m.get("namespace")
        and scope is not Scope.CLUSTER_WIDE
        and scope_of(m) is not Scope.CLUSTER_WIDE
        for m in metadatas
    )
    return SealOptions(
        scope=scope,
        default_namespace=default_namespace(args) if needs_namespace else "",
        explicit_namespace=args.namespace or None,
        name=args.name or None,
        allow_empty_data=args.allow_empty_data,
    )
