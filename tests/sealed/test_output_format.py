"""Output formatting against kubeseal for arbitrary metadata: JSON escapes, YAML quoting, wrapping, key order.

For each generated Secret, kubeseal's own output (sealing, and ``--recovery-unseal``) is compared with
Lockstep's rendering of the same object: identical apart from ciphertexts.
"""

from __future__ import annotations

import base64
import json
import os
from functools import cache
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gocompat.yaml.v2.rules import possible_orders
from sealed.format import crypto
from sealed.format.certs import parse_certificate_pem
from sealed.format.convert import SealOptions, parse_secret, seal, unseal
from sealed.format.keys import load_private_keys
from sealed.sealing import render
from tests.sealed.conftest import SealingKey, mask_ciphertexts, ok, run_kubeseal

# kubeseal itself fails on raw C1 controls and DEL in YAML output, and folds NEL / escapes oddly after a
# BOM (go-yaml quirks documented in sealed/README.md); those characters are left out here.
TEXT = st.text(
    st.characters(
        codec="utf-8",
        exclude_categories=("Cs", "Cn"),
        exclude_characters="\x7f\x85\ufeff" + "".join(chr(c) for c in range(0x80, 0xA0)),
    ),
    max_size=40,
)
WORDY = st.lists(st.sampled_from(["word", "a", "longer-word", "x:", "#", "-", " ", "'", "true", "0", "\n"]),
                 max_size=40).map("".join)  # fmt: skip
VALUES = st.one_of(TEXT, WORDY)
KEYS = st.one_of(st.from_regex(r"[a-zA-Z0-9._/-]{1,20}", fullmatch=True), TEXT.filter(bool))


@settings(
    max_examples=int(os.environ.get("LOCKSTEP_FORMAT_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    labels=st.dictionaries(KEYS, VALUES, max_size=4),
    annotations=st.dictionaries(KEYS, VALUES, max_size=5),
    data_keys=st.lists(
        st.from_regex(r"[a-zA-Z0-9._-]{1,12}", fullmatch=True), min_size=1, max_size=4, unique=True
    ),
)
# Key sets on which go-yaml's order is not transitive, so kubeseal's order varies between runs.
@example(labels={"x01": "a", "x0C": "b", "x1O": "c"}, annotations={}, data_keys=["01", "0C", "1O"])
@example(
    labels={}, annotations={"7Pe": "v", "010": "v", "0Mc00080": "v"}, data_keys=["7Pe", "010", "0Mc00080"]
)
def test_matches_kubeseal(
    kubeseal_bin: str,
    sealing_key: SealingKey,
    labels: dict[str, str],
    annotations: dict[str, str],
    data_keys: list[str],
) -> None:
    secret: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "gen", "namespace": "ns", "labels": labels, "annotations": annotations},
        "data": {k: base64.b64encode(k.encode()).decode() for k in data_keys},
    }
    body = json.dumps(secret).encode()
    keys = _private_keys(sealing_key.key_pem)
    public = crypto.public_key(parse_certificate_pem(sealing_key.cert_pem))

    def encrypt(plaintext: bytes, label: bytes) -> bytes:
        return crypto.hybrid_encrypt(public, plaintext, label)

    # Where go-yaml's key order is not transitive, kubeseal's YAML key order changes from run to run (see
    # gocompat/yaml/v2/rules.py, proved in tests/gocompat/test_yaml_v2_rules.py): there, Lockstep's output
    # must be one that kubeseal prints, so kubeseal is rerun until it does (its most likely order, so a few
    # runs at most).
    varies = any(len(possible_orders(list(keys))) > 1 for keys in (labels, annotations, data_keys))
    for fmt in ("json", "yaml"):
        tries = _RERUNS if fmt == "yaml" and varies else 1
        sealed = json.loads(ok(run_kubeseal(kubeseal_bin, "--cert", str(sealing_key.cert_path), stdin=body)))
        # Lockstep sealing the same input, and Lockstep rendering the object kubeseal built.
        ours = mask_ciphertexts(render(seal(parse_secret(secret), encrypt, SealOptions()), fmt))
        seal_args = ["--cert", str(sealing_key.cert_path), "-o", fmt]
        theirs = mask_ciphertexts(_kubeseal_until(kubeseal_bin, seal_args, body, ours, tries, masked=True))
        assert ours == theirs
        assert mask_ciphertexts(render(_as_lockstep_object(sealed), fmt)) == theirs
        unseal_args = ["--recovery-unseal", "--recovery-private-key", str(sealing_key.key_path), "-o", fmt]
        recovered_ours = render(unseal(sealed, keys), fmt)
        sealed_body = json.dumps(sealed).encode()
        recovered = _kubeseal_until(
            kubeseal_bin, unseal_args, sealed_body, recovered_ours, tries, masked=False
        )
        assert recovered_ours.encode() == recovered.encode()


_RERUNS = 200


@cache
def _private_keys(pem: bytes) -> list[crypto.PrivateKey]:
    """Parsing a 4096-bit key (with its validity checks) takes ~0.25 s: once per run, not per example."""
    return list(load_private_keys(pem))


def _kubeseal_until(
    kubeseal_bin: str, args: list[str], stdin: bytes, wanted: str, tries: int, *, masked: bool
) -> str:
    """kubeseal's output, rerun up to ``tries`` times until it equals ``wanted`` (ciphertexts masked)."""
    out = ""
    for _ in range(tries):
        out = ok(run_kubeseal(kubeseal_bin, *args, stdin=stdin)).decode()
        if (mask_ciphertexts(out) if masked else out) == wanted:
            break
    return out


def _as_lockstep_object(sealed: dict[str, Any]) -> dict[str, Any]:
    from sealed.format.objects import sealed_secret

    return sealed_secret(sealed)


# Strings go-yaml must quote (or must not) because of how it would read them back.
RESOLVER_EDGES = [
    "<<", "0o17", "0O17", "0X1f", "0b1", "0b", "-0b11", "0b12", "08", "0_1", "1_000", "_1", "1__", "+5", "-5",
    "1e5", "1E+5", "1e999", ".5", ".5e3", "-.5", "+.5", ".", "..", ".inf", "-.Inf", "+.INF", ".NaN", ".nan.",
    "1:20", "0:30", "-1:20:30.5", "1:60", "2001-12-14", "2001-1-2", "2001-13-01", "2001-02-29", "2000-02-29",
    "2001-12-14T21:59:43.10-05:00", "2001-12-14t21:59:43Z", "2001-12-14 21:59:43.10", "2001-12-14 25:00:00",
    "2001-12-14T21:59:43", "12001-1-1", "99999999999999999999", "0x" + "f" * 17, "9223372036854775808",
    "18446744073709551616", "-9223372036854775809", "y", "Yes", "nO", "oN", "OFF", "~", "null", "NULL",
    "Null", "nil", "true", "tRUE", "...x", "---x", "a:b", "a: b", "- a", "-a", "?a", "? a", "%x", "@x", "`x",
    "!x", "&x", "*x", "|x", ">x", "#x", "a #x", "a#x", "x ", " x", "x  y", "[x", "{x", "x]", "x,y", "---",
    "...", "--- x", "-",
]  # fmt: skip


def test_resolver_edges_match_kubeseal(kubeseal_bin: str, sealing_key: SealingKey) -> None:
    annotations = {f"k{index:03d}": value for index, value in enumerate(RESOLVER_EDGES)}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "edges", "namespace": "ns", "annotations": annotations, "labels": annotations},
        "data": {"k": "dg=="},
    }
    body = json.dumps(secret).encode()
    for fmt in ("yaml", "json"):
        theirs = ok(
            run_kubeseal(kubeseal_bin, "--cert", str(sealing_key.cert_path), "-o", fmt, stdin=body)
        ).decode()
        sealed = json.loads(ok(run_kubeseal(kubeseal_bin, "--cert", str(sealing_key.cert_path), stdin=body)))
        assert mask_ciphertexts(render(_as_lockstep_object(sealed), fmt)) == mask_ciphertexts(theirs)
