"""``.gitattributes`` for SOPS files (pure): creation-rule ``path_regex`` → gitattributes patterns, and the
block ``lockstep sops git-setup`` owns inside the file.

A regex converts only when it is a plain path shape (literals, ``.*``, ``[^/]*``, optional ``^``/``$``);
the glob may be narrower than the regex (``.*`` inside a name does not cross ``/``), never wider in a way
that matters: the drivers leave files that are not SOPS-encrypted to git's ordinary diff and merge. Files a
regex covers but no glob does are listed one by one by ``git-setup``.
"""

from __future__ import annotations

BEGIN = "# lockstep sops git-setup: begin (re-run it after changing .sops.yaml; --unset removes this block)"
END = "# lockstep sops git-setup: end"
ATTRIBUTES = "diff=sops merge=sops"
_REGEX_META = set(".^$*+?()[]{}|\\")
_GLOB_META = set("*?[")


def regex_to_glob(regex: str) -> str | None:
    """A gitattributes pattern (relative to the config's directory) for ``regex``, or ``None``."""
    anchored = regex.startswith("^")
    body = regex[1:] if anchored else regex
    if body.startswith(".*"):
        anchored, body = False, body[2:]
    end = body.endswith("$") and not body.endswith("\\$")
    if end:
        body = body[:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 >= len(body) or body[i + 1].isalnum() or body[i + 1] in _GLOB_META:
                return None  # \d, \w, ... classes; or a literal * ? [ a glob cannot say simply
            out.append(body[i + 1])
            i += 2
        elif body.startswith(".*", i):
            out.append("**/*" if out and out[-1].endswith("/") else "*")
            i += 2
        elif body.startswith("[^/]*", i):
            out.append("*")
            i += 5
        elif char in _REGEX_META or char.isspace() or char in "!#\"'":
            return None
        else:
            out.append(char)
            i += 1
    glob = "".join(out)
    if not glob.strip("*/"):
        return None  # matches (nearly) everything: list the SOPS files instead
    if not end:
        glob += "**" if glob.endswith("/") else "*"
    if anchored:
        return "/" + glob
    if not glob.startswith("*"):
        glob = "*" + glob
    return "**/" + glob if "/" in glob else glob


def under(directory: str, glob: str) -> str:
    """``glob`` (relative to ``directory``, a repository-relative dir or "") as a top-level pattern."""
    if not directory:
        return glob
    prefix = "/" + directory.strip("/") + "/"
    if glob.startswith("/"):
        return prefix + glob[1:]
    return prefix + ("" if glob.startswith("**/") else "**/") + glob


def literal(path: str) -> str | None:
    """An anchored pattern matching exactly ``path`` (repository-relative), or ``None`` if it has
    characters gitattributes cannot take unquoted."""
    if any(c.isspace() or c in '"\\#!' for c in path):
        return None
    return "/" + "".join("\\" + c if c in _GLOB_META else c for c in path)


def block(patterns: list[str]) -> str:
    lines = [BEGIN, *(f"{p} {ATTRIBUTES}" for p in dict.fromkeys(patterns)), END]
    return "\n".join(lines) + "\n"


def without_block(text: str) -> str:
    """``text`` with our block (every copy of it) removed; everything else kept as it was."""
    kept: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        if stripped == BEGIN:
            inside = True
        elif stripped == END and inside:
            inside = False
        elif not inside:
            kept.append(line)
    return "".join(kept)


def with_block(text: str, patterns: list[str]) -> str:
    """``text`` with our block replaced by one for ``patterns`` (appended if it was not there)."""
    rest = without_block(text)
    if rest and not rest.endswith("\n"):
        rest += "\n"
    return rest + block(patterns) if patterns else rest
