"""The operator loads kopf without the official client's models, and the auth-provider path can still
import that client afterwards."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from core_sync.operator import _without_client_models
with _without_client_models():
    import kopf
assert "kubernetes.client" not in sys.modules, "kopf loaded the kubernetes client models"
assert not any(name.startswith("kubernetes.client.models") for name in sys.modules)
import kubernetes.client  # what the auth-provider path needs later still imports
assert kubernetes.client.V1ObjectMeta is not None
print("ok")
"""


def test_kopf_is_imported_without_the_kubernetes_client_models() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
