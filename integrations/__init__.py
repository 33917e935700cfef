"""Lockstep inside the tools teams already run: the Argo CD config management plugin (``argocd/``) and the
KSOPS-compatible kustomize plugin (``ksops/``).

Why a package of its own: these commands combine secret packages (SOPS decryption re-sealed with the
SealedSecret controller's certificate), and the secret packages never import each other while ``core_sync``
never imports them. This package sits above all of them; nothing imports it.
"""
