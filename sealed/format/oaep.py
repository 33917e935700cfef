"""RSA-OAEP *encryption* (public key only): RFC 8017 7.1.1, EME-OAEP with SHA-256 and MGF1-SHA-256.

Why our own: the encrypting half of RSA-OAEP needs only ``pow(m, e, n)`` and two hashes, whereas calling it
through ``cryptography`` imports that library's Python layer (``padding``, ``hashes``, ``rsa``, ``typing``,
``enum``, ~26 M instructions), more than a single ``lockstep seal`` may spend over the bare interpreter.
Decryption, key generation and everything touching a private key stay on ``cryptography``; a property test
checks that ``cryptography``'s OAEP decryption opens what this writes, for many keys, sizes and labels.

The label is what kubeseal passes to Go's ``rsa.EncryptOAEP`` (``ns/name``, ``ns`` or empty), hashed
into ``lHash``; the seed comes from ``os.urandom``. The padding layout depends only on lengths; Python's
integer arithmetic is not constant-time, and the one secret it handles is a fresh session key used once.
"""

from __future__ import annotations

import os

from core_sync.primitives import sha256

HASH_BYTES = 32  # SHA-256


def _mgf1(seed: bytes, length: int) -> bytes:
    """MGF1 with SHA-256 (RFC 8017 B.2.1)."""
    blocks = (length + HASH_BYTES - 1) // HASH_BYTES
    return b"".join(sha256(seed + counter.to_bytes(4, "big")).digest() for counter in range(blocks))[:length]


def _xor(data: bytes, mask: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(mask, "big")).to_bytes(len(data), "big")


def encrypt(modulus: int, exponent: int, message: bytes, label: bytes, seed: bytes | None = None) -> bytes:
    """RSAES-OAEP-ENCRYPT (RFC 8017 7.1.1) of ``message``; ``seed``: for test vectors only (else random)."""
    size = (modulus.bit_length() + 7) // 8
    if len(message) > size - 2 * HASH_BYTES - 2:
        raise ValueError("message too long for RSA-OAEP with this key")
    padding = bytes(size - len(message) - 2 * HASH_BYTES - 2)
    block = sha256(label).digest() + padding + b"\x01" + message
    seed = os.urandom(HASH_BYTES) if seed is None else seed
    if len(seed) != HASH_BYTES:
        raise ValueError("the OAEP seed must be as long as the hash")
    masked_block = _xor(block, _mgf1(seed, size - HASH_BYTES - 1))
    masked_seed = _xor(seed, _mgf1(masked_block, HASH_BYTES))
    encoded = int.from_bytes(b"\x00" + masked_seed + masked_block, "big")
    return pow(encoded, exponent, modulus).to_bytes(size, "big")
