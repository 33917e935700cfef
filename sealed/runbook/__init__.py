"""``lockstep keys rotate`` / ``compromised``: the key rotation runbook over Git working trees.

``plan`` finds the files, ``reseal`` re-encrypts SealedSecret files in place (``parallel``: on every
core), ``rotators`` brings in other
formats (SOPS) as plugins, ``state`` journals each step for resuming, ``gitrepo`` wraps git, ``keysource``
chooses the target key (cluster or backup), ``steps`` runs the five steps, ``report`` prints the outcome.
"""
