"""AES-256-GCM *encryption* (no decryption): FIPS-197 AES-256 and NIST SP 800-38D GCM with a 96-bit IV.

Why our own: the only other AES-GCM here is OpenSSL's through ``cryptography``'s Rust binding, and importing
that binding plus OpenSSL's first AES-GCM call cost ~16 M instructions, a quarter of what a single
``lockstep seal`` may spend over the bare interpreter (issue 16) -- for a few values of a few dozen bytes.
Same reasoning as :mod:`sealed.format.oaep`: ``sealed.format.crypto`` uses this for the first few values a
sealing key seals (each small, see ``crypto.NATIVE_MAX_BYTES``) and OpenSSL for everything after, so
``--in-place`` over many files and large values keep OpenSSL's speed. Decryption, and everything touching a
private key, stay on ``cryptography``; tests check the published GCM test vectors and that ``cryptography``'s
AES-GCM opens (and itself writes) exactly these bytes.

Limits: table-driven Python, *not constant-time* (table lookups indexed by key and data bytes); acceptable
only because each key is a fresh random session key that seals one value in a one-shot process and is
then dropped. The S-box is a literal (loading it is cheaper than computing it; a test recomputes it from
the FIPS-197 definition); the round tables are derived from it at import
(~0.3 M instructions).
"""

from __future__ import annotations

import sys

BLOCK_BYTES = 16
IV_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
ROUNDS = 14  # AES-256

SBOX = bytes.fromhex(
    "637c777bf26b6fc53001672bfed7ab76ca82c97dfa5947f0add4a2af9ca472c0"
    "b7fd9326363ff7cc34a5e5f171d8311504c723c31896059a071280e2eb27b275"
    "09832c1a1b6e5aa0523bd6b329e32f8453d100ed20fcb15b6acbbe394a4c58cf"
    "d0efaafb434d338545f9027f503c9fa851a3408f929d38f5bcb6da2110fff3d2"
    "cd0c13ec5f974417c4a77e3d645d197360814fdc222a908846eeb814de5e0bdb"
    "e0323a0a4906245cc2d3ac629195e479e7c8376d8dd54ea96c56f4ea657aae08"
    "ba78252e1ca6b4c6e8dd741f4bbd8b8a703eb5664803f60e613557b986c11d9e"
    "e1f8981169d98e949b1e87e9ce5528df8ca1890dbfe6426841992d0fb054bb16"
)


def _round_tables() -> list[list[int]]:
    """SubBytes+MixColumns of one byte per state row, as 32-bit column words (FIPS-197 5.1): T0 is
    ``{02}s || s || s || {03}s`` and T1..T3 its rotations. Built a whole column at a time (xtime on the
    S-box read as one 2048-bit integer, bytes interleaved by slice assignment): a loop of 1,024 Python
    integers would cost more than the few values it serves (~1.7 M instructions against ~0.3 M)."""
    s = int.from_bytes(SBOX, "big")
    ones = int.from_bytes(b"\x01" * 256, "big")
    double = ((s & (0x7F * ones)) << 1) ^ (((s >> 7) & ones) * 0x1B)
    columns = [double.to_bytes(256, "big"), SBOX, SBOX, (double ^ s).to_bytes(256, "big")]
    tables = []
    for rotation in range(4):
        word = columns[4 - rotation :] + columns[: 4 - rotation]  # big-endian bytes of the word
        if sys.byteorder == "little":
            word.reverse()
        packed = bytearray(1024)
        for position, column in enumerate(word):
            packed[position::4] = column
        tables.append(memoryview(packed).cast("I").tolist())
    return tables


_T0, _T1, _T2, _T3 = _round_tables()
_RCON = (0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40)


def _substitute(a: int, b: int, c: int, d: int) -> int:
    """A word of SubBytes: the S-box of byte 0 of ``a``, byte 1 of ``b``, byte 2 of ``c``, byte 3 of ``d``
    (``a = b = c = d``: SubWord; the state's columns in ShiftRows order: the last round)."""
    sbox = SBOX
    return sbox[a >> 24] << 24 | sbox[(b >> 16) & 0xFF] << 16 | sbox[(c >> 8) & 0xFF] << 8 | sbox[d & 0xFF]


def expand_key(key: bytes) -> list[int]:
    """The 60 round-key words of AES-256 (FIPS-197 5.2, Nk = 8)."""
    if len(key) != KEY_BYTES:
        raise ValueError("AES-256 needs a 32-byte key")
    words = [int.from_bytes(key[i : i + 4], "big") for i in range(0, KEY_BYTES, 4)]
    for i in range(8, 4 * (ROUNDS + 1)):
        temp = words[i - 1]
        if i % 8 == 0:
            rotated = ((temp << 8) & 0xFFFFFFFF) | (temp >> 24)
            temp = _substitute(rotated, rotated, rotated, rotated) ^ (_RCON[i // 8 - 1] << 24)
        elif i % 8 == 4:
            temp = _substitute(temp, temp, temp, temp)
        words.append(words[i - 8] ^ temp)
    return words


def encrypt_block(round_keys: list[int], block: int) -> int:
    """AES-256 of one 128-bit block given as a big-endian integer (FIPS-197 5.1, table form)."""
    t0, t1, t2, t3 = _T0, _T1, _T2, _T3
    s0 = (block >> 96) ^ round_keys[0]
    s1 = ((block >> 64) & 0xFFFFFFFF) ^ round_keys[1]
    s2 = ((block >> 32) & 0xFFFFFFFF) ^ round_keys[2]
    s3 = (block & 0xFFFFFFFF) ^ round_keys[3]
    for r in range(4, 4 * ROUNDS, 4):
        s0, s1, s2, s3 = (
            t0[s0 >> 24] ^ t1[(s1 >> 16) & 0xFF] ^ t2[(s2 >> 8) & 0xFF] ^ t3[s3 & 0xFF] ^ round_keys[r],
            t0[s1 >> 24] ^ t1[(s2 >> 16) & 0xFF] ^ t2[(s3 >> 8) & 0xFF] ^ t3[s0 & 0xFF] ^ round_keys[r + 1],
            t0[s2 >> 24] ^ t1[(s3 >> 16) & 0xFF] ^ t2[(s0 >> 8) & 0xFF] ^ t3[s1 & 0xFF] ^ round_keys[r + 2],
            t0[s3 >> 24] ^ t1[(s0 >> 16) & 0xFF] ^ t2[(s1 >> 8) & 0xFF] ^ t3[s2 & 0xFF] ^ round_keys[r + 3],
        )
    last = 4 * ROUNDS
    return (
        (_substitute(s0, s1, s2, s3) ^ round_keys[last]) << 96
        | (_substitute(s1, s2, s3, s0) ^ round_keys[last + 1]) << 64
        | (_substitute(s2, s3, s0, s1) ^ round_keys[last + 2]) << 32
        | (_substitute(s3, s0, s1, s2) ^ round_keys[last + 3])
    )


# GF(2^128) in SP 800-38D's bit order: the block read big-endian, so the spec's x^0 is the integer's top bit
# and multiplying by x is a right shift, reduced by R = 11100001 || 0^120 when a bit falls off.
_R = 0xE1 << 120


def _times_x(value: int) -> int:
    return (value >> 1) ^ _R if value & 1 else value >> 1


def _times_x4(value: int) -> int:
    for _ in range(4):
        value = _times_x(value)
    return value


_REDUCE4 = [_times_x4(low) for low in range(16)]  # what the 4 bits shifted out by a multiplication by x^4 add


def _nibble_table(h: int) -> list[int]:
    """``table[v]``: the 4-bit element ``v`` (spec bits 0..3 = v's bits 3..0) times ``h`` (Shoup's method)."""
    table = [0] * 16
    table[8] = h
    table[4] = _times_x(h)
    table[2] = _times_x(table[4])
    table[1] = _times_x(table[2])
    for v in (3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15):
        high = 1 << (v.bit_length() - 1)
        table[v] = table[high] ^ table[v ^ high]
    return table


def ghash(h: int, data: bytes) -> int:
    """GHASH_H (SP 800-38D 6.4) of ``data`` (whole blocks), by 4-bit table and Horner's rule per block."""
    table, reduce4 = _nibble_table(h), _REDUCE4
    y = 0
    for offset in range(0, len(data), BLOCK_BYTES):
        a = y ^ int.from_bytes(data[offset : offset + BLOCK_BYTES], "big")
        y = 0
        for shift in range(0, 128, 4):
            y = (y >> 4) ^ reduce4[y & 15] ^ table[(a >> shift) & 15]
    return y


def _zero_pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK_BYTES)


def encrypt(key: bytes, iv: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """GCM-AE (SP 800-38D 7.1) with AES-256: ``ciphertext || tag`` (16-byte tag), as ``AESGCM.encrypt``."""
    if len(iv) != IV_BYTES:
        raise ValueError("only 96-bit GCM IVs are supported")
    round_keys = expand_key(key)
    h = encrypt_block(round_keys, 0)
    prefix = int.from_bytes(iv, "big") << 32  # J0 = IV || 0^31 || 1; inc32 counts in the low 32 bits
    blocks = (len(plaintext) + BLOCK_BYTES - 1) // BLOCK_BYTES
    stream = b"".join(
        encrypt_block(round_keys, prefix | ((2 + i) & 0xFFFFFFFF)).to_bytes(BLOCK_BYTES, "big")
        for i in range(blocks)
    )
    size = len(plaintext)
    ciphertext = (int.from_bytes(plaintext, "big") ^ int.from_bytes(stream[:size], "big")).to_bytes(
        size, "big"
    )
    lengths = (len(aad) * 8).to_bytes(8, "big") + (size * 8).to_bytes(8, "big")
    s = ghash(h, _zero_pad(aad) + _zero_pad(ciphertext) + lengths)
    tag = s ^ encrypt_block(round_keys, prefix | 1)
    return ciphertext + tag.to_bytes(TAG_BYTES, "big")
