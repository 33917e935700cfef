"""Bitnami-compatible SealedSecrets: the hybrid format, the kubeseal-style CLI, keys and the controller."""
