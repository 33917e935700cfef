"""Default mode: what the SOPS stage decrypted leaves the plugin sealed, never in plaintext.

Argo CD caches every manifest a plugin prints in Redis, in plaintext. So each Secret the SOPS stage
decrypted is sealed into a SealedSecret with the cluster's sealing certificate (``sealed``'s own sealing,
configured as ``lockstep seal`` is: ``SEALED_SECRETS_CERT``, ``SEALED_SECRETS_CONTROLLER_URL``, ...) and
opened in the cluster by Lockstep's controller. Anything else SOPS decrypted (a ConfigMap, say) has no
sealed form: that is an error naming the object, unless the plugin runs with ``--plaintext``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from core_sync.stages import object_ref

if TYPE_CHECKING:
    from sealed.format.convert import Encrypt

KubeObject = dict[str, Any]
SEALED_API_VERSION = "bitnami.com/v1alpha1"


class ResealError(Exception):
    """An object that cannot leave the plugin sealed; the message names it."""


def needs_sealing(objects: Sequence[KubeObject], secret_ids: Collection[int]) -> list[KubeObject]:
    """The objects a secret stage produced (they carry plaintext); a non-Secret among them is an error."""
    produced = [obj for obj in objects if id(obj) in secret_ids]
    for obj in produced:
        if obj.get("kind") != "Secret" or obj.get("apiVersion", "v1") != "v1":
            raise ResealError(
                f"{object_ref(obj)}: SOPS-decrypted {obj.get('kind', 'object')} has no sealed form and "
                "Argo CD would cache it in plaintext; make it a Secret, or run the plugin with --plaintext"
            )
    return produced


def check_passed_through(
    objects: Sequence[KubeObject], source_of: Callable[[KubeObject], str | None]
) -> None:
    """SealedSecrets leave the plugin unopened, so nothing else looks at them before the cluster does: one
    no controller could open (no spec, ``encryptedData`` not a mapping of strings, a template that is not a
    mapping, ...) is an error naming it and its file, as ``lockstep render`` names it when it opens one."""
    from sealed.format.convert import sealed_parts
    from sealed.format.errors import FormatError

    for obj in objects:
        if obj.get("kind") != "SealedSecret" or obj.get("apiVersion") != SEALED_API_VERSION:
            continue
        try:
            sealed_parts(obj)
        except FormatError as error:
            raise ResealError(
                f"{object_ref(obj, source_of(obj))}: malformed SealedSecret, no controller can open it: "
                f"{error}"
            ) from None


def reseal(
    objects: Sequence[KubeObject],
    secret_ids: Collection[int],
    encrypter: Callable[[], Encrypt],
    namespace: str,
    scope: str,
) -> list[KubeObject]:
    """``objects`` with every SOPS-decrypted Secret replaced, in place in the order, by its SealedSecret.

    ``encrypter`` is called only when something needs sealing: an app with only SealedSecrets and
    ExternalSecrets never contacts the controller.
    """
    from sealed.format.convert import SealOptions, parse_secret, seal
    from sealed.format.errors import FormatError
    from sealed.format.scopes import Scope

    todo = {id(obj) for obj in needs_sealing(objects, secret_ids)}
    if not todo:
        return list(objects)
    encrypt = encrypter()
    options = SealOptions(scope=Scope.parse(scope), default_namespace=namespace)
    out: list[KubeObject] = []
    for obj in objects:
        if id(obj) not in todo:
            out.append(obj)
            continue
        try:
            out.append(seal(parse_secret(obj), encrypt, options))
        except FormatError as error:
            raise ResealError(f"{object_ref(obj)}: cannot seal: {error}") from None
    return out
