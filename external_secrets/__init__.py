"""external-secrets.io compatible ExternalSecrets with AWS and Vault/OpenBao providers."""
