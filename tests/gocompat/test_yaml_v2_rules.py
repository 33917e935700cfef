"""go-yaml v2's key order and quoting, checked key by key against the real kubeseal.

Every case seals a Secret with kubeseal (``-o yaml``) and recovers it (``--recovery-unseal -o yaml``), and
compares both with Lockstep's rendering of the same objects. The key-order cases also check Lockstep's model
of kubeseal's *nondeterminism* (``possible_orders``) against what kubeseal actually does over many runs.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from gocompat.yaml.v2.rules import possible_orders, sorted_keys
from sealed.format import crypto
from sealed.format.certs import parse_certificate_pem
from sealed.format.convert import SealOptions, parse_secret, seal, unseal
from sealed.format.keys import load_private_keys
from sealed.sealing import render
from tests.sealed.conftest import SealingKey, mask_ciphertexts, ok, run_kubeseal

# Scalars whose plain form go-yaml v2 reads back as a bool, null, int, float or timestamp (so it quotes
# them), next to near misses that stay plain.
EDGES = [
    "01", "0C", "1O", "a10", "a9", "A", "a", "_x", "-x", "1e3", "0x1F", "0o7", "y", "no", "~", "2001-12-14",
    ".5", "+1", "0", "-0", "+0", "00", "08", "09", "0_7", "_7", "7_", "1__0", "0x", "0o", "0b", "0X1f",
    "0O17", "0B11", "0b-1", "0b+1", "-0b1", "-0b-1", "0b0b1", "0x0x1", "0o0o7", "00x1", "+0x1F", "-0o7",
    "0x_1F", "0xg", "1_000_000", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "-9223372036854775809", "18446744073709551615", "18446744073709551616", "0b" + "1" * 64,
    "0b" + "1" * 65, "-0b" + "1" * 63, "0x" + "f" * 16, "-0x" + "f" * 16, "1.", "1.e5", "1e", "e5", ".e5",
    "._5", ".5_0", "._", ".5e999", ".5e-999", "1e-999", "1e999", "-1e999", "1_0.5", "+.5", "-.5e+3",
    "1.5E+3", "0.", "+", "-", "++1", "--1", "+-1", "1+", "1-", "Y", "N", "yes", "YES", "yEs", "n", "No",
    "on", "oN", "Off", "true", "True", "TRUE", "tRUE", "t", "f", "o", "null", "Null", "nULL", "nil", "~x",
    "<<", ".inf", ".Inf", "+.INF", "-.inf", ".nan", "+.nan", ".NaN", "inf", "nan", "Infinity",
    "2001-12-14", "2001-1-2", "2001-13-01", "2001-00-10", "2001-02-29", "2000-02-29", "1900-02-29",
    "0000-02-29", "2001-12-14t21:59:43.10-05:00", "2001-12-14T21:59:43Z", "2001-12-14T1:2:3Z",
    "2001-12-14T21:59:43,5Z", "2001-12-14T21:59:43.Z", "2001-12-14T24:00:00Z", "2001-12-14T21:60:00Z",
    "2001-12-14T21:59:43+24:00", "2001-12-14T21:59:43+25:00", "2001-12-14T21:59:43+05:60",
    "2001-12-14T21:59:43+05:61", "2001-12-14T21:59:43+5:00", "2001-12-14 21:59:43.10", "2001-12-14 21:59:43",
    "2001-12-14 21:59:43Z", "2001-12-14T21:59:43", "12001-1-1", "201-1-1", "2001-12-14x", "1:20",
    "-1:20:30.5", "+1:2", "1:60", "1_0:30", "1:30_", "1:2.", "a:1", "1:a", "1,000", "1 000", "0x1F ",
    " 1", "1\u0661", "\u0661", "-x", "?x", ":x", "%x", "@x", "`x", "!x", "&x", "*x", "|x", ">x", "#x",
    "a #x", "a#x", "[x", "x]", "{x", "x,y", "...x", "---x", "---", "...",
]  # fmt: skip
# The alphabet Secret data keys may use; other edges are tested as metadata keys only.
DATA_KEY = re.compile(r"[-._a-zA-Z0-9]+\Z")

# Key sets whose order exercises keyList.Less: letters after digits and other characters, digit runs by
# value, go-yaml's leading-zero rule, Unicode letters and digits.
ORDER_GROUPS = [
    ["a10", "a9", "A", "a", "_x", "-x", "B", "b", "Z", "z", "9", "10"],
    ["01", "1", "001", "10", "010", "2", "02", "a", "a0", "a00"],
    ["1e3", "0x1F", "0o7", "y", "no", "~", "2001-12-14", ".5", "+1", "-1", "_", "."],
    ["k1", "k-1", "k_1", "k.1", "k/1", "kA", "ka", "k", "k10", "k0"],
    ["é", "e", "E", "z", "ä", "1", "\u0661", "\u0662x", "a\u0661", "a1", "a2"],
    ["0a", "00", "1a", "10"],
    ["99999999999999999999", "9", "18446744073709551617", "1", "x99999999999999999999", "x1"],
]
# Non-transitive key sets: kubeseal's own order differs between runs.
CYCLES = [
    ["01", "0C", "1O"],
    ["x01", "x0C", "x1O", "x"],
    ["a1b", "a1B", "a01b", "a1_", "a1-", "a11", "a1"],
    ["x1y", "x01y", "x10y", "x1", "x01", "x001", "x100"],
]


def _secret(labels: dict[str, str], annotations: dict[str, str], data_keys: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "rules", "namespace": "ns", "labels": labels, "annotations": annotations},
        "data": {k: base64.b64encode(k.encode()).decode() for k in data_keys},
    }


class _Peer:
    """kubeseal and Lockstep on the same Secret, in YAML."""

    def __init__(self, kubeseal_bin: str, key: SealingKey) -> None:
        self.kubeseal_bin = kubeseal_bin
        self.key = key
        self.public = crypto.public_key(parse_certificate_pem(key.cert_pem))
        self.private = load_private_keys(key.key_pem)

    def kubeseal(self, secret: dict[str, Any], fmt: str = "yaml") -> str:
        body = json.dumps(secret).encode()
        return ok(
            run_kubeseal(self.kubeseal_bin, "--cert", str(self.key.cert_path), "-o", fmt, stdin=body)
        ).decode()

    def recover(self, sealed: dict[str, Any]) -> str:
        args = ["--recovery-unseal", "--recovery-private-key", str(self.key.key_path), "-o", "yaml"]
        return ok(run_kubeseal(self.kubeseal_bin, *args, stdin=json.dumps(sealed).encode())).decode()

    def ours(self, secret: dict[str, Any]) -> str:
        def encrypt(plaintext: bytes, label: bytes) -> bytes:
            return crypto.hybrid_encrypt(self.public, plaintext, label)

        return render(seal(parse_secret(secret), encrypt, SealOptions()), "yaml")

    def ours_recovered(self, sealed: dict[str, Any]) -> str:
        return render(unseal(sealed, self.private), "yaml")

    def assert_same(self, secret: dict[str, Any]) -> None:
        assert mask_ciphertexts(self.ours(secret)) == mask_ciphertexts(self.kubeseal(secret))
        sealed = json.loads(self.kubeseal(secret, "json"))
        assert self.ours_recovered(sealed) == self.recover(sealed)


@pytest.fixture(scope="module")
def peer(kubeseal_bin: str, sealing_key: SealingKey) -> _Peer:
    return _Peer(kubeseal_bin, sealing_key)


def test_values_quoted_like_kubeseal(peer: _Peer) -> None:
    values = {f"k{index:03d}": value for index, value in enumerate(EDGES)}
    assert len(possible_orders(list(values))) == 1  # one deterministic order, so one exact answer
    peer.assert_same(_secret(values, values, ["k"]))


@pytest.mark.parametrize("key", EDGES)
def test_key_quoted_like_kubeseal(peer: _Peer, key: str) -> None:
    # At most two keys per map: two distinct keys always sort the same way, whatever the start order.
    data_keys = [key] if DATA_KEY.match(key) else ["k"]
    peer.assert_same(_secret({key: "v"}, {key: key, "z": key}, data_keys))


@pytest.mark.parametrize("keys", ORDER_GROUPS, ids=lambda keys: "-".join(keys[:3]))
def test_key_order_like_kubeseal(peer: _Peer, keys: list[str]) -> None:
    assert len(possible_orders(keys)) == 1, "a deterministic group"
    data_keys = [k for k in keys if DATA_KEY.match(k)]
    assert len(data_keys) >= 3
    peer.assert_same(_secret({k: "v" for k in keys}, {k: k for k in keys}, data_keys))


def _encrypted_data_order(sealed_yaml: str) -> tuple[str, ...]:
    block = sealed_yaml.split("  encryptedData:\n", 1)[1].split("  template:\n", 1)[0]
    keys = re.findall(r"^    (\S.*?): ", block, flags=re.MULTILINE)
    return tuple(json.loads(k) if k.startswith('"') else k for k in keys)


@pytest.mark.parametrize("keys", CYCLES, ids=lambda keys: "-".join(keys))
def test_nontransitive_keys_give_one_of_kubeseals_orders(peer: _Peer, keys: list[str]) -> None:
    predicted = possible_orders(keys)
    assert len(predicted) > 1, "keyList.Less is not transitive on this set"
    secret = _secret({}, {}, keys)
    ours = peer.ours(secret)
    our_order = _encrypted_data_order(ours)
    assert our_order == tuple(sorted_keys(keys)) and our_order in predicted
    # kubeseal's order changes between runs; every order it prints is predicted, and so is ours.
    observed: set[tuple[str, ...]] = set()
    ours_seen = False
    for _ in range(300):
        theirs = peer.kubeseal(secret)
        observed.add(_encrypted_data_order(theirs))
        ours_seen = ours_seen or mask_ciphertexts(theirs) == mask_ciphertexts(ours)
        if ours_seen and len(observed) > 1:
            break
    assert observed <= predicted
    assert ours_seen, f"kubeseal never printed Lockstep's order {our_order}; it printed {observed}"
    assert len(observed) > 1, "kubeseal was expected to vary its order here"
