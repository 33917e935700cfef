"""``lockstep-ksops``: a kustomize plugin that reads KSOPS's generator configs unchanged.

Two ways kustomize runs it, as KSOPS: a KRM exec function (no argument, a ResourceList on stdin) and a
legacy exec generator (one argument, the generator config's file). ``config`` checks the configs (pure),
``krm`` speaks the ResourceList protocol (pure), ``generate`` decrypts (I/O), ``cli`` is the entry point.
"""
