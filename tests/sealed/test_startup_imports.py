"""What a single ``lockstep seal``'s start-up budget rests on (issue 16: <= 1.6x the bare interpreter):
sealing one Secret imports none of the modules that used to dominate it, and nothing of ``cryptography``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.sealed.conftest import SealingKey

HEAVY = (
    "typing",
    "argparse",
    "json",
    "base64",
    "hashlib",
    "datetime",
    "yaml",
)
NO_PACKAGE = "cryptography"  # not one module of it: seal's RSA-OAEP and AES-GCM of a few values are ours
SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\ndata:\n  a: dg==\n  b: dw==\n"


def test_sealing_one_secret_imports_nothing_heavy(sealing_key: SealingKey, tmp_path: Path) -> None:
    source = tmp_path / "secret.yaml"
    source.write_text(SECRET)
    out = tmp_path / "sealed.json"
    probe = (
        "import sys\n"
        "from core_sync.cli import main\n"
        f"code = main(['seal', '--cert', {str(sealing_key.cert_path)!r}, '-f', {str(source)!r},"
        f" '-w', {str(out)!r}])\n"
        f"print(sorted(m for m in sys.modules if m in {HEAVY!r} or m.startswith({NO_PACKAGE!r})), code)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "[] 0", run.stdout + run.stderr
    sealed = json.loads(out.read_text())
    assert sorted(sealed["spec"]["encryptedData"]) == ["a", "b"]
