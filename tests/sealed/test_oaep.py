"""Our RSA-OAEP encryption (``sealed.format.oaep``, RFC 8017 7.1.1, SHA-256/MGF1-SHA-256) is opened by
``cryptography``'s private-key OAEP decryption: many random session keys and labels, several key sizes,
both halves of the sealing key (pure Python first, OpenSSL after ``NATIVE_AFTER`` values)."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from sealed.format import crypto, oaep
from sealed.format.certs import check_rsa_public_numbers
from sealed.format.errors import FormatError

KEY_SIZES = (1024, 2048, 3072, 4096)
_KEYS: dict[tuple[int, int], rsa.RSAPrivateKey] = {}


def private_key(bits: int, exponent: int = 65537) -> rsa.RSAPrivateKey:
    if (bits, exponent) not in _KEYS:
        _KEYS[bits, exponent] = rsa.generate_private_key(exponent, bits)
    return _KEYS[bits, exponent]


def open_oaep(key: rsa.RSAPrivateKey, ciphertext: bytes, label: bytes) -> bytes:
    mgf = padding.MGF1(algorithm=hashes.SHA256())
    return key.decrypt(ciphertext, padding.OAEP(mgf=mgf, algorithm=hashes.SHA256(), label=label))


LABELS = st.one_of(
    st.just(b""),
    st.builds(
        lambda ns, name: f"{ns}/{name}".encode(), st.text(min_size=1, max_size=20), st.text(max_size=40)
    ),
    st.binary(max_size=300),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(KEY_SIZES), st.binary(min_size=32, max_size=32), LABELS)
def test_cryptography_opens_our_session_keys(bits: int, session_key: bytes, label: bytes) -> None:
    key = private_key(bits)
    numbers = key.public_key().public_numbers()
    ciphertext = oaep.encrypt(numbers.n, numbers.e, session_key, label)
    assert len(ciphertext) == bits // 8
    assert open_oaep(key, ciphertext, label) == session_key


@settings(max_examples=100, deadline=None)
@given(st.sampled_from((1024, 2048)), st.data())
def test_every_message_length_up_to_the_limit(bits: int, data: st.DataObject) -> None:
    key = private_key(bits)
    numbers = key.public_key().public_numbers()
    limit = bits // 8 - 2 * oaep.HASH_BYTES - 2
    message = data.draw(st.binary(max_size=limit))
    label = data.draw(LABELS)
    assert open_oaep(key, oaep.encrypt(numbers.n, numbers.e, message, label), label) == message


def test_other_public_exponents() -> None:
    key = private_key(2048, 3)
    numbers = key.public_key().public_numbers()
    assert open_oaep(key, oaep.encrypt(numbers.n, numbers.e, b"k" * 32, b"ns"), b"ns") == b"k" * 32


def test_wrong_label_does_not_open() -> None:
    key = private_key(2048)
    numbers = key.public_key().public_numbers()
    ciphertext = oaep.encrypt(numbers.n, numbers.e, os.urandom(32), b"ns/a")
    with pytest.raises(ValueError):
        open_oaep(key, ciphertext, b"ns/b")


def test_fresh_seed_every_time_and_a_fixed_seed_is_deterministic() -> None:
    numbers = private_key(2048).public_key().public_numbers()
    message = bytes(32)
    assert oaep.encrypt(numbers.n, numbers.e, message, b"") != oaep.encrypt(
        numbers.n, numbers.e, message, b""
    )
    seed = bytes(range(32))
    once = oaep.encrypt(numbers.n, numbers.e, message, b"", seed=seed)
    assert once == oaep.encrypt(numbers.n, numbers.e, message, b"", seed=seed)
    assert open_oaep(private_key(2048), once, b"") == message


def test_message_too_long_is_refused() -> None:
    numbers = private_key(1024).public_key().public_numbers()
    with pytest.raises(ValueError, match="too long"):
        oaep.encrypt(numbers.n, numbers.e, bytes(1024 // 8 - 2 * 32 - 1), b"")


@pytest.mark.parametrize("bits", [2048, 4096])
def test_sealing_key_switches_to_openssl_and_every_value_opens(bits: int) -> None:
    """The first ``NATIVE_AFTER`` values are sealed by our OAEP, the rest by cryptography's: all open."""
    key = private_key(bits)
    public = crypto.public_key_of(key)
    opener = [crypto.private_key(key)]
    for index in range(crypto.NATIVE_AFTER + 3):
        label = f"ns/name-{index}".encode()
        plaintext = os.urandom(index * 7)
        blob = crypto.hybrid_encrypt(public, plaintext, label)
        assert crypto.hybrid_decrypt(opener, blob, label) == plaintext
        assert (public._native is not None) == (index >= crypto.NATIVE_AFTER)


@pytest.mark.parametrize(
    ("top_bit", "low", "exponent", "reason"),
    [
        (1022, 1, 65537, "too small"),
        (2047, 1, 1, "too small"),
        (16384, 1, 65537, "too large to seal with (16385 bits, at most 16384)"),
        (2047, 1, 2**31 + 1, "exponent is too large"),
        (2047, 2, 65537, "invalid (even modulus or exponent)"),
        (2047, 1, 65536, "invalid (even modulus or exponent)"),
    ],
)
def test_unusable_public_numbers_are_refused(top_bit: int, low: int, exponent: int, reason: str) -> None:
    with pytest.raises(FormatError) as refused:
        check_rsa_public_numbers((1 << top_bit) + low, exponent)
    assert reason in str(refused.value)
