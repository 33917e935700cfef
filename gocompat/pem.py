"""Go's ``encoding/pem``: ``pem.Decode`` (and its decode loop) and ``pem.Encode``.

Why one home: kubeseal reads ``--cert`` and private keys with Go's decoder (``client-go``'s
``ParseCertsPEM``/``ParsePrivateKeyPEM`` loop ``pem.Decode``) and ESO's PEM template functions decode and
re-encode with it, so which blocks are found, which are skipped and what headers they carry must match Go.
Works on ``str``; bytes are read as latin-1 (PEM framing is ASCII; only the base64 body is decoded).
``binascii`` directly, not ``base64``: the module costs ~2.5 M instructions of ``lockstep seal``'s start-up.
"""

from __future__ import annotations

import binascii

_BEGIN = "-----BEGIN "
_END = "-----END "
_DASHES = "-----"
_B64_STRIP = str.maketrans("", "", " \t\r\n")
Block = tuple[str, list[tuple[str, str]], bytes]  # (type, headers in order, DER)


def encode_block(kind: str, der: bytes, headers: list[tuple[str, str]] | None = None) -> str:
    """``pem.Encode``: headers (``Proc-Type`` first, the rest sorted), a blank line, base64 in 64s."""
    body = binascii.b2a_base64(der, newline=False).decode()
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
            der = binascii.a2b_base64(
                rest[:end].translate(_B64_STRIP), strict_mode=True
            )  # b64decode(validate)
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
