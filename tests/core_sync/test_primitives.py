"""The start-up-cheap primitives are the same as their public imports: same AES-GCM class, same digests."""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from core_sync import primitives


def test_aesgcm_is_the_public_class() -> None:
    assert primitives.AESGCM is AESGCM
    key, nonce = os.urandom(32), os.urandom(12)
    sealed = primitives.AESGCM(key).encrypt(nonce, b"value", b"aad")
    assert AESGCM(key).decrypt(nonce, sealed, b"aad") == b"value"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=4))
def test_sha2_digests_match_hashlib(chunks: list[bytes]) -> None:
    for ours, theirs in ((primitives.sha256(), hashlib.sha256()), (primitives.sha512(), hashlib.sha512())):
        for chunk in chunks:
            ours.update(chunk)
            theirs.update(chunk)
        assert ours.hexdigest() == theirs.hexdigest()
        assert ours.digest() == theirs.digest()
