"""Secret ⇄ SealedSecret, following kubeseal's ``Seal`` and the controller's ``Unseal``.

Sealing: ``data`` items are sealed first, then ``stringData`` (which wins on a clash); the input's labels
and annotations go into ``spec.template.metadata`` (never onto the SealedSecret itself, as kubeseal does);
the SealedSecret carries only name, namespace and the scope annotation. Opening: the label comes from the
SealedSecret's own metadata, and every key is tried for every item.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from gocompat import limits
from sealed.format import b64, crypto
from sealed.format.errors import FormatError
from sealed.format.objects import object_meta, string_map
from sealed.format.scopes import Scope, label, label_for, scope_of, set_scope_annotations

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep seal` must start fast
if TYPE_CHECKING:
    from typing import Any

SEALED_API_VERSION = "bitnami.com/v1alpha1"
SKIP_OWNER_ANNOTATION = "sealedsecrets.bitnami.com/skip-set-owner-references"
_STRIPPED_META = (
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
_LAST_APPLIED = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
)
EMPTY_DATA = (
    "secret.data is empty in input Secret, assuming this is an error and aborting. "
    "To work with empty data, --allow-empty-data can be used"
)

Encrypt = Callable[[bytes, bytes], bytes]


class Secret:
    """The parts of a v1 Secret that sealing reads; ``data`` is decoded bytes."""

    __slots__ = ("data", "immutable", "metadata", "string_data", "type")

    def __init__(
        self,
        metadata: dict[str, Any],
        data: dict[str, bytes],
        string_data: dict[str, str],
        type: str | None = None,
        immutable: bool | None = None,
    ) -> None:
        self.metadata = metadata
        self.data = data
        self.string_data = string_data
        self.type = type
        self.immutable = immutable


class NoKeyError(FormatError):
    """No key opens these items; ``bitnami_message`` is the controller's wording (``no key could decrypt
    secret (a, b)``), the message adds which keys were tried."""

    def __init__(self, message: str, items: list[str]) -> None:
        super().__init__(message)
        self.items = items

    @property
    def bitnami_message(self) -> str:
        return f"{crypto.NO_KEY} ({', '.join(self.items)})"


def is_kind(obj: Any, kind: str) -> bool:
    return isinstance(obj, Mapping) and obj.get("kind") == kind


def describe(obj: Any) -> str:
    if not isinstance(obj, Mapping):
        return f"a {type(obj).__name__}, not an object"
    kind = obj.get("kind") or "no kind"
    name = (obj.get("metadata") or {}).get("name") if isinstance(obj.get("metadata"), Mapping) else None
    return f"{kind} {name}" if name else str(kind)


def parse_secret(obj: Any) -> Secret:
    """Validate a v1 Secret and decode its ``data`` (standard base64, padded, as Go decodes ``[]byte``)."""
    if not is_kind(obj, "Secret"):
        raise FormatError(f"not a Secret ({describe(obj)})")
    api_version = obj.get("apiVersion", "v1")
    if api_version != "v1":
        raise FormatError(f"not a v1 Secret (apiVersion {api_version!r})")
    metadata = obj.get("metadata") or {}
    object_meta(metadata)  # type-check the fields we copy
    raw = obj.get("data") or {}
    if not isinstance(raw, Mapping):
        raise FormatError("expected a mapping", "data")
    data: dict[str, bytes] = {}
    for key, value in raw.items():
        data[str(key)] = decode_base64(value, f"data.{key}")
    type_ = obj.get("type")
    if type_ is not None and not isinstance(type_, str):
        raise FormatError("expected a string", "type")
    immutable = obj.get("immutable")
    if immutable is not None and not isinstance(immutable, bool):
        raise FormatError("expected true or false", "immutable")
    return Secret(
        metadata=dict(metadata),
        data=data,
        string_data=string_map(obj.get("stringData"), "stringData"),
        type=type_ or None,
        immutable=immutable,
    )


def decode_base64(value: Any, where: str) -> bytes:
    if value is None:
        return b""
    if not isinstance(value, str):
        raise FormatError(f"expected a base64 string, found {type(value).__name__}", where)
    try:
        return b64.decode("".join(value.split("\n")).replace("\r", ""))
    except ValueError as error:
        raise FormatError(f"invalid base64: {error}", where) from None


class SealOptions:
    """kubeseal's knobs: ``scope`` from ``--scope`` (None: the default, leave annotations alone)."""

    __slots__ = ("allow_empty_data", "default_namespace", "explicit_namespace", "name", "scope")

    def __init__(
        self,
        scope: Scope | None = None,
        default_namespace: str = "",
        explicit_namespace: str | None = None,
        name: str | None = None,
        allow_empty_data: bool = False,
    ) -> None:
        self.scope = scope
        self.default_namespace = default_namespace
        self.explicit_namespace = explicit_namespace
        self.name = name
        self.allow_empty_data = allow_empty_data


def prepare(secret: Secret, options: SealOptions) -> tuple[dict[str, Any], Scope]:
    """The input metadata after kubeseal's checks, overrides and stripping; and the scope to seal with."""
    if not secret.data and not secret.string_data and not options.allow_empty_data:
        raise FormatError(EMPTY_DATA)
    meta = dict(secret.metadata)
    if options.name:
        meta["name"] = options.name
    if not meta.get("name"):
        raise FormatError("missing metadata.name in input Secret")
    annotations = dict(meta.get("annotations") or {})
    if options.scope is not None and options.scope is not Scope.STRICT:
        set_scope_annotations(annotations, options.scope)
    meta["annotations"] = annotations
    scope = scope_of(meta)
    namespace = meta.get("namespace") or ""
    if scope is not Scope.CLUSTER_WIDE:
        explicit = options.explicit_namespace
        if explicit and namespace and namespace != explicit:
            raise FormatError(
                f'namespace mismatch: input secret is in namespace "{namespace}" '
                f'but "{explicit}" was specified'
            )
        if not namespace:
            meta["namespace"] = namespace = options.default_namespace
        if not namespace:
            raise FormatError("secret must declare a namespace")
    for key in _STRIPPED_META:
        meta.pop(key, None)
    return meta, scope


def seal(secret: Secret, encrypt: Encrypt, options: SealOptions) -> dict[str, Any]:
    """The SealedSecret for ``secret``; ``encrypt(plaintext, label)`` is the hybrid encryption."""
    meta, scope = prepare(secret, options)
    template_meta = dict(meta)
    template_meta["annotations"] = {
        k: v for k, v in template_meta["annotations"].items() if k not in _LAST_APPLIED
    }
    template_meta.pop("ownerReferences", None)
    name, namespace = meta["name"], meta.get("namespace") or ""
    oaep_label = label(scope, namespace, name)
    items = {key: encrypt(value, oaep_label) for key, value in secret.data.items()}
    for key, text in secret.string_data.items():
        items[key] = encrypt(text.encode(), oaep_label)
    template: dict[str, Any] = {"metadata": object_meta(template_meta, "metadata")}
    if secret.type:
        template["type"] = secret.type
    if secret.immutable is not None:
        template["immutable"] = secret.immutable
    own_meta: dict[str, Any] = {"name": name}
    if namespace:
        own_meta["namespace"] = namespace
    scope_annotations: dict[str, str] = {}
    set_scope_annotations(scope_annotations, scope)
    if scope_annotations:
        own_meta["annotations"] = scope_annotations
    encoded = {key: b64.encode(items[key]) for key in sorted(items)}
    return {
        "kind": "SealedSecret",
        "apiVersion": SEALED_API_VERSION,
        "metadata": own_meta,
        "spec": {"template": template, "encryptedData": encoded},
    }


def seal_raw(value: bytes, encrypt: Encrypt, scope: Scope, namespace: str, name: str) -> str:
    """``--raw``: one value, base64, for pasting into ``encryptedData`` by hand."""
    if scope is not Scope.CLUSTER_WIDE and not namespace:
        raise FormatError(f"must provide the --namespace flag with --raw and --scope {scope.value}")
    if scope is Scope.STRICT and not name:
        raise FormatError("must provide the --name flag with --raw and --scope strict")
    return b64.encode(encrypt(value, label(scope, namespace, name)))


def sealed_parts(obj: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, str], str | None]:
    """Validate a SealedSecret: ``(metadata, spec.template, encryptedData, legacy spec.data)``."""
    if not is_kind(obj, "SealedSecret"):
        raise FormatError(f"not a SealedSecret ({describe(obj)})")
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping) or not metadata.get("name"):
        raise FormatError("SealedSecret has no metadata.name")
    object_meta(metadata)  # wrong-typed fields (a list of annotations, a numeric name) fail here, named
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        raise FormatError("SealedSecret has no spec")
    legacy = spec.get("data")
    encrypted = spec.get("encryptedData")
    if encrypted is None and not legacy:
        raise FormatError("SealedSecret has no spec.encryptedData")
    encrypted_map = string_map(encrypted, "spec.encryptedData")
    if legacy and encrypted_map:
        raise FormatError(
            "cannot use the field 'encryptedData' and the deprecated field 'data' at the same time"
        )
    template = spec.get("template") or {}
    if not isinstance(template, Mapping):
        raise FormatError("expected a mapping", "spec.template")
    object_meta(template.get("metadata"), "spec.template.metadata")  # its shape, checked before any use
    if legacy is not None and not isinstance(legacy, str):
        raise FormatError("expected a base64 string", "spec.data")
    return dict(metadata), dict(template), encrypted_map, legacy or None


def render_template_data(templates: Mapping[str, str], decrypted: Mapping[str, bytes]) -> dict[str, bytes]:
    """``spec.template.data`` as the controller (v0.37+) renders it: each value is a Go text/template with
    Sprig, executed against the decrypted items plus the plain template values (an encrypted key wins);
    a key that ``encryptedData`` already provides is not overwritten."""
    out: dict[str, bytes] = {}
    pending = {key: text for key, text in templates.items() if key not in decrypted}
    if not any("{{" in text for text in pending.values()):
        return {key: text.encode() for key, text in pending.items()}
    from gocompat.template import StringMap, Template, TemplateError, go_bytes, go_string

    context = StringMap({**templates, **{key: go_string(value) for key, value in decrypted.items()}})
    for key, text in pending.items():
        try:
            out[key] = go_bytes(Template(text, name=key, missingkey="default").execute(context))
        except TemplateError as error:  # names the template and position, never the data
            raise FormatError(f"template error: {error}", f"spec.template.data.{key}") from None
    return out


def unseal(obj: Any, keys: Sequence[crypto.PrivateKey]) -> dict[str, Any]:
    """The Secret a SealedSecret seals, as the controller would create it (before the API server sees it)."""
    return open_sealed(obj, keys)[0]


def open_sealed(obj: Any, keys: Sequence[crypto.PrivateKey]) -> tuple[dict[str, Any], list[str]]:
    """:func:`unseal`, plus the fingerprints of the keys that opened its items (sorted, no repeats)."""
    metadata, template, encrypted, legacy = sealed_parts(obj)
    oaep_label = label_for(metadata)
    data: dict[str, bytes] = {}
    failed: list[str] = []
    order = list(keys)  # the key that opened one item is tried first for the next
    used: set[str] = set()

    def open_blob(blob: bytes) -> bytes:
        plaintext, key = crypto.hybrid_open(order, blob, oaep_label)
        used.add(key.fingerprint)
        if order[0] is not key:
            order.remove(key)
            order.insert(0, key)
        return plaintext

    if legacy is not None:
        blob = decode_base64(legacy, "spec.data")
        try:
            inner = limits.load_json(open_blob(blob))
        except FormatError as error:
            raise error.at("spec.data") from None
        except ValueError as error:  # anyone holding the public certificate can seal any bytes
            raise FormatError(f"sealed data is not a Secret: {error}", "spec.data") from None
        data = parse_secret({**inner, "kind": "Secret"}).data if isinstance(inner, Mapping) else {}
    for key, value in encrypted.items():
        blob = decode_base64(value, f"spec.encryptedData.{key}")
        try:
            data[key] = open_blob(blob)
        except FormatError as error:
            if error.message != crypto.NO_KEY:
                raise error.at(f"spec.encryptedData.{key}") from None
            failed.append(key)
    if failed:
        tried = ", ".join(k.fingerprint for k in keys) or "none"
        raise NoKeyError(f"{crypto.NO_KEY} ({', '.join(failed)}); tried {len(keys)} key(s): {tried}", failed)
    data.update(render_template_data(string_map(template.get("data"), "spec.template.data"), data))
    meta = dict(template.get("metadata") or {})
    meta["name"] = metadata["name"]
    meta["namespace"] = metadata.get("namespace") or ""
    annotations = meta.get("annotations") or {}
    if annotations.get(SKIP_OWNER_ANNOTATION) != "true":
        meta["ownerReferences"] = [
            {
                "apiVersion": SEALED_API_VERSION,
                "kind": "SealedSecret",
                "name": metadata["name"],
                "uid": str(metadata.get("uid") or ""),
                "controller": True,
            }
        ]
    secret: dict[str, Any] = {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": object_meta(meta, "spec.template.metadata"),
    }
    if template.get("immutable") is not None:
        secret["immutable"] = template["immutable"]
    if data:
        secret["data"] = {k: (b64.encode(data[k]) if data[k] else None) for k in sorted(data)}
    if template.get("type"):
        secret["type"] = template["type"]
    return secret, sorted(used)
