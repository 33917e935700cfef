"""Where the sealing keys live and how they are labelled, import-light: the render stage names them
without loading the key code (a revision with no SealedSecret must not import ``cryptography``).
"""

from __future__ import annotations

KEY_NAMESPACE = "lockstep-system"
KEY_PREFIX = "sealed-secrets-key"
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
ACTIVE = "active"
COMPROMISED = "compromised"
TLS_TYPE = "kubernetes.io/tls"
