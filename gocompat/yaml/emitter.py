"""What both go-yaml writers keep from libyaml's emitter: scalar analysis, style choice, escapes, block hints.

go-yaml v2 (kubeseal) and v3 (sops) are ports of the same libyaml emitter; they differ only where noted
(v3 lets tabs into literal blocks and treats only space and tab as whitespace after an indicator). The
layout of collections differs more and stays in each dialect's ``writer``.
"""

from __future__ import annotations

PLAIN, SINGLE, DOUBLE, LITERAL = "plain", "single", "double", "literal"
BREAKS = "\r\n\x85\u2028\u2029"
_FIRST_INDICATORS = "#,[]{}&*!|>'\"%@`"
_ESCAPES = {
    "\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
    "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P",
}  # fmt: skip


def float_text(value: float) -> str:
    """go-yaml's float text (both versions): ``strconv``'s 'g' form, ``.nan``/``.inf``/``-.inf``."""
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    from gocompat.strconv import format_g  # floats only: `lockstep sops decrypt` starts without it

    return format_g(value)


def printable(ch: str) -> bool:
    """go-yaml's byte-level check: no NEL, nothing beyond the BMP."""
    cp = ord(ch)
    return (
        cp == 0x0A or 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xD7FF or (0xE000 <= cp <= 0xFFFD and cp != 0xFEFF)
    )


def double_escape(ch: str) -> str | None:
    """The escape a double-quoted scalar writes for ``ch`` (``\\n``, ``\\x01``, ...), or None to write it."""
    if printable(ch) and ch != "\ufeff" and ch not in BREAKS and ch not in '"\\':
        return None
    code = _ESCAPES.get(ch)
    if code is None:
        cp = ord(ch)
        code = f"x{cp:02X}" if cp <= 0xFF else (f"u{cp:04X}" if cp <= 0xFFFF else f"U{cp:08X}")
    return "\\" + code


def analyze(value: str, *, v3: bool) -> tuple[bool, bool, bool, bool]:
    """(multiline, block_plain_allowed, single_quoted_allowed, block_allowed), as libyaml analyses a scalar.

    ``v3``: go-yaml v3 allows tabs in literal blocks (v2 counts a tab as a special character) and counts
    only space and tab as whitespace after an indicator (v2 also a line break).
    """
    if not value:
        return False, True, True, False
    if value.isascii() and value.isprintable() and " " not in value and ":" not in value and "#" not in value:
        # The common case (names, base64, ENC[...] values: visible ASCII, no space, ":" or "#"): only the
        # indicators at the start decide, which saves the loop a per-character walk (a test compares).
        block_ind = value.startswith(("---", "...")) or value[0] in _FIRST_INDICATORS or value in ("?", "-")
        return False, not block_ind, True, True
    return analyze_each(value, v3=v3)


def analyze_each(value: str, *, v3: bool) -> tuple[bool, bool, bool, bool]:
    """:func:`analyze` of a non-empty ``value``, character by character as libyaml does."""
    after_ws = " \t" if v3 else " \t" + BREAKS
    block_ind = value.startswith(("---", "..."))
    line_breaks = special = tabs = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = previous_space = previous_break = False
    preceded_ws = True
    n = len(value)
    for i, ch in enumerate(value):
        followed_ws = i + 1 >= n or value[i + 1] in after_ws
        if i == 0:
            if ch in _FIRST_INDICATORS or (ch in "?:-" and followed_ws):
                block_ind = True
        elif (ch == ":" and followed_ws) or (ch == "#" and preceded_ws):
            block_ind = True
        if ch == "\t" and v3:
            tabs = True
        elif not printable(ch):
            special = True
        if ch == " ":
            leading_space |= i == 0
            trailing_space |= i == n - 1
            break_space |= previous_break
            previous_space, previous_break = True, False
        elif ch in BREAKS:
            line_breaks = True
            leading_break |= i == 0
            trailing_break |= i == n - 1
            space_break |= previous_space
            previous_space, previous_break = False, True
        else:
            previous_space = previous_break = False
        preceded_ws = ch in " \t" or ch in BREAKS
    plain = single = block = True
    if leading_space or leading_break or trailing_space or trailing_break:
        plain = False
    if trailing_space:
        block = False
    if break_space or space_break or tabs or special:
        plain = single = False
    if space_break or special:
        block = False
    if line_breaks or block_ind:
        plain = False
    return line_breaks, plain, single, block


def settle_style(value: str, wish: str, *, simple_key: bool, v3: bool) -> str:
    """The style the emitter ends up writing: the encoder's ``wish`` (literal for multi-line text, double
    when plain would read back as another type, else plain), then the emitter's constraints."""
    multiline, plain_ok, single_ok, block_ok = analyze(value, v3=v3)
    style = wish
    if simple_key and multiline:
        style = DOUBLE
    if style == PLAIN and (not plain_ok or (not value and simple_key)):
        style = SINGLE
    if style == SINGLE and not single_ok:
        style = DOUBLE
    if style == LITERAL and (not block_ok or simple_key):
        style = DOUBLE
    return style


def block_hints(value: str, indent: int) -> str:
    """A literal block's header hints: an indentation indicator if it starts with a space or a break, then
    ``-`` (strip: no final break) or ``+`` (keep: more than one final break)."""
    hints = str(indent) if value[:1] == " " or value[:1] in BREAKS else ""
    if not value or value[-1] not in BREAKS:
        hints += "-"
    elif len(value) == 1 or value[-2] in BREAKS:
        hints += "+"
    return hints
