"""``fmt.Sprintf`` for the verbs templates use: %v %s %d %q %x %X %o %b %e %f %g %t %c %U and %%.

Flags (``+ - # 0`` and space), width and precision (including ``*``) work as in Go, and misuse prints Go's
markers (``%!d(string=…)``, ``%!s(MISSING)``, ``%!(EXTRA …)``) rather than raising, as Go does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from gocompat.strconv import format_g
from gocompat.template.values import MISSING, format_value, is_int, type_name

_SPEC = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d+)?)?(.)?", re.DOTALL)


def quote_go(text: str) -> str:
    """``strconv.Quote``: printable runes kept, the rest escaped Go-style."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append(
                {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}[
                    ch
                ]
            )
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that is not valid UTF-8, carried as a surrogate escape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _too_large(number: int) -> bool:
    """Go's fmt ignores (or flags as BADWIDTH/BADPREC) widths and precisions beyond ±1e6."""
    return abs(number) > 1_000_000


def _pad(text: str, width: int | None, minus: bool, zero: bool) -> str:
    if width is None or len(text) >= width:
        return text
    if minus:
        return text + " " * (width - len(text))
    if zero:
        sign = text[0] if text[:1] in "+-" else ""
        return sign + "0" * (width - len(text)) + text[len(sign) :]
    return " " * (width - len(text)) + text


def _bad(verb: str, value: Any) -> str:
    return f"%!{verb}({type_name(value)}={format_value(value)})"


def _integer(value: int, verb: str, flags: str, prec: int | None) -> str:
    base = {"d": 10, "x": 16, "X": 16, "o": 8, "O": 8, "b": 2}[verb]
    digits = format(abs(value), {10: "d", 16: "x", 8: "o", 2: "b"}[base])
    if verb == "X":
        digits = digits.upper()
    if prec is not None:
        digits = "" if prec == 0 and value == 0 else digits.rjust(prec, "0")
    if "#" in flags:
        digits = {"x": "0x", "X": "0X", "o": "0", "b": "0b"}.get(verb, "") + digits
    if verb == "O":
        digits = "0o" + digits
    sign = "-" if value < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
    return sign + digits


def _float(value: float, verb: str, flags: str, prec: int | None) -> str:
    if verb in "vgG" and prec is None:
        text = format_g(value)
        text = text.upper() if verb == "G" else text
    else:
        if prec is None:
            prec = 6
        py = {"e": "e", "E": "E", "f": "f", "F": "f", "g": "g", "G": "G", "v": "g"}[verb]
        text = format(value, f".{prec}{py}")
    if "+" in flags and not text.startswith("-"):
        text = "+" + text
    elif " " in flags and not text.startswith("-"):
        text = " " + text
    return text


def _hex_text(data: bytes, verb: str, flags: str) -> str:
    hexed = data.hex() if verb == "x" else data.hex().upper()
    if " " in flags:
        prefix = ("0x" if verb == "x" else "0X") if "#" in flags else ""
        return " ".join(prefix + hexed[i : i + 2] for i in range(0, len(hexed), 2))
    return (("0x" if verb == "x" else "0X") if "#" in flags and hexed else "") + hexed


def _one(verb: str, flags: str, prec: int | None, value: Any) -> str:
    if value is MISSING:
        value = None
    if verb in "vs" and isinstance(value, str):
        return value if prec is None or verb == "v" else value[:prec]
    if verb == "v":
        if isinstance(value, float):
            return _float(value, "v", flags, prec)
        if is_int(value) and "+" in flags:
            return _integer(value, "d", flags, None)
        return format_value(value)
    if verb == "s":
        if isinstance(value, (bytes, bytearray)):
            text = bytes(value).decode("utf-8", "surrogateescape")
            return text if prec is None else text[:prec]
        if isinstance(value, (list, tuple)):
            return "[" + " ".join(_one("s", flags, prec, v) for v in value) + "]"
        if value is None:
            return "%!s(<nil>)"
        return _bad("s", value)
    if verb == "t":
        return ("true" if value else "false") if isinstance(value, bool) else _bad("t", value)
    if verb in "dboOxX" and is_int(value):
        return _integer(value, verb, flags, prec)
    if verb in "xX" and isinstance(value, (str, bytes, bytearray)):
        data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
        return _hex_text(data[:prec] if prec is not None else data, verb, flags)
    if verb in "xX" and isinstance(value, float):
        text = float.hex(value)
        return text.upper() if verb == "X" else text
    if verb in "eEfFgG" and isinstance(value, float):
        return _float(value, verb, flags, prec)
    if verb in "eEfFgG" and is_int(value):
        return _bad(verb, value)
    if verb == "q":
        if isinstance(value, str):
            return quote_go(value)
        if isinstance(value, (bytes, bytearray)):
            return quote_go(bytes(value).decode("utf-8", "surrogateescape"))
        if is_int(value):
            return "'" + quote_go(chr(value))[1:-1].replace("'", "\\'").replace('\\"', '"') + "'"
        if isinstance(value, (list, tuple)):
            return "[" + " ".join(_one("q", flags, prec, v) for v in value) + "]"
        return _bad("q", value)
    if verb == "c" and is_int(value):
        return chr(value)
    if verb == "U" and is_int(value):
        text = f"U+{value:04X}"
        return text + (f" '{chr(value)}'" if "#" in flags else "")
    if isinstance(value, (list, tuple)) and verb in "dboxX":
        return "[" + " ".join(_one(verb, flags, prec, v) for v in value) + "]"
    if value is None:
        return f"%!{verb}(<nil>)"
    return _bad(verb, value)


def sprintf(fmt: str, args: Sequence[Any]) -> str:
    out: list[str] = []
    argi = 0
    pos = 0
    while True:
        pct = fmt.find("%", pos)
        if pct < 0:
            out.append(fmt[pos:])
            break
        out.append(fmt[pos:pct])
        match = _SPEC.match(fmt, pct)
        assert match is not None
        flags, width_s, prec_s, verb = match.groups()
        pos = match.end()
        if verb is None:
            out.append("%!(NOVERB)")
            break
        if verb == "%":
            out.append("%")
            continue
        width: int | None = None
        prec: int | None = None
        if width_s == "*":
            if argi < len(args) and is_int(args[argi]) and not _too_large(args[argi]):
                width = args[argi]
                argi += 1
            else:
                out.append("%!(BADWIDTH)")
                argi += 1
        elif width_s:
            width = int(width_s) if not _too_large(int(width_s)) else None
        if prec_s == "*":
            if argi < len(args) and is_int(args[argi]) and not _too_large(args[argi]):
                prec = args[argi]
                argi += 1
            else:
                out.append("%!(BADPREC)")
                argi += 1
        elif prec_s is not None:
            prec = int(prec_s) if not _too_large(int(prec_s)) else 0
        elif "." in match.group(0)[: -1 if verb else None]:
            prec = 0
        if width is not None and width < 0:
            flags += "-"
            width = -width
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        value = args[argi]
        argi += 1
        text = _one(verb, flags, prec, value)
        numeric = (is_int(value) or isinstance(value, float)) and verb not in "sqcU"
        out.append(_pad(text, width, "-" in flags, "0" in flags and numeric))
    if argi < len(args):
        extra = ", ".join(f"{type_name(a)}={format_value(a)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
