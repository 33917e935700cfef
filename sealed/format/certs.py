"""The sealing certificate: PEM ``CERTIFICATE`` blocks only, RSA only, expired ones refused (as kubeseal).

Why a small DER reader instead of ``cryptography.x509``: importing ``cryptography.x509`` costs ~30 ms,
which is the whole start-up budget of ``lockstep seal``. Sealing needs three facts from the certificate
(modulus, exponent, validity), and a DER walk over the fixed X.509 layout gives them in a few lines.
"""

from __future__ import annotations

from sealed.format.errors import FormatError

_RSA_ENCRYPTION = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1
_KNOWN_KEY_ALGORITHMS = {
    bytes.fromhex("2a8648ce3d0201"): "ECDSA",  # 1.2.840.10045.2.1
    bytes.fromhex("2b6570"): "Ed25519",  # 1.3.101.112
    bytes.fromhex("2a8648ce380401"): "DSA",  # 1.2.840.10040.4.1
}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

NOT_A_CERTIFICATE = "data does not contain any valid RSA or ECDSA certificates"


class SealingCert:
    """What sealing needs from a certificate: the RSA public numbers and the validity window (Unix time)."""

    __slots__ = ("exponent", "modulus", "not_after", "not_before")

    def __init__(self, modulus: int, exponent: int, not_before: int, not_after: int) -> None:
        self.modulus = modulus
        self.exponent = exponent
        self.not_before = not_before
        self.not_after = not_after

    @property
    def key_bytes(self) -> int:
        return (self.modulus.bit_length() + 7) // 8

    def check_valid(self, now: float) -> None:
        """kubeseal refuses to encrypt with an expired certificate; so do we, with the same words."""
        if now > self.not_after:
            raise FormatError(
                f"failed to encrypt using an expired certificate on {format_date(self.not_after)}"
            )


def format_date(unix: int) -> str:
    """``January 2, 2006`` (Go's layout used in kubeseal's message) without importing datetime."""
    year, month, day = _civil_from_days(unix // 86400)
    return f"{_MONTHS[month - 1]} {day}, {year}"


def pem_blocks(data: bytes) -> list[tuple[str, bytes, bool]]:
    """Every PEM block as ``(type, der, has_headers)``, found as Go's ``pem.Decode`` loop finds them."""
    from gocompat.pem import decode_blocks

    return [(kind, der, bool(headers)) for kind, headers, der in decode_blocks(data.decode("latin-1"))]


def parse_certificate_pem(data: bytes) -> SealingCert:
    """The first PEM ``CERTIFICATE`` block without headers, which must carry an RSA key."""
    certs = [der for kind, der, headers in pem_blocks(data) if kind == "CERTIFICATE" and not headers]
    if not certs:
        raise FormatError(NOT_A_CERTIFICATE)
    return parse_certificate_der(certs[0])


def parse_certificate_der(der: bytes) -> SealingCert:
    try:
        return _parse_certificate(der)
    except (IndexError, ValueError) as error:
        if isinstance(error, FormatError):
            raise
        raise FormatError(f"x509: malformed certificate ({error})") from None


def _parse_certificate(der: bytes) -> SealingCert:
    cert, _ = _tlv(der, 0, 0x30)
    tbs, _ = _tlv(cert, 0, 0x30)
    fields = list(_children(tbs))
    if fields and fields[0][0] == 0xA0:  # [0] EXPLICIT version
        fields = fields[1:]
    if len(fields) < 6:
        raise ValueError("too few fields in TBSCertificate")
    (_serial, _signature, _issuer, (vtag, validity), _subject, (stag, spki)) = fields[:6]
    if vtag != 0x30 or stag != 0x30:
        raise ValueError("unexpected TBSCertificate layout")
    times = list(_children(validity))
    if len(times) != 2:
        raise ValueError("validity is not two times")
    not_before, not_after = (_parse_time(tag, value) for tag, value in times)
    algorithm, key_bits = list(_children(spki))[:2]
    oid_tag, oid = next(iter(_children(algorithm[1])))
    if oid_tag != 0x06:
        raise ValueError("public key algorithm is not an OID")
    if oid != _RSA_ENCRYPTION:
        found = _KNOWN_KEY_ALGORITHMS.get(oid, "OID " + _oid_text(oid))
        raise FormatError(f"expected RSA public key but found {found}")
    if key_bits[0] != 0x03 or not key_bits[1] or key_bits[1][0] != 0:
        raise ValueError("subjectPublicKey is not a whole-byte BIT STRING")
    rsa_key, _ = _tlv(key_bits[1][1:], 0, 0x30)
    numbers = list(_children(rsa_key))
    if len(numbers) != 2 or numbers[0][0] != 0x02 or numbers[1][0] != 0x02:
        raise ValueError("RSAPublicKey is not two INTEGERs")
    modulus, exponent = (int.from_bytes(value, "big") for _, value in numbers)
    check_rsa_public_numbers(modulus, exponent)
    return SealingCert(modulus, exponent, not_before, not_after)


MIN_MODULUS_BITS = 1024
MAX_MODULUS_BITS = 16384  # OpenSSL's own ceiling for RSA public-key operations
MAX_EXPONENT = 2**31 - 1  # Go's crypto/rsa refuses larger public exponents


def check_rsa_public_numbers(modulus: int, exponent: int) -> None:
    """Refuse a public key that could not seal (or would make ``pow`` run for minutes): the same limits
    OpenSSL and Go's ``crypto/rsa`` apply, checked before any RSA operation."""
    if modulus.bit_length() < MIN_MODULUS_BITS or exponent < 3:
        raise FormatError("RSA public key is too small to seal with")
    if modulus.bit_length() > MAX_MODULUS_BITS:
        raise FormatError(
            f"RSA public key is too large to seal with "
            f"({modulus.bit_length()} bits, at most {MAX_MODULUS_BITS})"
        )
    if exponent > MAX_EXPONENT:
        raise FormatError("RSA public exponent is too large")
    if modulus % 2 == 0 or exponent % 2 == 0 or exponent >= modulus:
        raise FormatError("RSA public key is invalid (even modulus or exponent)")


def _tlv(data: bytes, offset: int, expect: int | None = None) -> tuple[bytes, int]:
    """The value at ``offset`` (checked against ``expect``) and the offset after it."""
    tag = data[offset]
    if expect is not None and tag != expect:
        raise ValueError(f"expected tag 0x{expect:02x}, found 0x{tag:02x}")
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise ValueError("truncated DER")
    return data[start:end], end


def _children(data: bytes) -> list[tuple[int, bytes]]:
    items, offset = [], 0
    while offset < len(data):
        tag = data[offset]
        value, offset = _tlv(data, offset)
        items.append((tag, value))
    return items


def _parse_time(tag: int, value: bytes) -> int:
    text = value.decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        year = int(text[0:2])
        year += 1900 if year >= 50 else 2000
        rest = text[2:]
    elif tag == 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        year, rest = int(text[0:4]), text[4:]
    else:
        raise ValueError("validity time is neither UTCTime nor GeneralizedTime")
    if not rest.endswith("Z") or len(rest) < 11:
        raise ValueError("validity time is not in UTC")
    month, day, hour, minute, second = (int(rest[i : i + 2]) for i in range(0, 10, 2))
    return _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 (Howard Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _oid_text(oid: bytes) -> str:
    parts, value = [], 0
    for byte in oid:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    if not parts:
        return "?"
    first = min(parts[0] // 40, 2)
    return ".".join(str(p) for p in [first, parts[0] - first * 40, *parts[1:]])
