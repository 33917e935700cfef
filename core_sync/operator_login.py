"""kopf login through Lockstep's kubeconfig loader.

kopf's default login piggybacks on the official client (40 MB of imports); this hands kopf the same
credentials directly. Client keys are handed over as ``/proc/self/fd`` paths of in-memory files, so the
key never lands in a temp file.
"""

from __future__ import annotations

import os
from typing import Any


def _memory_file(label: str, payload: bytes) -> str:
    fd = os.memfd_create(f"lockstep-{label}", 0)  # kept open for the life of the process
    os.write(fd, payload)
    return f"/proc/self/fd/{fd}"


def register_login(registry: Any) -> None:
    import kopf

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        from core_sync.kube import KubeConfig

        config = KubeConfig.load(context=os.environ.get("LOCKSTEP_KUBE_CONTEXT"))
        cert_path = key_path = None
        if config.client_cert_pem and config.client_key_pem:
            cert_path = _memory_file("cert", config.client_cert_pem)
            key_path = _memory_file("key", config.client_key_pem)
        token = config.auth_header().get("Authorization", "").removeprefix("Bearer ") or None
        return kopf.ConnectionInfo(
            server=config.server,
            ca_data=config.ca_pem,
            insecure=config.insecure,
            token=token,
            certificate_path=cert_path,
            private_key_path=key_path,
            default_namespace=config.namespace,
        )
