"""Sprig's slash-path functions (Go's ``path`` package): ``base``, ``dir``, ``clean``, ``ext``, ``isAbs``.

``posixpath`` differs from Go at the edges (``//a`` stays rooted twice, ``""`` is not ``.``), so the rules
are Go's. Lockstep runs on POSIX, so the ``os*`` forms (``path/filepath``) are the same functions.
"""

from __future__ import annotations

from gocompat.template.signature import GoFunc


def clean(path: str) -> str:
    """``path.Clean``: drop empty and ``.`` elements, resolve ``..`` lexically, ``.`` for nothing."""
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    joined = "/".join(parts)
    if rooted:
        return "/" + joined
    return joined or "."


def base(path: str) -> str:
    """``path.Base``: the last element, trailing slashes ignored; ``.`` for empty, ``/`` for all slashes."""
    if not path:
        return "."
    stripped = path.rstrip("/")
    if not stripped:
        return "/"
    return stripped.rsplit("/", 1)[-1]


def dir_(path: str) -> str:
    """``path.Dir``: everything before the last slash, cleaned."""
    return clean(path[: path.rfind("/") + 1])


def ext(path: str) -> str:
    """``path.Ext``: the suffix from the last dot of the last element, or ``""``."""
    last = path.rsplit("/", 1)[-1]
    dot = last.rfind(".")
    return last[dot:] if dot >= 0 else ""


def is_abs(path: str) -> bool:
    return path.startswith("/")


_PATH_FUNCS: dict[str, GoFunc] = {
    "base": GoFunc(base, ("str",)),
    "dir": GoFunc(dir_, ("str",)),
    "clean": GoFunc(clean, ("str",)),
    "ext": GoFunc(ext, ("str",)),
    "isAbs": GoFunc(is_abs, ("str",)),
}
FUNCS: dict[str, GoFunc] = {
    **_PATH_FUNCS,
    **{"os" + name[0].upper() + name[1:]: func for name, func in _PATH_FUNCS.items()},
}
