"""ESO's PEM and PKCS#12 helpers: ``filterPEM``, ``pkcs12key[Pass]``, ``pkcs12cert[Pass]``.

``cryptography`` is imported only when a PKCS#12 function runs, so plain templates stay cheap.
"""

from __future__ import annotations

import contextlib

from gocompat.pem import decode, encode_block
from gocompat.template.errors import FuncError
from gocompat.template.functions.certs import ordered_chain, trim_junk
from gocompat.template.functions.convert import go_bytes
from gocompat.template.signature import GoFunc


def filter_pem(pem_type: str, text: str) -> str:
    """Every PEM block of ``pem_type`` (case-insensitive), re-encoded; junk with no match is an error."""
    out: list[str] = []
    rest = trim_junk(text)
    while True:
        block, rest = decode(rest)
        if block is None:
            break
        if block[0].lower() == pem_type.lower():
            out.append(encode_block(block[0], block[2], block[1]))
    if not out and rest:
        raise FuncError("error filtering pem: found junk")
    return "".join(out)


def _pkcs12(password: str, data: str) -> tuple[object, object, list[object]]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        key, cert, extra = pkcs12.load_key_and_certificates(go_bytes(data), go_bytes(password) or None)
    except (ValueError, TypeError):
        raise FuncError("unable to decode pkcs12 archive") from None
    return key, cert, list(extra)


def pkcs12_key_pass(password: str, data: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key, _, _ = _pkcs12(password, data)
    if key is None:
        raise FuncError("pkcs12 archive holds no private key")
    der = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return encode_block("PRIVATE KEY", der)


def pkcs12_cert_pass(password: str, data: str) -> str:
    """The archive's chain, leaf first (ESO orders it by key identifiers when it can)."""
    from cryptography.hazmat.primitives import serialization

    _, cert, extra = _pkcs12(password, data)
    certs = ([cert] if cert is not None else []) + extra
    with contextlib.suppress(FuncError):  # like ESO: a set that is not one chain is returned as stored
        certs = ordered_chain(certs)
    return "".join(
        encode_block("CERTIFICATE", c.public_bytes(serialization.Encoding.DER))  # type: ignore[attr-defined]
        for c in certs
    )


FUNCS: dict[str, GoFunc] = {
    "filterPEM": GoFunc(filter_pem, ("str", "str")),
    "pkcs12key": GoFunc(lambda data: pkcs12_key_pass("", data), ("str",)),
    "pkcs12keyPass": GoFunc(pkcs12_key_pass, ("str", "str")),
    "pkcs12cert": GoFunc(lambda data: pkcs12_cert_pass("", data), ("str",)),
    "pkcs12certPass": GoFunc(pkcs12_cert_pass, ("str", "str")),
}
