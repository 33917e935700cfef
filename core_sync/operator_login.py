"""kopf login through Lockstep's kubeconfig loader.

kopf's default login piggybacks on the official client (40 MB of imports); this hands kopf the same
credentials directly. Client keys are handed over as ``/proc/self/fd`` paths of in-memory files, so the
key never lands in a temp file.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core_sync.operator_settings import OperatorSettings


def _memory_file(label: str, payload: bytes) -> str:
    fd = os.memfd_create(f"lockstep-{label}", 0)  # kept open for the life of the process
    os.write(fd, payload)
    return f"/proc/self/fd/{fd}"


def register_login(registry: Any, settings: OperatorSettings) -> None:
    """kopf logs in with ``settings``' cluster access; each later login (kopf asks again after a 401 or
    when credentials expire) re-runs a credential plugin rather than handing back what was rejected."""
    import kopf

    logins = {"count": 0}

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        from core_sync.kube import KubeConfigError

        config = settings.kube_config()
        logins["count"] += 1
        try:
            creds = config.credentials(refresh=logins["count"] > 1 and config.refreshable)
        except KubeConfigError as error:
            raise kopf.LoginError(str(error)) from None
        cert_path = key_path = None
        if creds.cert_pem and creds.key_pem:
            cert_path = _memory_file("cert", creds.cert_pem)
            key_path = _memory_file("key", creds.key_pem)
        basic = config.basic_auth if not creds.token else None
        return kopf.ConnectionInfo(
            server=config.server,
            ca_data=config.ca_pem,
            insecure=config.insecure,
            token=creds.token,
            username=basic[0] if basic else None,
            password=basic[1] if basic else None,
            certificate_path=cert_path,
            private_key_path=key_path,
            default_namespace=config.namespace,
            proxy_url=config.proxy_url,
            expiration=creds.expires,
        )
