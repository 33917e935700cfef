"""Every registered render stage passes a revision without secrets through without loading its cipher or
key code: each operator replica renders such revisions all day, and loading ``cryptography``, ``pyrage``
and the format modules cost every replica ~85 ms of CPU on its first reconcile (measured by bench/scale.py).
Checked in a fresh interpreter, so nothing imported by other tests hides a regression."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from core_sync.stages import StageContext, discover_stages
plain = [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"sops": "not metadata"}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b"}, "spec": {}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}, "data": {"k": "dg=="}},
]
stages = discover_stages()
for stage in stages:
    result = stage.render(plain, StageContext(namespace="apps", client=None))
    assert result.objects == plain and not result.diagnostics, (stage.name, result)
heavy = ("cryptography", "pyrage", "sealed.format", "sealed.keys", "sops_plugin.format", "hvac", "boto3")
print(json.dumps({
    "stages": sorted(stage.name for stage in stages),
    "loaded": sorted(m for m in sys.modules if m.startswith(heavy)),
}))
"""


def test_a_revision_without_secrets_loads_no_cipher_or_key_code() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    found = json.loads(proc.stdout)
    assert {"sops", "sealed", "external"} <= set(found["stages"])
    assert found["loaded"] == []
