"""Walking a tree to encrypt or decrypt it, computing the MAC on the way (sops' Tree.Encrypt/Decrypt).

AAD of a leaf = the mapping keys on its path joined by ``:`` plus a trailing ``:`` (list indices are not
part of it). The MAC is SHA-512 over the byte form of every non-comment, non-null leaf in document order
(only the encrypted ones with ``mac_only_encrypted``, then seeded with SHA-256("sops")), upper-case hex.
"""

from __future__ import annotations

from core_sync.primitives import sha256, sha512
from gocompat.yaml.v3.tree import Branch, Comment, GoTime
from sops_plugin.errors import ERROR_DECRYPTING_TREE, ERROR_ENCRYPTING_TREE, SopsError
from sops_plugin.format.rules import CryptRules
from sops_plugin.format.values import Cipher, CipherError, to_bytes

TYPE_CHECKING = False  # typing is not imported at run time: `lockstep sops decrypt` must start fast
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any


MAC_ONLY_ENCRYPTED_INIT = sha256(b"sops").digest()

if TYPE_CHECKING:
    Leaf = Callable[[Any, list[str], list[list[str]]], Any]
    Change = Callable[[Any, list[str], bool, bool], tuple[Any, Any]]


def _display(path: Sequence[str]) -> str:
    return ".".join(path) if path else "(top level)"


def _walk(value: Any, path: list[str], stack: list[list[str]], leaf: Leaf) -> Any:
    if isinstance(value, Branch):
        level: list[str] = []
        stack = [*stack, level]
        out = Branch()
        for key, item in value:
            if isinstance(key, Comment):
                level.append(key.value)
                new = leaf(key, path, stack)
                out.append((new if isinstance(new, Comment) else Comment(str(new)), None))
                continue
            if not isinstance(key, str):
                raise SopsError(
                    f"Tree contains a non-string key ({type(key).__name__}): only string keys are supported"
                )
            is_comment = isinstance(item, Comment)
            if is_comment:
                level.append(item.value)
            out.append((key, _walk(item, [*path, key], stack, leaf)))
            if not is_comment:
                level.clear()
        return out
    if isinstance(value, list):
        level = []
        stack = [*stack, level]
        result = []
        for item in value:
            is_comment = isinstance(item, Comment)
            if is_comment:
                level.append(item.value)
            result.append(_walk(item, path, stack, leaf))
            if not is_comment:
                level.clear()
        return result
    if value is None:
        return None
    if isinstance(value, str | bytes | bool | int | float | GoTime | Comment):
        return leaf(value, path, stack)
    raise SopsError(f"Cannot walk value, unknown type: {type(value).__name__}", path=_display(path))


def _crypt(branches: Sequence[Branch], rules: CryptRules, change: Change) -> tuple[list[Branch], str]:
    """Walk every branch, letting ``change(value, path, encrypted, is_comment)`` turn each leaf into
    ``(plaintext, output)``; the plaintext of the leaves feeds the MAC in document order."""
    digest = sha512()
    if rules.mac_only_encrypted:
        digest.update(MAC_ONLY_ENCRYPTED_INIT)

    def leaf(value: Any, path: list[str], stack: list[list[str]]) -> Any:
        is_comment = isinstance(value, Comment)
        encrypted = rules.should_encrypt(path, stack, is_comment)
        plain, out = change(value, path, encrypted, is_comment)
        if (not rules.mac_only_encrypted or encrypted) and not isinstance(plain, Comment):
            digest.update(to_bytes(plain))
        return out

    result = [_walk(b, [], [], leaf) for b in branches]
    return result, digest.hexdigest().upper()


def encrypt_branches(
    branches: Sequence[Branch], rules: CryptRules, cipher: Cipher
) -> tuple[list[Branch], str]:
    """Encrypt every leaf the rules select; returns the new branches and the MAC (hex)."""

    def change(value: Any, path: list[str], encrypted: bool, is_comment: bool) -> tuple[Any, Any]:
        if not encrypted:
            return value, value
        try:
            out = cipher.encrypt(value, ":".join(path) + ":")
        except CipherError as exc:
            raise SopsError(
                f"could not encrypt value: {exc}", ERROR_ENCRYPTING_TREE, path=_display(path)
            ) from None
        if is_comment and rules.unencrypted_comment_regex:
            from sops_plugin.format.rules import _compiled

            if _compiled(rules.unencrypted_comment_regex).search(out):
                raise SopsError(
                    "an encrypted comment matches unencrypted_comment_regex; "
                    "choose a regex that cannot match "
                    "an encrypted comment",
                    ERROR_ENCRYPTING_TREE,
                )
        return value, Comment(out) if is_comment else out

    return _crypt(branches, rules, change)


def decrypt_branches(
    branches: Sequence[Branch], rules: CryptRules, cipher: Cipher
) -> tuple[list[Branch], str]:
    """Decrypt every leaf the rules select; returns the plaintext branches and the MAC computed over them."""

    def change(value: Any, path: list[str], encrypted: bool, is_comment: bool) -> tuple[Any, Any]:
        if not encrypted:
            return value, value
        aad = ":".join(path) + ":"
        if is_comment:
            try:
                plain = cipher.decrypt(value.value, aad)
            except CipherError:
                plain = value  # a comment that was never encrypted (older sops): kept as is
            if plain == "":
                plain = Comment("")
        elif isinstance(value, str):
            try:
                plain = cipher.decrypt(value, aad)
            except CipherError as exc:
                raise SopsError(
                    f"could not decrypt value: {exc}", ERROR_DECRYPTING_TREE, path=_display(path)
                ) from None
        else:
            raise SopsError(
                f"value should be encrypted but is a plain {type(value).__name__}",
                ERROR_DECRYPTING_TREE,
                path=_display(path),
            )
        return plain, plain

    return _crypt(branches, rules, change)


def map_encrypted(
    branches: Sequence[Branch], rules: CryptRules, fn: Callable[[Any, str], Any]
) -> list[Branch]:
    """Plaintext branches with every leaf the rules encrypt replaced by ``fn(value, aad)`` (comments
    included; the leaves stored in clear are kept): how a masked view of a decrypted file is drawn."""

    def change(value: Any, path: list[str], encrypted: bool, is_comment: bool) -> tuple[Any, Any]:
        return value, fn(value, ":".join(path) + ":") if encrypted else value

    return _crypt(branches, rules, change)[0]
