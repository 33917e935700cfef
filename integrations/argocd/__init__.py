"""The Argo CD Config Management Plugin (sidecar): ``lockstep argocd discover`` and ``generate``.

``environment`` reads what the cmp-server hands a command (pure), ``discover`` decides whether an app
directory holds secrets Lockstep handles, ``reseal`` turns SOPS-decrypted Secrets into SealedSecrets, ``cli``
is the I/O edge. ``deploy/argocd/`` holds the plugin.yaml and the repo-server sidecar patch.
"""
