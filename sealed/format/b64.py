"""Standard padded base64, strict like Go's ``StdEncoding`` (no stray characters, exact padding).

``binascii`` directly, not ``base64``: the ``base64`` module costs ~1 ms of start-up for two functions.
"""

from __future__ import annotations

import binascii


def encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def decode(text: str | bytes) -> bytes:
    """Raises ``ValueError`` (``binascii.Error`` is one) on anything Go would refuse."""
    return binascii.a2b_base64(text, strict_mode=True)
