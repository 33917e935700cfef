"""The template package's API, ESO's own functions (PEM, PKCS#12) and secret hygiene.

Go and Sprig behaviour is checked against the real implementations in ``test_template_go.py`` and
``test_template_sprig.py``; this file covers what those cannot: the Python API, ESO's additions, binary
data, and errors that must never carry secret values.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from gocompat.template import (
    GoFunc,
    StringMap,
    Template,
    TemplateError,
    TemplateExecError,
    TemplateSyntaxError,
    render,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "external-secrets"
SECRET = "s3cr3t-Value-9f2c"


# -- API ---------------------------------------------------------------------------------------------------


def test_render_uses_esos_string_map_context() -> None:
    data = {"user": "admin", "pass": "pw"}
    assert (
        render('{{ printf "%s:%s" .user .pass | b64enc }}', data, name="auth")
        == base64.b64encode(b"admin:pw").decode()
    )
    # map[string]string: index of a missing key is "" (not <no value>), a missing field is an error
    assert render('[{{ index . "nope" }}]', data, name="t") == "[]"
    with pytest.raises(TemplateExecError, match='map has no entry for key "nope"'):
        render("{{ .nope }}", data, name="t")


def test_compiled_template_is_reusable_and_exposes_defines() -> None:
    template = Template('{{ define "row" }}{{ .k }}={{ .v }}{{ end }}[{{ template "row" . }}]', name="main")
    assert template.defined == ["main", "row"]
    assert template.execute({"k": "a", "v": "1"}) == "[a=1]"
    assert template.execute({"k": "b", "v": "2"}) == "[b=2]"
    assert template.execute({"k": "c", "v": "3"}, template="row") == "c=3"


def test_missingkey_modes() -> None:
    assert Template("{{ .x }}", name="t", missingkey="default").execute({}) == "<no value>"
    assert Template("[{{ .x }}]", name="t", missingkey="zero").execute(StringMap()) == "[]"
    with pytest.raises(TemplateExecError):
        Template("{{ .x }}", name="t").execute({})


def test_custom_delimiters_and_functions() -> None:
    shout = GoFunc(lambda s: s.upper() + "!", ("str",))
    template = Template("<< .a | shout >> {{ .a }}", name="t", delims=("<<", ">>"), funcs={"shout": shout})
    assert template.execute({"a": "hi"}) == "HI! {{ .a }}"


def test_binary_values_round_trip_as_bytes() -> None:
    raw = bytes(range(256))
    data = {"blob": base64.b64encode(raw).decode()}
    assert Template("{{ .blob | b64dec }}", name="t").execute_bytes(data) == raw
    assert render("{{ .blob | b64dec | b64enc }}", data, name="t") == data["blob"]
    assert render("{{ .blob | b64dec | len }}", data, name="t") == "256"


# -- errors: name, position, and never the data ----------------------------------------------------------


def test_syntax_errors_name_the_template_and_position() -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        Template("line one\n  {{ .a | frobnicate }}", name="tls.crt")
    error = caught.value
    # columns count bytes from 0 within the line, as Go's ErrorContext does
    assert (error.name, error.line, error.col) == ("tls.crt", 2, 10)
    assert str(error) == 'template: tls.crt:2:10: function "frobnicate" not defined'


def test_unknown_functions_fail_at_parse_time_before_any_data_is_read() -> None:
    for name in ("include", "env", "expandenv", "getHostByName"):
        with pytest.raises(TemplateSyntaxError, match=f'function "{name}" not defined'):
            Template(f'{{{{ {name} "x" }}}}', name="t")


def test_exec_errors_carry_position_and_node() -> None:
    with pytest.raises(TemplateExecError) as caught:
        render(
            "ok\n{{ .user }} {{ .pass | b64dec | upper | int | upper }}",
            {"user": "u", "pass": "cA=="},
            name="cfg",
        )
    error = caught.value
    assert (error.name, error.line) == ("cfg", 2)
    assert error.executing == "cfg"
    assert "wrong type for value; expected string; got int" in str(error)


@pytest.mark.parametrize(
    "text",
    [
        "{{ .secret | int | upper }}",
        "{{ .secret.field }}",
        "{{ index .secret 99 }}",
        "{{ range .secret }}{{ end }}",
        "{{ lt .secret 1 }}",
        "{{ .secret | mustFromJson }}",
        '{{ .secret | filterPEM "CERTIFICATE" }}',
        "{{ .secret | pkcs12key }}",
        "{{ regexFind .secret .secret }}",
        "{{ template .secret }}",
        "{{ printf .secret | len | upper }}",
    ],
)
def test_errors_never_contain_secret_values(text: str) -> None:
    data = {"secret": SECRET + "([{"}
    try:
        render(text, data, name="t")
    except TemplateError as error:
        assert SECRET not in str(error)
        assert SECRET not in repr(error.args)
    else:
        pytest.fail("the template was expected to fail")


# -- ESO's documented templates ----------------------------------------------------------------------------


def _example_templates() -> dict[str, dict[str, str]]:
    docs = yaml.safe_load_all((EXAMPLES / "templates.yaml").read_text())
    return {d["metadata"]["name"]: d["spec"]["target"]["template"]["data"] for d in docs}


def test_esos_multiline_and_replace_example_renders() -> None:
    templates = _example_templates()["template"]
    data = {"user": "grafana", "password": "pw", "dburl": "postgres://db:5432/app"}
    rendered = {key: render(text, data, name=key) for key, text in templates.items()}
    assert rendered["connection"] == "postgresql://db:5432/app"
    assert rendered["config"] == templates["config"].replace("{{ .password }}", "pw").replace(
        "{{ .user }}", "grafana"
    )
    assert yaml.safe_load(rendered["config"])["datasources"][0]["user"] == "grafana"


def test_esos_dockerconfigjson_example_renders_valid_json() -> None:
    template = _example_templates()["dockerconfigjson-example"][".dockerconfigjson"]
    config = json.loads(
        render(template, {"username": "robot", "password": "t0k:en"}, name=".dockerconfigjson")
    )
    assert base64.b64decode(config["auths"]["registry.example.com"]["auth"]) == b"robot:t0k:en"


# -- PEM and PKCS#12 (real keys and certificates) --------------------------------------------------------


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    signer: ec.EllipticCurvePrivateKey,
    *,
    key_ids: bool = True,
    sans: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if key_ids:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
        )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    """root → intermediate → leaf, with key identifiers (how ESO orders chains) and SANs on the leaf."""
    root_key, inter_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _cert("root", root_key, "root", root_key)
    inter = _cert("intermediate", inter_key, "root", root_key)
    sans: list[x509.GeneralName] = [
        x509.DNSName("app.example.com"),
        x509.IPAddress(ipaddress.ip_address("10.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("2001:db8::1")),
        x509.RFC822Name("ops@example.com"),
        x509.UniformResourceIdentifier("spiffe://example/app"),
    ]
    leaf = _cert("leaf", leaf_key, "intermediate", inter_key, sans=sans)
    pem = serialization.Encoding.PEM
    key_pem = leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "leaf": leaf,
        "inter": inter,
        "root": root,
        "leaf_key": leaf_key,
        "leaf_pem": leaf.public_bytes(pem).decode(),
        "inter_pem": inter.public_bytes(pem).decode(),
        "root_pem": root.public_bytes(pem).decode(),
        "key_pem": key_pem,
    }


def test_filter_pem_picks_blocks_by_type(pki: dict[str, Any]) -> None:
    bundle = "junk before\n" + pki["key_pem"] + pki["leaf_pem"] + pki["root_pem"]
    data = {"mysecret": bundle}
    certs = render('{{ .mysecret | filterPEM "CERTIFICATE" }}', data, name="tls.crt")
    assert certs == pki["leaf_pem"] + pki["root_pem"]
    assert render('{{ .mysecret | filterPEM "private key" }}', data, name="tls.key") == pki["key_pem"]
    assert render('{{ .mysecret | filterPEM "EC PRIVATE KEY" }}', data, name="t") == ""
    with pytest.raises(TemplateExecError, match="error filtering pem: found junk"):
        render('{{ .x | filterPEM "CERTIFICATE" }}', {"x": "no pem here"}, name="t")


def test_filter_cert_chain_orders_by_key_identifiers(pki: dict[str, Any]) -> None:
    shuffled = {"chain": pki["root_pem"] + pki["leaf_pem"] + pki["inter_pem"]}
    assert render('{{ .chain | filterCertChain "leaf" }}', shuffled, name="t") == pki["leaf_pem"]
    assert render('{{ .chain | filterCertChain "intermediate" }}', shuffled, name="t") == pki["inter_pem"]
    assert render('{{ .chain | filterCertChain "root" }}', shuffled, name="t") == pki["root_pem"]
    disjunct = {"chain": pki["leaf_pem"] + pki["root_pem"]}  # the intermediate is missing
    with pytest.raises(TemplateExecError, match="found multiple leaf or disjunct certificates"):
        render('{{ .chain | filterCertChain "leaf" }}', disjunct, name="t")


def test_cert_sans_lists_every_kind_in_esos_order(pki: dict[str, Any]) -> None:
    out = render('{{ .crt | certSANs | join "," }}', {"crt": pki["leaf_pem"]}, name="t")
    assert out == "app.example.com,10.0.0.1,2001:db8::1,ops@example.com,spiffe://example/app"


def _archive(pki: dict[str, Any], password: bytes | None) -> str:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    blob = pkcs12.serialize_key_and_certificates(
        b"x", pki["leaf_key"], pki["leaf"], [pki["root"], pki["inter"]], encryption
    )
    return base64.b64encode(blob).decode()


def test_pkcs12_helpers_extract_key_and_ordered_chain(pki: dict[str, Any]) -> None:
    data = {"keystore": _archive(pki, None), "locked": _archive(pki, b"hunter2")}
    assert render("{{ .keystore | b64dec | pkcs12key }}", data, name="t") == pki["key_pem"]
    chain = pki["leaf_pem"] + pki["inter_pem"] + pki["root_pem"]
    assert render("{{ .keystore | b64dec | pkcs12cert }}", data, name="t") == chain
    assert render('{{ .locked | b64dec | pkcs12keyPass "hunter2" }}', data, name="t") == pki["key_pem"]
    assert render('{{ .locked | b64dec | pkcs12certPass "hunter2" }}', data, name="t") == chain
    with pytest.raises(TemplateExecError, match="unable to decode pkcs12 archive"):
        render('{{ .locked | b64dec | pkcs12keyPass "wrong" }}', data, name="t")


def test_pem_to_pkcs12_round_trips(pki: dict[str, Any]) -> None:
    data = {"crt": pki["leaf_pem"] + pki["inter_pem"], "key": pki["key_pem"]}
    pem = serialization.Encoding.PEM
    plain = base64.b64decode(render("{{ pemToPkcs12 .crt .key }}", data, name="t"))
    key, cert, extra = pkcs12.load_key_and_certificates(plain, None)
    assert cert == pki["leaf"] and extra == []
    assert key is not None
    assert (
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        == (pki["key_pem"])
    )
    full = base64.b64decode(render('{{ fullPemToPkcs12Pass .crt .key "pw" }}', data, name="t"))
    _, cert, extra = pkcs12.load_key_and_certificates(full, b"pw")
    assert cert == pki["leaf"] and extra == [pki["inter"]]
    store = base64.b64decode(render("{{ pemTruststoreToPKCS12 .crt }}", data, name="t"))
    loaded = pkcs12.load_pkcs12(store, None)
    assert [c.certificate for c in loaded.additional_certs] == [pki["leaf"], pki["inter"]]


def _b64url(number: int, size: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(size, "big")).rstrip(b"=").decode()


def test_jwk_to_pem_for_rsa_and_ec() -> None:
    pem = serialization.Encoding.PEM
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    n = rsa_key.private_numbers()
    rsa_jwk = {
        "kty": "RSA",
        "n": _b64url(n.public_numbers.n, 256),
        "e": _b64url(n.public_numbers.e, 3),
        "d": _b64url(n.d, 256),
        "p": _b64url(n.p, 128),
        "q": _b64url(n.q, 128),
    }
    ec_key = ec.generate_private_key(ec.SECP384R1())
    e = ec_key.private_numbers()
    ec_jwk = {
        "kty": "EC",
        "crv": "P-384",
        "x": _b64url(e.public_numbers.x, 48),
        "y": _b64url(e.public_numbers.y, 48),
        "d": _b64url(e.private_value, 48),
    }
    for key, jwk in ((rsa_key, rsa_jwk), (ec_key, ec_jwk)):
        data = {"jwk": json.dumps(jwk)}
        public = key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        private = key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        assert render("{{ .jwk | jwkPublicKeyPem }}", data, name="t") == public
        assert render("{{ .jwk | jwkPrivateKeyPem }}", data, name="t") == private


def test_rsa_decrypt_oaep() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    for name, algorithm in (("SHA1", hashes.SHA1()), ("SHA256", hashes.SHA256())):  # noqa: S303
        cipher = key.public_key().encrypt(b"hunter2", padding.OAEP(padding.MGF1(algorithm), algorithm, None))
        data = {"enc": base64.b64encode(cipher).decode(), "key": key_pem}
        out = render(f'{{{{ rsaDecrypt "RSA-OAEP" "{name}" (.enc | b64dec) .key }}}}', data, name="password")
        assert out == "hunter2"
    with pytest.raises(TemplateExecError, match="decryption scheme RSA-PKCS1 is not supported"):
        render('{{ rsaDecrypt "RSA-PKCS1" "SHA1" .enc .key }}', {"enc": "x", "key": key_pem}, name="t")


def test_htpasswd_bcrypt_and_refused_username() -> None:
    """Sprig's default htpasswd hash is bcrypt (cost 10); a ``:`` in the user name is refused in-band."""
    import bcrypt

    line = render('{{ htpasswd .user .pass "bcrypt" }}', {"user": "admin", "pass": SECRET}, name="t")
    user, _, digest = line.partition(":")
    assert user == "admin" and digest.startswith("$2") and digest.split("$")[2] == "10"
    assert bcrypt.checkpw(SECRET.encode(), digest.encode())
    assert render('{{ htpasswd "a:b" "x" "sha" }}', {}, name="t") == "invalid username: a:b"
