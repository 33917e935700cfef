"""Real credentials for kubeconfig tests: ServiceAccount tokens from the TokenRequest API, RBAC for them,
and a client-go credential plugin (a small Python script) that hands out scripted answers and records
each call, so tests can count re-runs and read what it was given (``KUBERNETES_EXEC_INFO``, env, args).
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core_sync.kube import KubeClient

V1 = "client.authentication.k8s.io/v1"
PLUGIN = """#!{python}
import datetime, json, os, sys
from pathlib import Path

here = Path({here!r})
with (here / "calls").open("a") as calls:
    calls.write(json.dumps({{
        "info": json.loads(os.environ.get("KUBERNETES_EXEC_INFO") or "null"),
        "env": os.environ.get("LOCKSTEP_PLUGIN_ENV"),
        "args": sys.argv[1:],
    }}) + "\\n")
count = len((here / "calls").read_text().splitlines())
answers = json.loads((here / "answers.json").read_text())
status = dict(answers[min(count, len(answers)) - 1])
if "fail" in status:
    sys.stderr.write(status["fail"] + "\\n")
    sys.exit(1)
ttl = status.pop("ttl", None)
if ttl is not None:
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=ttl)
    status["expirationTimestamp"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({{"apiVersion": {api!r}, "kind": "ExecCredential", "status": status}}))
"""


class CredentialPlugin:
    """A plugin executable in ``directory`` answering call N with ``answers[N-1]`` (the last repeats).

    An answer is an ExecCredential ``status`` (``token``, ``clientCertificateData``/``clientKeyData``)
    plus optional ``ttl`` seconds, turned into ``expirationTimestamp`` when the plugin runs; an answer
    ``{"fail": text}`` makes the plugin print ``text`` to stderr and exit 1."""

    def __init__(self, directory: Path, answers: Sequence[dict[str, Any]], api_version: str = V1) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.path = directory / "plugin"
        self.path.write_text(PLUGIN.format(python=sys.executable, here=str(directory), api=api_version))
        self.path.chmod(0o755)
        self.answer(answers)

    def answer(self, answers: Sequence[dict[str, Any]]) -> None:
        (self.directory / "answers.json").write_text(json.dumps(list(answers)))

    @property
    def calls(self) -> list[dict[str, Any]]:
        log = self.directory / "calls"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def exec_section(self, api_version: str = V1, **extra: Any) -> dict[str, Any]:
        return {"apiVersion": api_version, "command": str(self.path), "interactiveMode": "Never", **extra}


def kubeconfig_for(
    server: str, ca_pem: bytes, user: dict[str, Any], namespace: str = "default", **cluster: Any
) -> dict[str, Any]:
    """A one-context kubeconfig for ``server`` (trusting ``ca_pem``) as ``user``; ``cluster`` adds fields
    such as ``tls-server-name`` or ``proxy-url``."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "cp",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                    **cluster,
                },
            }
        ],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "cp", "user": "u", "namespace": namespace}}],
        "current-context": "c",
    }


CONFIGMAPS_ONLY: list[dict[str, Any]] = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}]


def grant(
    client: KubeClient,
    namespace: str,
    subject: dict[str, str],
    name: str,
    rules: list[dict[str, Any]] = CONFIGMAPS_ONLY,
) -> None:
    """A Role ``name`` in ``namespace`` with ``rules`` (default: ConfigMaps, all verbs), bound to
    ``subject``."""
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    client.create(
        f"{rbac}/roles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": name},
            "rules": rules,
        },
    )
    client.create(
        f"{rbac}/rolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [subject],
        },
    )


def service_account_token(client: KubeClient, namespace: str, name: str, seconds: int = 3600) -> str:
    """Create ServiceAccount ``name`` allowed ConfigMaps in ``namespace``; a token from TokenRequest."""
    client.create(
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
    )
    grant(client, namespace, {"kind": "ServiceAccount", "name": name, "namespace": namespace}, name)
    request = client.create(
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        },
    )
    return str(request["status"]["token"])


def whoami(client: KubeClient) -> str:
    """The user the API server sees (a SelfSubjectReview)."""
    review = client.create(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )
    return str(review["status"]["userInfo"]["username"])
