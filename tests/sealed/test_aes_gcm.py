"""Our AES-256-GCM encryption (``sealed.format.aes_gcm``): the published test vectors, byte-identical output
to ``cryptography``'s AESGCM (which also opens it), the ours-vs-OpenSSL switch in ``crypto.PublicKey``, and
values sealed through both sides opened by the real ``kubeseal --recovery-unseal``."""

from __future__ import annotations

import base64
import os

import pytest
import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from sealed.format import aes_gcm, crypto
from tests.sealed.conftest import SealingKey, kubeseal_unseal, ok, run_lockstep

# McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test cases 13-16 (AES-256, 96-bit IV):
# key, IV, plaintext, AAD, ciphertext, tag (hex).
K15 = "feffe9928665731c6d6a8f9467308308" * 2
IV15 = "cafebabefacedbaddecaf888"
P15 = (
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
)
C15 = (
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
)
GCM_VECTORS = [
    ("00" * 32, "00" * 12, "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"),
    (
        "00" * 32,
        "00" * 12,
        "00" * 16,
        "",
        "cea7403d4d606b6e074ec5d3baf39d18",
        "d0d1c8a799996bf0265b98b5d48ab919",
    ),
    (K15, IV15, P15, "", C15, "b094dac5d93471bdec1a502270e3cc6c"),
    (
        K15,
        IV15,
        P15[:120],
        "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        C15[:120],
        "76fc6ece0f4e1768cddf8853bb2d551b",
    ),
]


@pytest.mark.parametrize(("key", "iv", "plaintext", "aad", "ciphertext", "tag"), GCM_VECTORS)
def test_gcm_spec_test_cases(key: str, iv: str, plaintext: str, aad: str, ciphertext: str, tag: str) -> None:
    sealed = aes_gcm.encrypt(
        bytes.fromhex(key), bytes.fromhex(iv), bytes.fromhex(plaintext), bytes.fromhex(aad)
    )
    assert sealed.hex() == ciphertext + tag


def test_fips_197_aes_256_block() -> None:
    """FIPS-197 Appendix C.3."""
    round_keys = aes_gcm.expand_key(bytes(range(32)))
    block = aes_gcm.encrypt_block(round_keys, 0x00112233445566778899AABBCCDDEEFF)
    assert block == 0x8EA2B7CA516745BFEAFC49904B496089


def _sbox_from_definition() -> bytes:
    """FIPS-197 5.1.1: the multiplicative inverse in GF(2^8), then the affine map with 0x63."""

    def multiply(a: int, b: int) -> int:
        product = 0
        while b:
            if b & 1:
                product ^= a
            a = (a << 1) ^ 0x11B if a & 0x80 else a << 1
            b >>= 1
        return product

    inverse = [0] + [next(b for b in range(1, 256) if multiply(a, b) == 1) for a in range(1, 256)]

    def affine(b: int) -> int:
        rotl = [((b << n) | (b >> (8 - n))) & 0xFF for n in range(1, 5)]
        return b ^ rotl[0] ^ rotl[1] ^ rotl[2] ^ rotl[3] ^ 0x63

    return bytes(affine(b) for b in inverse)


def test_sbox_literal_is_the_fips_197_sbox() -> None:
    assert _sbox_from_definition() == aes_gcm.SBOX


@pytest.mark.parametrize("iv_bytes", [8, 60])  # the spec's test cases 17 and 18 use these IV lengths
def test_other_iv_lengths_are_refused(iv_bytes: int) -> None:
    with pytest.raises(ValueError, match="96-bit"):
        aes_gcm.encrypt(bytes(32), bytes(iv_bytes), b"value")


def test_other_key_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="32-byte"):
        aes_gcm.encrypt(bytes(16), bytes(12), b"value")


@settings(max_examples=300, deadline=None)
@given(
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=12, max_size=12),
    st.one_of(st.binary(max_size=80), st.binary(min_size=4000, max_size=5000)),
    st.binary(max_size=70),
)
def test_identical_to_cryptography_and_opened_by_it(
    key: bytes, iv: bytes, plaintext: bytes, aad: bytes
) -> None:
    sealed = aes_gcm.encrypt(key, iv, plaintext, aad)
    assert sealed == AESGCM(key).encrypt(iv, plaintext, aad)
    assert AESGCM(key).decrypt(iv, sealed, aad) == plaintext


def test_every_length_up_to_a_few_blocks() -> None:
    key, iv = os.urandom(32), os.urandom(12)
    for size in range(0, 100):
        plaintext = os.urandom(size)
        assert aes_gcm.encrypt(key, iv, plaintext) == AESGCM(key).encrypt(iv, plaintext, None)


def test_one_place_decides_ours_or_openssl(sealing_key: SealingKey) -> None:
    """RSA and AES-GCM of the first ``NATIVE_AFTER`` values are ours, a large value's AES-GCM is OpenSSL's,
    everything after ``NATIVE_AFTER`` values is OpenSSL's."""
    public = crypto.public_key_of(sealing_key.key)
    sizes = [10, crypto.NATIVE_MAX_BYTES + 1, crypto.NATIVE_MAX_BYTES, 0, 10, 0]
    assert crypto.NATIVE_AFTER == 4
    decisions = [public._openssl_for(size) for size in sizes]
    assert decisions == [
        (False, False),
        (False, True),
        (False, False),
        (False, False),
        (True, True),
        (True, True),
    ]


def test_values_of_both_sides_open_with_kubeseal(kubeseal_bin: str, sealing_key: SealingKey) -> None:
    """One Secret whose values go through every branch (ours, ours with OpenSSL's AES-GCM for a large value,
    OpenSSL after ``NATIVE_AFTER``), opened by the real kubeseal."""
    values = {
        "a-large": os.urandom(crypto.NATIVE_MAX_BYTES + 1),
        "b-empty": b"",
        "c-block": os.urandom(16),
        "d-odd": os.urandom(17),
        "e-after": os.urandom(1000),
        "f-one": b"x",
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "mixed", "namespace": "apps"},
        "data": {k: base64.b64encode(v).decode() for k, v in values.items()},
    }
    sealed = ok(run_lockstep("--cert", str(sealing_key.cert_path), stdin=yaml.safe_dump(secret).encode()))
    opened = kubeseal_unseal(kubeseal_bin, sealing_key, sealed)
    data = yaml.safe_load(opened)["data"]
    assert {k: base64.b64decode(v or "") for k, v in data.items()} == values
