"""ESO's PEM and PKCS#12 helpers: ``filterPEM``, ``pkcs12key[Pass]``, ``pkcs12cert[Pass]``.

``cryptography`` is imported only when a PKCS#12 function runs, so plain templates stay cheap.
"""

from __future__ import annotations

import base64
import binascii
import contextlib

from core_sync.gotemplate.errors import FuncError
from core_sync.gotemplate.functions.convert import go_bytes
from core_sync.gotemplate.signature import GoFunc

_BEGIN = "-----BEGIN "
_END = "-----END "
_DASHES = "-----"
_B64_STRIP = str.maketrans("", "", " \t\r\n")
Block = tuple[str, list[tuple[str, str]], bytes]  # (type, headers in order, DER)


def encode_block(kind: str, der: bytes, headers: list[tuple[str, str]] | None = None) -> str:
    """``pem.Encode``: headers (``Proc-Type`` first, the rest sorted), a blank line, base64 in 64s."""
    body = base64.b64encode(der).decode()
    lines = [f"-----BEGIN {kind}-----"]
    if headers:
        ordered = sorted(headers, key=lambda kv: (kv[0] != "Proc-Type", kv[0]))
        lines.extend(f"{k}: {v}" for k, v in ordered)
        lines.append("")
    lines.extend(body[i : i + 64] for i in range(0, len(body), 64))
    lines.append(f"-----END {kind}-----")
    return "\n".join(lines) + "\n"


def _line(text: str) -> tuple[str, str]:
    """Go's ``getLine``: the first line without trailing spaces, tabs and CR, and what follows it."""
    cut = text.find("\n")
    line, rest = (text, "") if cut < 0 else (text[:cut], text[cut + 1 :])
    return line.rstrip(" \t\r"), rest


def decode(data: str) -> tuple[Block | None, str]:
    """Go's ``pem.Decode``: the first block whose ``-----BEGIN`` starts a line, and the text after it.

    Like Go, a ``-----BEGIN`` in the middle of a line is not a block, and a malformed block is skipped
    (the search goes on after its BEGIN line); with no block the whole input comes back as ``rest``.
    """
    rest = data
    while True:
        if rest.startswith(_BEGIN):
            rest = rest[len(_BEGIN) :]
        else:
            cut = rest.find("\n" + _BEGIN)
            if cut < 0:
                return None, data
            rest = rest[cut + 1 + len(_BEGIN) :]
        type_line, rest = _line(rest)
        if not type_line.endswith(_DASHES):
            continue
        kind = type_line[: -len(_DASHES)]
        headers: list[tuple[str, str]] = []
        while True:
            if not rest:
                return None, data
            line, following = _line(rest)
            key, colon, value = line.partition(":")
            if not colon:
                break
            headers.append((key.strip(" \t\r\n"), value.strip(" \t\r\n")))
            rest = following
        if not headers and rest.startswith(_END):
            end, trailer_at = 0, len(_END)
        else:
            end = rest.find("\n" + _END)
            trailer_at = end + 1 + len(_END)
        if end < 0:
            continue
        trailer = rest[trailer_at:]
        want = kind + _DASHES
        if not trailer.startswith(want) or _line(trailer[len(want) :])[0]:
            continue
        try:
            der = base64.b64decode(rest[:end].translate(_B64_STRIP), validate=True)
        except (binascii.Error, ValueError):
            continue
        return (kind, headers, der), _line(trailer[len(want) :])[1]


def decode_blocks(text: str) -> list[Block]:
    """Every block ``pem.Decode`` finds in ``text``, in order (Go's decode loop)."""
    out: list[Block] = []
    rest = text
    while True:
        block, rest = decode(rest)
        if block is None:
            return out
        out.append(block)


def trim_junk(text: str) -> str:
    """ESO's ``trimJunk``: drop everything before the first ``-----BEGIN``."""
    begin = text.find("-----BEGIN")
    return text[begin:] if begin >= 0 else text


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
