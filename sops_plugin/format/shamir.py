"""Shamir secret sharing over GF(2^8) (the AES field, polynomial 0x11b), share layout as sops writes it.

Each share is ``len(secret) + 1`` bytes: the y-values followed by the x-coordinate. sops splits the data key
into one share per key group when a file has more than one group.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence


def _mul(a: int, b: int) -> int:
    out = 0
    while b:
        if b & 1:
            out ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return out


_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x = _mul(_x, 3)
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


def _fmul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def _fdiv(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(2^8)")
    if a == 0:
        return 0
    return _EXP[(_LOG[a] - _LOG[b]) % 255]


def split(secret: bytes, parts: int, threshold: int) -> list[bytes]:
    """Split ``secret`` into ``parts`` shares, any ``threshold`` of which recover it."""
    if not 2 <= threshold <= parts <= 255:
        raise ValueError("shamir: need 2 <= threshold <= parts <= 255")
    if not secret:
        raise ValueError("shamir: cannot split an empty secret")
    xs = list(range(1, 256))
    secrets.SystemRandom().shuffle(xs)
    xs = xs[:parts]
    shares = [bytearray(len(secret) + 1) for _ in range(parts)]
    for idx, byte in enumerate(secret):
        coeffs = [byte] + [secrets.randbelow(256) for _ in range(threshold - 1)]
        for share, x in zip(shares, xs, strict=True):
            y = 0
            for c in reversed(coeffs):
                y = _fmul(y, x) ^ c
            share[idx] = y
    for share, x in zip(shares, xs, strict=True):
        share[-1] = x
    return [bytes(s) for s in shares]


def combine(shares: Sequence[bytes]) -> bytes:
    """Recover the secret from at least ``threshold`` shares (Lagrange interpolation at x = 0)."""
    if len(shares) < 2:
        raise ValueError("shamir: less than two parts cannot be used to reconstruct the secret")
    length = len(shares[0])
    if length < 2 or any(len(s) != length for s in shares):
        raise ValueError("shamir: all parts must be the same length and at least two bytes")
    xs = [s[-1] for s in shares]
    if len(set(xs)) != len(xs):
        raise ValueError("shamir: duplicate part detected")
    out = bytearray(length - 1)
    for idx in range(length - 1):
        acc = 0
        for i, share in enumerate(shares):
            num, den = 1, 1
            for j, xj in enumerate(xs):
                if i != j:
                    num = _fmul(num, xj)
                    den = _fmul(den, xs[i] ^ xj)
            acc ^= _fmul(share[idx], _fdiv(num, den))
        out[idx] = acc
    return bytes(out)
