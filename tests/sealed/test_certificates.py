"""The sealing certificate: our DER reader agrees with ``cryptography``; bad certificates are refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sealed.format.certs import format_date, parse_certificate_pem
from sealed.format.errors import FormatError
from sealed.format.keygen import generate_key_pair
from tests.sealed.conftest import SealingKey, make_sealing_key, run_kubeseal, run_lockstep

SECRET = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\ndata:\n  k: dg==\n"


def test_reader_matches_cryptography(sealing_key: SealingKey) -> None:
    parsed = parse_certificate_pem(sealing_key.cert_pem)
    reference = x509.load_pem_x509_certificate(sealing_key.cert_pem)
    numbers = reference.public_key().public_numbers()  # type: ignore[union-attr]
    assert (parsed.modulus, parsed.exponent) == (numbers.n, numbers.e)
    assert parsed.not_after == int(reference.not_valid_after_utc.timestamp())
    assert parsed.not_before == int(reference.not_valid_before_utc.timestamp())


def test_generalized_time_and_date_format() -> None:
    start = dt.datetime(2049, 6, 1, tzinfo=dt.UTC)
    end = dt.datetime(2051, 2, 3, 4, 5, 6, tzinfo=dt.UTC)  # after 2049: GeneralizedTime
    parsed = parse_certificate_pem(generate_key_pair(2048, not_before=start, not_after=end).cert_pem)
    assert parsed.not_after == int(end.timestamp())
    assert format_date(parsed.not_after) == "February 3, 2051"


def test_expired_certificate_refused(kubeseal_bin: str, keys_dir: Path, tmp_path: Path) -> None:
    expired = make_sealing_key(keys_dir, "expired", expired=True)
    out = tmp_path / "out.json"
    ours = run_lockstep("--cert", str(expired.cert_path), "-w", str(out), stdin=SECRET)
    theirs = run_kubeseal(kubeseal_bin, "--cert", str(expired.cert_path), stdin=SECRET)
    assert ours.returncode == 1 and theirs.returncode != 0
    date = format_date(int(x509.load_pem_x509_certificate(expired.cert_pem).not_valid_after_utc.timestamp()))
    assert ours.stderr.decode() == (
        f"error: {expired.cert_path}: failed to encrypt using an expired certificate on {date}\n"
    )
    assert date.encode() in theirs.stderr
    assert not out.exists()


def _refused(path: Path, tmp_path: Path) -> str:
    out = tmp_path / "never.json"
    result = run_lockstep("--cert", str(path), "-w", str(out), stdin=SECRET)
    assert result.returncode == 1
    assert not out.exists()
    return result.stderr.decode()


def test_not_pem_refused(tmp_path: Path) -> None:
    path = tmp_path / "cert.pem"
    path.write_text("this is not a certificate\n")
    assert _refused(path, tmp_path) == (
        f"error: {path}: data does not contain any valid RSA or ECDSA certificates\n"
    )


def test_public_key_pem_is_not_a_certificate(sealing_key: SealingKey, tmp_path: Path) -> None:
    path = tmp_path / "pub.pem"
    path.write_bytes(
        sealing_key.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert "data does not contain any valid RSA or ECDSA certificates" in _refused(path, tmp_path)


def test_ecdsa_certificate_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "ec.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    assert "expected RSA public key but found ECDSA" in _refused(path, tmp_path)


def test_truncated_certificate_is_a_clear_error(sealing_key: SealingKey) -> None:
    lines = sealing_key.cert_pem.decode().splitlines()
    truncated = "\n".join([*lines[:5], lines[-1]]) + "\n"
    with pytest.raises(FormatError, match="malformed certificate"):
        parse_certificate_pem(truncated.encode())


def test_missing_cert_file(tmp_path: Path) -> None:
    assert _refused(tmp_path / "absent.pem", tmp_path).startswith(
        f"error: {tmp_path / 'absent.pem'}: No such file"
    )


def test_certificate_with_unusable_rsa_numbers_refused(sealing_key: SealingKey, tmp_path: Path) -> None:
    """A certificate whose public key cannot seal (here an even exponent, patched into the DER: the
    signature is not what sealing checks) is refused naming the file, before any RSA operation."""
    from gocompat.pem import decode_blocks, encode_block

    ((kind, _, der),) = decode_blocks(sealing_key.cert_pem.decode())
    exponent = bytes.fromhex("0203010001")  # INTEGER 65537
    assert der.count(exponent) == 1
    path = tmp_path / "even-exponent.pem"
    path.write_text(encode_block(kind, der.replace(exponent, bytes.fromhex("0203010000"))))
    assert _refused(path, tmp_path) == (
        f"error: {path}: RSA public key is invalid (even modulus or exponent)\n"
    )
