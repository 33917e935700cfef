"""ESO's PEM and PKCS#12 helpers: ``filterPEM``, ``pkcs12key[Pass]``, ``pkcs12cert[Pass]``.

``cryptography`` is imported only when a PKCS#12 function runs, so plain templates stay cheap.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re

from core_sync.gotemplate.errors import FuncError
from core_sync.gotemplate.functions.convert import go_bytes
from core_sync.gotemplate.signature import GoFunc

_BLOCK = re.compile(
    r"-----BEGIN ([^\n-]*)-----[ \t]*\r?\n(.*?)-----END \1-----[ \t]*(?:\r?\n|$)",
    re.DOTALL,
)


def encode_block(kind: str, der: bytes, headers: list[tuple[str, str]] | None = None) -> str:
    """``pem.Encode``: headers, a blank line after them, base64 in 64-character lines."""
    body = base64.b64encode(der).decode()
    lines = [f"-----BEGIN {kind}-----"]
    if headers:
        lines.extend(f"{k}: {v}" for k, v in headers)
        lines.append("")
    lines.extend(body[i : i + 64] for i in range(0, len(body), 64))
    lines.append(f"-----END {kind}-----")
    return "\n".join(lines) + "\n"


def _decode(body: str) -> tuple[list[tuple[str, str]], bytes] | None:
    headers: list[tuple[str, str]] = []
    lines = body.splitlines()
    if lines and ":" in lines[0]:
        while lines and lines[0].strip():
            key, _, value = lines.pop(0).partition(":")
            headers.append((key.strip(), value.strip()))
        if lines:
            lines.pop(0)
    try:
        return headers, base64.b64decode("".join(line.strip() for line in lines), validate=True)
    except (binascii.Error, ValueError):
        return None


def decode_blocks(text: str) -> list[tuple[str, list[tuple[str, str]], bytes]]:
    """Every well-formed PEM block in ``text`` as (type, headers, DER), skipping junk between them."""
    out: list[tuple[str, list[tuple[str, str]], bytes]] = []
    rest = text
    while True:
        match = _BLOCK.search(rest)
        decoded = _decode(match.group(2)) if match else None
        if match is None or decoded is None:
            return out
        rest = rest[match.end() :]
        out.append((match.group(1), decoded[0], decoded[1]))


def filter_pem(pem_type: str, text: str) -> str:
    """Every PEM block of ``pem_type`` (case-insensitive), re-encoded; junk with no match is an error."""
    begin = text.find("-----BEGIN")
    if begin >= 0:
        text = text[begin:]
    out: list[str] = []
    rest = text
    while True:
        match = _BLOCK.search(rest)
        decoded = _decode(match.group(2)) if match else None
        if match is None or decoded is None:
            break
        rest = rest[match.end() :]
        if match.group(1).lower() == pem_type.lower():
            out.append(encode_block(match.group(1), decoded[1], decoded[0]))
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

    from core_sync.gotemplate.functions.certs import ordered_chain

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
