"""ESO's certificate helpers: ``filterCertChain``, ``certSANs``, PEM → PKCS#12, JWK → PEM, ``rsaDecrypt``.

Chains are ordered the way ESO orders them: a certificate's parent is the one whose Subject Key ID equals
its Authority Key ID, and the leaf is the one that is nobody's parent. ``cryptography`` is imported lazily.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from gocompat.limits import load_json
from gocompat.pem import decode, decode_blocks, encode_block
from gocompat.template.errors import FuncError
from gocompat.template.functions.convert import go_bytes, go_string
from gocompat.template.signature import GoFunc


def trim_junk(text: str) -> str:
    """ESO's ``trimJunk``: drop everything before the first ``-----BEGIN``."""
    begin = text.find("-----BEGIN")
    return text[begin:] if begin >= 0 else text


def _load_cert(der: bytes) -> Any:
    from cryptography import x509

    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise FuncError("failed to parse certificate") from None


def _key_ids(cert: Any) -> tuple[bytes, bytes]:
    """(authority key id, subject key id); a missing one is empty, as Go's nil slice compares."""
    from cryptography import x509

    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier or b""
    except x509.ExtensionNotFound:
        aki = b""
    try:
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        ski = b""
    return aki, ski


def _certs(text: str) -> list[Any]:
    return [_load_cert(der) for kind, _, der in decode_blocks(text)]


def ordered_chain(certs: list[Any]) -> list[Any]:
    """Leaf first, then each parent; raises FuncError for disjunct sets, no leaf, or a cycle."""
    ids = [_key_ids(c) for c in certs]
    parent: dict[int, int] = {}
    is_parent = [False] * len(certs)
    for i in range(len(certs)):
        for j in range(len(certs)):
            if i != j and ids[i][0] == ids[j][1]:
                is_parent[j] = True
                parent[i] = j
                break
    leaves = [i for i in range(len(certs)) if not is_parent[i]]
    if len(leaves) > 1:
        raise FuncError("found multiple leaf or disjunct certificates")
    if not leaves:
        raise FuncError("no leaf certificate found")
    chain: list[Any] = []
    node: int | None = leaves[0]
    while node is not None:
        if len(chain) >= len(certs):
            raise FuncError("constructing chain resulted in cycle")
        chain.append(certs[node])
        node = parent.get(node)
    return chain


def _pem(cert: Any) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return encode_block("CERTIFICATE", cert.public_bytes(Encoding.DER))


def _is_root(cert: Any) -> bool:
    aki, ski = _key_ids(cert)
    return aki == b"" or aki == ski


def filter_cert_chain(cert_type: str, text: str) -> str:
    chain = ordered_chain(_certs(text))
    if cert_type == "leaf":
        aki, ski = _key_ids(chain[0])
        return _pem(chain[0]) if aki != b"" and aki != ski else ""
    if cert_type == "intermediate":
        out = []
        for cert in chain[1:]:
            if _is_root(cert):
                break
            out.append(_pem(cert))
        return "".join(out)
    if cert_type == "root":
        return _pem(chain[-1]) if _is_root(chain[-1]) else ""
    return ""


def cert_sans(text: str) -> list[Any]:
    """DNS names, IP addresses, e-mail addresses, then URIs of the first certificate."""
    from cryptography import x509

    block, _ = decode(trim_junk(text))
    if block is None:
        raise FuncError("failed to decode PEM block")
    cert = _load_cert(block[2])
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    out: list[Any] = list(san.get_values_for_type(x509.DNSName))
    out += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    out += list(san.get_values_for_type(x509.RFC822Name))
    out += list(san.get_values_for_type(x509.UniformResourceIdentifier))
    return out


def _private_key(text: str) -> Any:
    from cryptography.hazmat.primitives import serialization

    block, _ = decode(text)
    if block is None:
        raise FuncError("failed to decode PEM block")
    der = block[2]
    try:
        return serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError):
        raise FuncError("could not parse private key") from None


def _encryption(password: str) -> Any:
    from cryptography.hazmat.primitives import serialization

    if not password:
        return serialization.NoEncryption()
    return serialization.BestAvailableEncryption(go_bytes(password))


def _to_pkcs12(cert: Any, key_text: str, cas: list[Any], password: str) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    encryption = (
        serialization.BestAvailableEncryption(go_bytes(password))
        if password
        else serialization.NoEncryption()
    )
    blob = pkcs12.serialize_key_and_certificates(None, _private_key(key_text), cert, cas or None, encryption)
    return base64.b64encode(blob).decode()


def pem_to_pkcs12_pass(cert: str, key: str, password: str) -> str:
    certs = _certs(cert)
    if not certs:
        raise FuncError("failed to decode PEM block")
    return _to_pkcs12(certs[0], key, [], password)


def full_pem_to_pkcs12_pass(cert: str, key: str, password: str) -> str:
    certs = _certs(cert)
    if not certs:
        raise FuncError("failed to decode PEM block")
    return _to_pkcs12(certs[0], key, certs[1:], password)


def truststore_pass(cert: str, password: str) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    encryption = (
        serialization.BestAvailableEncryption(go_bytes(password))
        if password
        else serialization.NoEncryption()
    )
    blob = pkcs12.serialize_java_truststore(
        [pkcs12.PKCS12Certificate(c, None) for c in _certs(cert)], encryption
    )
    return base64.b64encode(blob).decode()


def _b64url_int(value: Any) -> int:
    if not isinstance(value, str):
        raise FuncError("invalid JWK: missing key parameter")
    try:
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")
    except (binascii.Error, ValueError):
        raise FuncError("invalid JWK: bad base64url parameter") from None


def _jwk_key(text: str, private: bool) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    try:
        jwk = load_json(text)
    except ValueError:  # LimitExceeded included: a 10,000-deep "JWK" is no JWK
        raise FuncError("failed to parse JWK") from None
    if not isinstance(jwk, dict):
        raise FuncError("failed to parse JWK")
    kty = jwk.get("kty")
    if kty == "RSA":
        public = rsa.RSAPublicNumbers(_b64url_int(jwk.get("e")), _b64url_int(jwk.get("n")))
        if not private:
            return public.public_key()
        d, p, q = (_b64url_int(jwk.get(k)) for k in ("d", "p", "q"))
        numbers = rsa.RSAPrivateNumbers(
            p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), public
        )
        return numbers.private_key()
    if kty == "EC":
        curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
        curve = curves.get(str(jwk.get("crv")))
        if curve is None:
            raise FuncError("unsupported JWK curve")
        point = ec.EllipticCurvePublicNumbers(_b64url_int(jwk.get("x")), _b64url_int(jwk.get("y")), curve)
        if not private:
            return point.public_key()
        return ec.EllipticCurvePrivateNumbers(_b64url_int(jwk.get("d")), point).private_key()
    if kty == "OKP" and jwk.get("crv") == "Ed25519":
        if private:
            raw = _b64url_int(jwk.get("d")).to_bytes(32, "big")
            return ed25519.Ed25519PrivateKey.from_private_bytes(raw)
        return ed25519.Ed25519PublicKey.from_public_bytes(_b64url_int(jwk.get("x")).to_bytes(32, "big"))
    raise FuncError("unsupported JWK key type")


def jwk_public_key_pem(text: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = _jwk_key(text, private=False)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return encode_block("PUBLIC KEY", der)


def jwk_private_key_pem(text: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = _jwk_key(text, private=True)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return encode_block("PRIVATE KEY", der)


def rsa_decrypt(scheme: str, hash_name: str, ciphertext: str, key_pem: str) -> str:
    """``rsaDecrypt "RSA-OAEP" "SHA256" .cipher .key``; scheme ``None`` passes the input through."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    if scheme == "None":
        return ciphertext
    if scheme != "RSA-OAEP":
        raise FuncError(f"decryption scheme {scheme} is not supported")
    key = _private_key(key_pem)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise FuncError("could not parse RSA private key")
    # OAEP with SHA-1 is one of ESO's documented options
    choices: dict[str, hashes.HashAlgorithm] = {"SHA1": hashes.SHA1(), "SHA512": hashes.SHA512()}  # noqa: S303
    algorithm = choices.get(hash_name, hashes.SHA256())
    try:
        plain = key.decrypt(go_bytes(ciphertext), padding.OAEP(padding.MGF1(algorithm), algorithm, None))
    except ValueError:
        raise FuncError("error decrypting data with RSA") from None
    return go_string(plain)


FUNCS: dict[str, GoFunc] = {
    "filterCertChain": GoFunc(filter_cert_chain, ("str", "str")),
    "certSANs": GoFunc(cert_sans, ("str",)),
    "pemToPkcs12": GoFunc(lambda c, k: pem_to_pkcs12_pass(c, k, ""), ("str", "str")),
    "pemToPkcs12Pass": GoFunc(pem_to_pkcs12_pass, ("str", "str", "str")),
    "fullPemToPkcs12": GoFunc(lambda c, k: full_pem_to_pkcs12_pass(c, k, ""), ("str", "str")),
    "fullPemToPkcs12Pass": GoFunc(full_pem_to_pkcs12_pass, ("str", "str", "str")),
    "pemTruststoreToPKCS12": GoFunc(lambda c: truststore_pass(c, ""), ("str",)),
    "pemTruststoreToPKCS12Pass": GoFunc(truststore_pass, ("str", "str")),
    "jwkPublicKeyPem": GoFunc(jwk_public_key_pem, ("str",)),
    "jwkPrivateKeyPem": GoFunc(jwk_private_key_pem, ("str",)),
    "rsaDecrypt": GoFunc(rsa_decrypt, ("str", "str", "str", "str")),
}
