"""go-yaml v2's two decisions that depend on what a string *means*: map key order, and plain vs quoted.

Facts from go.yaml.in/yaml/v2 v2.4.3 (linked by kubeseal v0.38.4 through sigs.k8s.io/yaml v1.6.0):
``keyList.Less`` (sorter.go), ``resolve``/``parseTimestamp`` (resolve.go), ``isBase60Float``/``stringv``
(encode.go), and Go's ``strconv``/``time.Parse``/``sort.Sort`` semantics they rely on.

Key order is not a total order: ``keyList.Less`` is not transitive (``"01" < "0C" < "1O" < "01"``).
go-yaml sorts the keys of a map it decoded itself, starting from Go's randomised map iteration order (for a
small map: a random rotation of document order), with ``sort.Sort`` (insertion sort up to 12 elements). For
such key sets kubeseal's own output varies from run to run; Lockstep picks the most likely one, the one that
starts from document order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cmp_to_key, lru_cache

from gocompat.yaml.numbers import DIGITS, is_yaml_float

# ---------------------------------------------------------------------------------------------------------
# Key order


def key_less(a: str, b: str) -> bool:
    """``keyList.Less`` for two strings: letters by code point and after everything else; digit runs by value.

    Letters are Unicode ``L*`` (Go's ``unicode.IsLetter``), digits ``Nd`` (``unicode.IsDigit``) valued as
    ``rune - '0'`` in a wrapping int64, as go-yaml does. When the strings first differ at a ``0`` inside a
    number that already has a non-zero digit, both runs count from 1 (go-yaml's quirk).
    """
    zero = ord("0")
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        a_letter, b_letter = ca.isalpha(), cb.isalpha()
        if a_letter and b_letter:
            return ca < cb
        if a_letter or b_letter:
            return b_letter
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdecimal():
            an = _int64(an * 10 + ord(a[ai]) - zero)
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdecimal():
            bn = _int64(bn * 10 + ord(b[bi]) - zero)
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _int64(value: int) -> int:
    """Go's int64 wraps; long digit runs must compare as they do in go-yaml."""
    return (value + (1 << 63)) % (1 << 64) - (1 << 63)


def _cmp(a: str, b: str) -> int:
    return -1 if key_less(a, b) else (1 if key_less(b, a) else 0)


_GO_INSERTION_MAX = 12  # sort.Sort (pdqsort) sorts up to 12 elements by plain insertion sort


def go_sort(keys: Sequence[str]) -> list[str]:
    """``sort.Sort(keyList)`` applied to ``keys`` in the given starting order.

    Up to 12 keys this is Go's insertion sort step for step, so it gives Go's answer even when ``key_less``
    is not transitive. Longer lists use a regular sort: identical for transitive key sets, and for the others
    kubeseal's own order depends on its hash seed.
    """
    items = list(keys)
    if len(items) > _GO_INSERTION_MAX:
        return sorted(items, key=cmp_to_key(_cmp))
    for i in range(1, len(items)):
        j = i
        while j > 0 and key_less(items[j], items[j - 1]):
            items[j], items[j - 1] = items[j - 1], items[j]
            j -= 1
    return items


@lru_cache(maxsize=1024)
def _sorted_cached(keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(go_sort(keys))


def sorted_keys(keys: Sequence[str]) -> list[str]:
    """The order go-yaml writes a map's keys in, starting from document (JSON, code point sorted) order.

    The same key sets recur (every SealedSecret), so orders are cached.
    """
    return list(_sorted_cached(tuple(sorted(keys))))


def possible_orders(keys: Sequence[str]) -> set[tuple[str, ...]]:
    """Every order go-yaml can write a map of at most 8 keys in (one per rotation of document order).

    More than one means kubeseal's output for this key set is not deterministic.
    """
    start = sorted(keys)
    return {tuple(go_sort(start[r:] + start[:r])) for r in range(max(len(start), 1))}


# ---------------------------------------------------------------------------------------------------------
# Plain or quoted: would the plain scalar read back as something other than a string?

_RESOLVE_MAP = frozenset((
    "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
    "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
    "", "~", "null", "Null", "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
    "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
))  # fmt: skip
# "<<" is in go-yaml's map too, but its first byte has no resolve hint, so it is never looked up.
_HINT_MAP = frozenset("yYnNtTfFoO~")
_HINT_NUMBER = frozenset("0123456789+-")
# What ParseFloat accepts after a leading ".": single underscores between digits are allowed there.
_DOT_FLOAT = re.compile(r"\.[0-9](?:_?[0-9])*(?:[eE][-+]?[0-9](?:_?[0-9])*)?\Z")
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")
_DATE = r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
_CLOCK = r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?"
_TIMESTAMPS = (
    re.compile(_DATE + r"[Tt]" + _CLOCK + r"(?:Z|[-+]([0-9]{2}):([0-9]{2}))\Z"),
    re.compile(_DATE + " " + _CLOCK + r"\Z"),
    re.compile(_DATE + r"\Z"),
)
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1


def needs_quotes(value: str) -> bool:
    """``stringv``: quote unless ``resolve`` says ``!!str`` and it is not a YAML 1.1 base-60 float."""
    return not resolves_to_string(value) or (_BASE60.match(value) is not None)


def resolves_to_string(value: str) -> bool:
    """``resolve("", value)`` gives ``!!str``: not a bool, null, int, float or timestamp to go-yaml."""
    if value in _RESOLVE_MAP:
        return False
    first = value[0]
    if first in _HINT_MAP:
        return True  # only the map words above
    if first == ".":
        return not _parse_float_ok(value, _DOT_FLOAT.match)
    if first not in _HINT_NUMBER:
        return True  # no resolve hint: always a string
    if _is_timestamp(value):
        return False
    plain = value.replace("_", "")
    if _parse_int(plain, 0, signed=True) or _parse_int(plain, 0, signed=False):
        return False
    if _parse_float_ok(plain, is_yaml_float):
        return False
    if plain.startswith("0b"):
        rest = plain[2:]
        return not (_parse_int(rest, 2, signed=True) or _parse_int(rest, 2, signed=False))
    if plain.startswith("-0b"):
        return not _parse_int("-" + plain[3:], 2, signed=True)
    return True


def _parse_float_ok(text: str, accepts: Callable[[str], object]) -> bool:
    """The decimal forms ParseFloat accepts (``accepts``) and does not reject as out of range."""
    return bool(accepts(text)) and abs(float(text.replace("_", ""))) != float("inf")


def _parse_int(text: str, base: int, *, signed: bool) -> bool:
    """``strconv.ParseInt(text, base, 64)`` (signed) or ``ParseUint`` succeeds; underscores are gone."""
    negative = False
    if signed and text[:1] in ("+", "-"):
        negative, text = text[0] == "-", text[1:]
    if not text:
        return False
    if base == 0:
        base = 10
        if text[0] == "0":
            prefix = text[1:2].lower() if len(text) >= 3 else ""
            base = {"b": 2, "o": 8, "x": 16}.get(prefix, 8)
            text = text[2:] if prefix in ("b", "o", "x") else text[1:]
    allowed = DIGITS[base]
    if not all(ch in allowed for ch in text):
        return False
    number = int(text, base) if text else 0
    if not signed:
        return number <= _UINT64_MAX
    return _INT64_MIN <= (-number if negative else number) <= _INT64_MAX


def _is_timestamp(value: str) -> bool:
    """``parseTimestamp``: go-yaml's four ``time.Parse`` layouts with Go's range checks."""
    if len(value) < 5 or value[4] != "-" or not value[:4].isascii() or not value[:4].isdigit():
        return False
    for pattern in _TIMESTAMPS:
        match = pattern.match(value)
        if match is None:
            continue
        parts = [int(g) if g is not None else 0 for g in match.groups()]
        year, month, day = parts[0], parts[1], parts[2]
        if not 1 <= month <= 12:
            return False
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        if not 1 <= day <= (_DAYS[month - 1] if month != 2 or leap else 28):
            return False
        if len(parts) > 3 and (parts[3] > 23 or parts[4] > 59 or parts[5] > 59):
            return False
        return not (len(parts) > 6 and (parts[6] > 24 or parts[7] > 60))
    return False
