"""Go literal syntax: ``strconv.Unquote`` for strings and characters, and number constants."""

from __future__ import annotations

import re

_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_OCTAL_INT = re.compile(r"^[+-]?0[0-7_]+$")


def unquote(token: str) -> str:
    """Decode a Go ``"…"``, ```…``` or ``'…'`` literal; raises ValueError on bad syntax."""
    if len(token) < 2 or token[0] != token[-1] or token[0] not in "\"`'":
        raise ValueError("bad quoted string")
    quote, body = token[0], token[1:-1]
    if quote == "`":
        return body.replace("\r", "")
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            if ch == quote:
                raise ValueError("unescaped quote")
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(body):
            raise ValueError("trailing backslash")
        esc = body[i + 1]
        if esc in _SIMPLE:
            out.append(_SIMPLE[esc])
            i += 2
        elif esc == quote:
            out.append(esc)
            i += 2
        elif esc in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[esc]
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise ValueError("bad hex escape")
            value = int(digits, 16)
            # \xNN above 0x7F is a raw byte: carried as a surrogate escape, like any non-UTF-8 byte
            out.append(chr(0xDC00 + value) if esc == "x" and value > 0x7F else chr(value))
            i += 2 + width
        elif esc in "01234567":
            digits = body[i + 1 : i + 4]
            if len(digits) != 3 or not all(c in "01234567" for c in digits) or int(digits, 8) > 0xFF:
                raise ValueError("bad octal escape")
            value = int(digits, 8)
            out.append(chr(0xDC00 + value) if value > 0x7F else chr(value))
            i += 4
        else:
            raise ValueError("unknown escape sequence")
    text = "".join(out)
    if quote == "'" and len(text) != 1:
        raise ValueError("bad character constant")
    return text


def number(text: str) -> int | float:
    """A Go number constant; floats when the text has a fraction or exponent (Go's ``idealConstant``)."""
    clean = text.replace("_", "")
    lower = clean.lower()
    is_hex = lower.lstrip("+-").startswith("0x")
    if (is_hex and "p" in lower) or (not is_hex and any(c in lower for c in ".e")):
        return float.fromhex(clean) if is_hex else float(clean)
    if _OCTAL_INT.match(text):
        return int(clean, 8)
    return int(clean, 0)
