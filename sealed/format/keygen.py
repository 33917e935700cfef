"""New sealing keys, made as Bitnami's controller makes them (``pkg/crypto/keys.go``).

The certificate carries what Go's ``x509.CreateCertificate`` writes for Bitnami's template: self-signed,
version 3, a random serial below 2^128, ``CN=<common name>`` (empty by default, which is an empty name),
NotBefore = now and NotAfter = now + TTL (ten years by default), SHA256-RSA, and three extensions in Go's
order: KeyUsage (critical) with *only* encipherOnly, BasicConstraints (critical) ``CA:TRUE`` without a path
length, and a SubjectKeyIdentifier (Go adds one to every CA certificate; Go >= 1.25 derives it from the
first 160 bits of SHA-256 of the public key). The private key is PKCS#1 PEM, what Bitnami stores in
``tls.key``. Pure: nothing here touches the cluster.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from sealed.format.crypto import fingerprint, public_key_of

DEFAULT_KEY_BITS = 4096
DEFAULT_KEY_TTL = dt.timedelta(hours=10 * 365 * 24)  # Bitnami's --key-ttl default, 87600h
# KeyUsage BIT STRING with only bit 7 (encipherOnly) set, as Go encodes it: no unused bits, one byte 0x01.
# cryptography's KeyUsage type refuses encipherOnly without keyAgreement, so the DER is written directly.
_ENCIPHER_ONLY_DER = bytes.fromhex("03020001")


@dataclass(frozen=True)
class SealingKeyPair:
    """A private key with its certificate, both PEM; ``fingerprint`` is how Lockstep names the key."""

    key: rsa.RSAPrivateKey = field(repr=False)
    cert_pem: bytes
    key_pem: bytes = field(repr=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(public_key_of(self.key))


def generate_key_pair(
    bits: int = DEFAULT_KEY_BITS,
    *,
    ttl: dt.timedelta = DEFAULT_KEY_TTL,
    common_name: str = "",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> SealingKeyPair:
    """A fresh RSA key (exponent 65537) and its self-signed certificate, valid from now for ``ttl``.

    ``not_before``/``not_after`` override the window (tests make expired or back-dated keys with them).
    """
    if bits < 2048:
        raise ValueError(f"refusing a {bits}-bit sealing key: at least 2048 bits")
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    start = not_before or dt.datetime.now(dt.UTC).replace(microsecond=0)
    cert_pem = sign_certificate(
        key, not_before=start, not_after=not_after or start + ttl, common_name=common_name
    )
    return SealingKeyPair(key, cert_pem, private_key_pem(key))


def sign_certificate(
    key: rsa.RSAPrivateKey, *, not_before: dt.datetime, not_after: dt.datetime, common_name: str = ""
) -> bytes:
    """The PEM certificate Bitnami's ``SignKey`` would make for ``key`` over that validity window."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else [])
    public = key.public_key()
    public_bits = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(secrets.randbelow(1 << 128) or 1)  # Go: rand.Int(2^128); zero is not a valid serial
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.UnrecognizedExtension(ExtensionOID.KEY_USAGE, _ENCIPHER_ONLY_DER), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier(hashlib.sha256(public_bits).digest()[:20]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def private_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """PKCS#1 ``RSA PRIVATE KEY`` PEM, the form Bitnami writes to ``tls.key``."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
