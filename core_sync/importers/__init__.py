"""Argo CD and Flux manifests to Lockstep objects (``lockstep import``).

Pure converters: documents in, Lockstep objects and notes out. A note says what has no Lockstep
equivalent, so a team moving its platform repo sees everything the conversion dropped or changed.
"""
