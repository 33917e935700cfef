"""``--key-order-priority``'s values, as Bitnami names them; import-light so the flag table can use them.

Which key is "newest" (the one new SealedSecrets are sealed with): ``CertNotBefore`` (Bitnami's default)
orders by the certificates' NotBefore, ``SecretCreationTimestamp`` by the key Secrets' creation (for
brought-in certificates that are back-dated).
"""

from __future__ import annotations

CERT_NOT_BEFORE = "CertNotBefore"
SECRET_CREATION = "SecretCreationTimestamp"  # noqa: S105 - a flag value, not a password
KEY_ORDERS = (CERT_NOT_BEFORE, SECRET_CREATION)  # the default first
