"""Bitnami's hybrid encryption: RSA-OAEP-SHA256 wraps a one-time AES-256-GCM key.

One sealed value is ``uint16be(len(rsa)) || RSA-OAEP(session key, label) || AES-GCM(value, nonce=0)``.
The zero nonce is safe only because every session key is fresh and used once; the OAEP label binds the
value to its scope (``ns/name``, ``ns`` or nothing), so a value moved elsewhere cannot be opened.
"""

from __future__ import annotations

import os

from core_sync.primitives import sha256
from sealed.format import b64
from sealed.format.errors import FormatError

TYPE_CHECKING = False  # typing and cryptography's Python layer are not imported to seal (start-up speed)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from sealed.format.certs import SealingCert

SESSION_KEY_BYTES = 32
ZERO_NONCE = bytes(12)
TOO_SHORT = "SealedSecret data is too short"
NO_KEY = "no key could decrypt secret"
NATIVE_AFTER = 4  # values a key seals with our own oaep and aes_gcm before it switches to OpenSSL
NATIVE_MAX_BYTES = 1024  # a larger value costs our AES-GCM more than loading OpenSSL's (~17 M instructions)


def _oaep(label: bytes) -> padding.OAEP:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=label)


class PublicKey:
    """An RSA public key that seals its first few values with our own code (:mod:`sealed.format.oaep`,
    :mod:`sealed.format.aes_gcm`, pure Python) and the rest with ``cryptography``'s OpenSSL.

    Why both: importing ``cryptography``'s Python layer costs about as much as four 4096-bit ``pow`` calls,
    its Rust binding plus OpenSSL's first AES-GCM about as much as our AES-GCM of 1 KiB, and one OpenSSL
    encryption is ~8x faster than ``pow``; so a single ``lockstep seal`` (a few small values) never imports
    ``cryptography``, and ``--in-place`` over a thousand files, re-sealing, the controller's ``/v1/rotate``
    and large values get OpenSSL's speed. Both write the same bytes (RFC 8017 OAEP with SHA-256, MGF1-SHA-256
    and the label; SP 800-38D AES-256-GCM).
    """

    __slots__ = ("_native", "_sealed", "exponent", "modulus")

    def __init__(self, modulus: int, exponent: int) -> None:
        self.modulus = modulus
        self.exponent = exponent
        self._sealed = 0
        self._native: rsa.RSAPublicKey | None = None

    @property
    def key_size(self) -> int:
        return self.modulus.bit_length()

    def _openssl_for(self, size: int) -> tuple[bool, bool]:
        """Whether the next value's RSA and its AES-GCM (``size`` bytes) go to OpenSSL: the one place that
        decides. RSA after ``NATIVE_AFTER`` values; AES-GCM then too, or for a value over
        ``NATIVE_MAX_BYTES`` (its own import is cheap, the pure-Python cipher is not)."""
        if self._native is None and self._sealed >= NATIVE_AFTER:
            from cryptography.hazmat.primitives.asymmetric import rsa

            self._native = rsa.RSAPublicNumbers(self.exponent, self.modulus).public_key()
        self._sealed += 1
        rsa_openssl = self._native is not None
        return rsa_openssl, rsa_openssl or size > NATIVE_MAX_BYTES

    def seal(self, session_key: bytes, plaintext: bytes, label: bytes) -> tuple[bytes, bytes]:
        """RSA-OAEP(SHA-256) of ``session_key`` under ``label`` (kubeseal's ``rsa.EncryptOAEP``) and
        ``AES-GCM(plaintext, nonce=0)`` under it, each by whichever side :meth:`_openssl_for` picks."""
        rsa_openssl, aes_openssl = self._openssl_for(len(plaintext))
        if rsa_openssl and self._native is not None:
            wrapped = self._native.encrypt(session_key, _oaep(label))
        else:
            from sealed.format import oaep

            wrapped = oaep.encrypt(self.modulus, self.exponent, session_key, label)
        if aes_openssl:
            from core_sync.primitives import AESGCM

            return wrapped, AESGCM(session_key).encrypt(ZERO_NONCE, plaintext, None)
        from sealed.format import aes_gcm

        return wrapped, aes_gcm.encrypt(session_key, ZERO_NONCE, plaintext)


def public_key(cert: SealingCert) -> PublicKey:
    return PublicKey(cert.modulus, cert.exponent)


def public_key_of(key: rsa.RSAPrivateKey) -> PublicKey:
    """The sealing half of a private key (to re-seal with the key that will open it)."""
    numbers = key.public_key().public_numbers()
    return PublicKey(numbers.n, numbers.e)


def hybrid_encrypt(key: PublicKey, plaintext: bytes, label: bytes, session_key: bytes | None = None) -> bytes:
    """Seal one value; the output differs every call (random session key and OAEP seed). A caller that
    verifies its own output passes a fresh ``session_key`` it keeps in memory (:func:`open_with_session`)."""
    session_key = session_key or os.urandom(SESSION_KEY_BYTES)
    wrapped, sealed = key.seal(session_key, plaintext, label)
    return len(wrapped).to_bytes(2, "big") + wrapped + sealed


def open_with(key: rsa.RSAPrivateKey, blob: bytes, label: bytes) -> bytes:
    """Open one value with one key; raises ``ValueError`` if the key, label or bytes do not match."""
    if len(blob) < 2:
        raise FormatError(TOO_SHORT)
    size = int.from_bytes(blob[:2], "big")
    if len(blob) < 2 + size:
        raise FormatError(TOO_SHORT)
    if size != (key.key_size + 7) // 8:
        raise ValueError("RSA ciphertext length does not match this key")
    session_key = key.decrypt(blob[2 : 2 + size], _oaep(label))
    return _open_aes(session_key, blob[2 + size :])


def open_with_session(session_key: bytes, blob: bytes) -> bytes:
    """Open a value's AES-GCM part with the session key it was sealed under (no private-key operation)."""
    size = int.from_bytes(blob[:2], "big") if len(blob) >= 2 else 0
    if len(blob) < 2 + size:
        raise FormatError(TOO_SHORT)
    return _open_aes(session_key, blob[2 + size :])


def _open_aes(session_key: bytes, sealed: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag

    from core_sync.primitives import AESGCM

    try:
        return AESGCM(session_key).decrypt(ZERO_NONCE, sealed, None)
    except InvalidTag:
        raise ValueError("AES-GCM authentication failed") from None


class PrivateKey:
    """A private key with the fingerprint errors name it by (never the key itself)."""

    __slots__ = ("fingerprint", "key", "source")

    def __init__(self, key: rsa.RSAPrivateKey, fingerprint: str, source: str = "") -> None:
        self.key = key
        self.fingerprint = fingerprint
        self.source = source


def fingerprint(key: PublicKey) -> str:
    """``ssh.FingerprintSHA256`` of the public key, as Bitnami's controller names keys."""

    def mpint(value: int) -> bytes:
        raw = value.to_bytes(value.bit_length() // 8 + 1, "big")
        return len(raw).to_bytes(4, "big") + raw

    wire = len(b"ssh-rsa").to_bytes(4, "big") + b"ssh-rsa" + mpint(key.exponent) + mpint(key.modulus)
    digest = b64.encode(sha256(wire).digest()).rstrip("=")
    return f"SHA256:{digest}"


def private_key(key: rsa.RSAPrivateKey, source: str = "") -> PrivateKey:
    return PrivateKey(key, fingerprint(public_key_of(key)), source)


def hybrid_decrypt(keys: Sequence[PrivateKey], blob: bytes, label: bytes) -> bytes:
    """Try every key (the ciphertext carries no key id) and return the first plaintext that opens."""
    return hybrid_open(keys, blob, label)[0]


def hybrid_open(keys: Sequence[PrivateKey], blob: bytes, label: bytes) -> tuple[bytes, PrivateKey]:
    """:func:`hybrid_decrypt`, also saying which key opened the value (to record which key a secret needs)."""
    if len(blob) < 2 or len(blob) < 2 + int.from_bytes(blob[:2], "big"):
        raise FormatError(TOO_SHORT)
    for candidate in keys:
        try:
            return open_with(candidate.key, blob, label), candidate
        except ValueError:
            continue
    raise FormatError(NO_KEY)
