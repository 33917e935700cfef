"""``--merge-into`` and ``--in-place``: files rewritten atomically, other content untouched."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml

from tests.sealed.conftest import SealingKey, ok, run_kubeseal, run_lockstep


def secret(name: str, namespace: str = "apps", **values: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
    }


def opened(kubeseal_bin: str, key: SealingKey, path: Path) -> list[dict[str, str]]:
    out = ok(
        run_kubeseal(
            kubeseal_bin,
            "--recovery-unseal",
            "--recovery-private-key",
            str(key.key_path),
            "-o",
            "yaml",
            stdin=path.read_bytes(),
        )
    )
    return [
        {k: base64.b64decode(v).decode() for k, v in d["data"].items()} for d in yaml.safe_load_all(out) if d
    ]


def test_merge_into_keeps_other_items(kubeseal_bin: str, sealing_key: SealingKey, tmp_path: Path) -> None:
    cert = str(sealing_key.cert_path)
    target = tmp_path / "db.yaml"
    target.write_bytes(
        ok(
            run_kubeseal(
                kubeseal_bin,
                "--cert",
                cert,
                "-o",
                "yaml",
                stdin=json.dumps(secret("db", user="admin", password="old")).encode(),
            )
        )
    )
    before = yaml.safe_load(target.read_text())["spec"]["encryptedData"]
    update = secret("ignored-name", password="new", token="t0k")
    ok(run_lockstep("--cert", cert, "--merge-into", str(target), stdin=json.dumps(update).encode()))
    after = yaml.safe_load(target.read_text())
    assert after["spec"]["encryptedData"]["user"] == before["user"]  # untouched ciphertext
    assert after["spec"]["encryptedData"]["password"] != before["password"]
    assert after["metadata"]["name"] == "db"
    assert opened(kubeseal_bin, sealing_key, target) == [{"user": "admin", "password": "new", "token": "t0k"}]
    assert [p.name for p in tmp_path.iterdir()] == ["db.yaml"]


def test_merge_into_failure_leaves_file(sealing_key: SealingKey, tmp_path: Path) -> None:
    target = tmp_path / "db.json"
    original = ok(
        run_lockstep("--cert", str(sealing_key.cert_path), stdin=json.dumps(secret("db", a="1")).encode())
    )
    target.write_bytes(original)
    bad = b'{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"data":{"b":"%%"}}'
    result = run_lockstep("--cert", str(sealing_key.cert_path), "--merge-into", str(target), stdin=bad)
    assert result.returncode == 1 and b"data.b: invalid base64" in result.stderr
    assert target.read_bytes() == original


def _tree(root: Path) -> dict[str, Path]:
    (root / "app").mkdir(parents=True)
    files = {
        "plain": root / "app" / "db-secret.yaml",
        "json": root / "app" / "api.json",
        "mixed": root / "app" / "bundle.yaml",
        "other": root / "app" / "deploy.yaml",
    }
    files["plain"].write_text(yaml.safe_dump(secret("db", password="pw")))
    files["json"].write_text(json.dumps(secret("api", key="k1")))
    files["mixed"].write_text(
        "# leading comment kept\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: '1'\n"
        "---\n" + yaml.safe_dump(secret("bundled", token="tok")) + "---\n# trailing doc\nkind: Service\n"
    )
    files["other"].write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n")
    return files


def test_in_place_writes_sealed_files(kubeseal_bin: str, sealing_key: SealingKey, tmp_path: Path) -> None:
    files = _tree(tmp_path)
    before = {p: p.read_bytes() for p in files.values()}
    result = run_lockstep("--cert", str(sealing_key.cert_path), "--in-place", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert b"sealed 3 Secret(s) from 3 file(s)" in result.stderr
    assert {p: p.read_bytes() for p in files.values()} == before  # sources untouched without --replace
    assert opened(kubeseal_bin, sealing_key, tmp_path / "app" / "db-secret.sealed.yaml") == [
        {"password": "pw"}
    ]
    assert opened(kubeseal_bin, sealing_key, tmp_path / "app" / "api.sealed.json") == [{"key": "k1"}]
    assert opened(kubeseal_bin, sealing_key, tmp_path / "app" / "bundle.sealed.yaml") == [{"token": "tok"}]
    assert not (tmp_path / "app" / "deploy.sealed.yaml").exists()
    # Running again skips our own outputs and re-seals the sources.
    again = run_lockstep("--cert", str(sealing_key.cert_path), "--in-place", str(tmp_path))
    assert b"sealed 3 Secret(s) from 3 file(s)" in again.stderr


def test_in_place_replace_keeps_other_documents(
    kubeseal_bin: str, sealing_key: SealingKey, tmp_path: Path
) -> None:
    files = _tree(tmp_path)
    ok(run_lockstep("--cert", str(sealing_key.cert_path), "--in-place", str(tmp_path), "--replace"))
    text = files["mixed"].read_text()
    assert text.startswith("# leading comment kept\napiVersion: v1\nkind: ConfigMap\n")
    assert text.endswith("---\n# trailing doc\nkind: Service\n")
    kinds = [d["kind"] for d in yaml.safe_load_all(text) if d]
    assert kinds == ["ConfigMap", "SealedSecret", "Service"]
    assert opened(kubeseal_bin, sealing_key, files["plain"]) == [{"password": "pw"}]
    assert json.loads(files["json"].read_text())["kind"] == "SealedSecret"
    assert files["other"].read_text().startswith("apiVersion: apps/v1\nkind: Deployment")


def test_in_place_dry_run_and_failure_write_nothing(sealing_key: SealingKey, tmp_path: Path) -> None:
    files = _tree(tmp_path)
    listing = sorted(p.name for p in (tmp_path / "app").iterdir())
    dry = run_lockstep("--cert", str(sealing_key.cert_path), "--in-place", str(tmp_path), "--dry-run")
    assert dry.returncode == 0
    assert (
        f"would seal 1 Secret(s): {files['plain']} -> {tmp_path / 'app' / 'db-secret.sealed.yaml'}".encode()
        in dry.stdout
    )
    assert sorted(p.name for p in (tmp_path / "app").iterdir()) == listing
    broken = tmp_path / "app" / "zz-broken.yaml"
    broken.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n  namespace: n\ndata:\n  k: '%%'\n"
    )
    failed = run_lockstep("--cert", str(sealing_key.cert_path), "--in-place", str(tmp_path), "--replace")
    assert failed.returncode == 1
    assert f"error: {broken}: data.k: invalid base64".encode() in failed.stderr
    assert b"nothing was written" in failed.stderr
    assert sorted(p.name for p in (tmp_path / "app").iterdir()) == sorted([*listing, "zz-broken.yaml"])
    assert yaml.safe_load(files["plain"].read_text())["kind"] == "Secret"


def test_environment_variables(sealing_key: SealingKey) -> None:
    env = {
        "SEALED_SECRETS_CERT": str(sealing_key.cert_path),
        "SEALED_SECRETS_FORMAT": "yaml",
        "SEALED_SECRETS_SCOPE": "cluster-wide",
    }
    out = ok(run_lockstep(stdin=json.dumps(secret("e", k="v")).encode(), env=env)).decode()
    assert out.startswith("---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n")
    assert "sealedsecrets.bitnami.com/cluster-wide" in out
    flag_wins = ok(run_lockstep("--format", "json", stdin=json.dumps(secret("e", k="v")).encode(), env=env))
    assert flag_wins.startswith(b"{")


def test_help_has_an_example() -> None:
    result = run_lockstep("--help")
    assert result.returncode == 0
    assert b"examples:" in result.stdout and b"lockstep seal --cert cert.pem" in result.stdout
    assert b"lockstep-system/lockstep-sealed-secrets" in result.stdout
