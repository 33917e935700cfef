"""Bad input: exit 1, ``error: <file/key>: <reason>``, and no output file at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sealed.conftest import SealingKey, ok, run_lockstep

CONFIGMAP = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: n\ndata:\n  k: v\n"
BAD_BASE64 = b"kind: Secret\nmetadata: {name: s, namespace: n}\ndata: {good: dg==, token: '!!nope'}\n"
EMPTY = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\n"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("configmap.yaml", CONFIGMAP, "not a Secret (ConfigMap cm)"),
        ("badb64.yaml", BAD_BASE64, "data.token: invalid base64"),
        ("empty.yaml", EMPTY, "secret.data is empty in input Secret"),
        ("broken.yaml", b"kind: Secret\nmetadata: [\n", "invalid YAML at line"),
        (
            "nons.yaml",
            b"kind: Secret\nmetadata:\n  name: s\ndata:\n  k: dg==\n",
            "secret must declare a namespace",
        ),
        # Malformed metadata shapes: a clear error naming the field, never a traceback.
        ("meta-str.yaml", b"kind: Secret\nmetadata: x\ndata: {k: dg==}\n", "metadata: expected a mapping"),
        (
            "annotations-list.yaml",
            b"kind: Secret\nmetadata: {name: s, namespace: n, annotations: [a]}\ndata: {k: dg==}\n",
            "metadata.annotations: ",
        ),
        (
            "finalizers-int.yaml",
            b"kind: Secret\nmetadata: {name: s, namespace: n, finalizers: 1}\ndata: {k: dg==}\n",
            "metadata.finalizers: expected a list, found int",
        ),
        (
            "owners-bool.yaml",
            b"kind: Secret\nmetadata: {name: s, namespace: n, ownerReferences: true}\ndata: {k: dg==}\n",
            "metadata.ownerReferences: expected a list, found bool",
        ),
    ],
)
def test_bad_secret_input(
    sealing_key: SealingKey, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    source, out = tmp_path / name, tmp_path / "out.yaml"
    source.write_bytes(content)
    result = run_lockstep("--cert", str(sealing_key.cert_path), "-f", str(source), "-w", str(out))
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert stderr.startswith(f"error: {source}: ")
    assert message in stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [source]  # no temp file left behind either


def test_second_document_bad_writes_nothing(sealing_key: SealingKey, tmp_path: Path) -> None:
    good = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  namespace: n\ndata:\n  k: dg==\n"
    source, out = tmp_path / "two.yaml", tmp_path / "out.json"
    source.write_bytes(good + b"---\n" + BAD_BASE64)
    result = run_lockstep("--cert", str(sealing_key.cert_path), "-f", str(source), "-w", str(out))
    assert result.returncode == 1
    assert f"error: {source}: document 2: data.token: invalid base64".encode() in result.stderr
    assert not out.exists()


def test_sealed_secret_without_encrypted_data(sealing_key: SealingKey, tmp_path: Path) -> None:
    source, out = tmp_path / "sealed.yaml", tmp_path / "secret.yaml"
    source.write_text(
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: s\n  namespace: n\n"
        "spec:\n  template:\n    metadata: {}\n"
    )
    result = run_lockstep(
        "--recovery-unseal",
        "--recovery-private-key",
        str(sealing_key.key_path),
        "-f",
        str(source),
        "-w",
        str(out),
    )
    assert result.returncode == 1
    assert result.stderr.decode() == f"error: {source}: SealedSecret has no spec.encryptedData\n"
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"just some text\n", "not a private key"),
        (None, "not a private key: no PEM PRIVATE KEY block (found CERTIFICATE)"),
        (
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
            "not a private key: ConfigMap x is not a key",
        ),
        (
            b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ndata:\n  tls.crt: dg==\n",
            "Secret x: secret must contain a 'tls.key' key",
        ),
        (
            b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            "not a valid RSA PRIVATE KEY",
        ),
    ],
)
def test_key_file_that_is_not_a_key(
    sealing_key: SealingKey, tmp_path: Path, content: bytes | None, message: str
) -> None:
    key_file, out = tmp_path / "key.pem", tmp_path / "secret.json"
    key_file.write_bytes(sealing_key.cert_pem if content is None else content)
    sealed = ok(
        run_lockstep(
            "--cert",
            str(sealing_key.cert_path),
            stdin=b"kind: Secret\napiVersion: v1\nmetadata: {name: a, namespace: b}\ndata: {k: dg==}\n",
        )
    )
    result = run_lockstep(
        "--recovery-unseal", "--recovery-private-key", str(key_file), "-w", str(out), stdin=sealed
    )
    assert result.returncode == 1
    assert result.stderr.decode().startswith(f"error: {key_file}: ")
    assert message in result.stderr.decode()
    assert not out.exists()


def test_flag_errors(sealing_key: SealingKey) -> None:
    cert = str(sealing_key.cert_path)
    cases = [
        (["--cert", cert, "--format", "xml"], "error: unsupported output format: xml\n"),
        (["--cert", cert, "--from-file", "x"], "error: --from-file requires --raw\n"),
        (
            ["--cert", cert, "--scope", "galaxy"],
            "error: --scope: must be one of: strict, namespace-wide, cluster-wide\n",
        ),
        (
            ["--cert", cert, "--raw", "--namespace", "n"],
            "error: must provide the --name flag with --raw and --scope strict\n",
        ),
        (
            ["--cert", cert, "-n", "other"],
            'error: <stdin>: namespace mismatch: input secret is in namespace "n" '
            'but "other" was specified\n',
        ),
    ]
    secret = (
        b'{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"n"},"data":{"k":"dg=="}}'
    )
    for args, expected in cases:
        result = run_lockstep(*args, stdin=secret)
        assert (result.returncode, result.stderr.decode()) == (1, expected), args


def test_no_secrets_in_input(sealing_key: SealingKey) -> None:
    result = run_lockstep("--cert", str(sealing_key.cert_path), stdin=b"\n---\n")
    assert result.returncode == 1
    assert b"no secrets found" in result.stderr
    assert json.dumps({}) not in result.stdout.decode() and result.stdout == b""


SECRET_ON_STDIN = b"kind: Secret\nmetadata: {name: s, namespace: n}\ndata: {k: dg==}\n"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{metadata: x}", "spec.template.metadata: expected a mapping"),
        ("{metadata: {annotations: [a]}}", "spec.template.metadata.annotations: "),
        ("{metadata: {finalizers: 1}}", "spec.template.metadata.finalizers: expected a list"),
    ],
)
def test_malformed_sealed_secret_template(
    sealing_key: SealingKey, tmp_path: Path, template: str, message: str
) -> None:
    source = tmp_path / "sealed.yaml"
    source.write_text(
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: s, namespace: n}\n"
        f"spec:\n  encryptedData: {{k: AgAA}}\n  template: {template}\n"
    )
    for args in (
        ["--recovery-unseal", "--recovery-private-key", str(sealing_key.key_path), "-f", str(source)],
        ["--merge-into", str(source), "--cert", str(sealing_key.cert_path)],
    ):
        result = run_lockstep(
            *args, stdin=b"kind: Secret\nmetadata: {name: s, namespace: n}\ndata: {k: dg==}\n"
        )
        assert result.returncode == 1
        stderr = result.stderr.decode()
        assert stderr.startswith(f"error: {source}: ") and message in stderr, stderr
        assert "Traceback" not in stderr
