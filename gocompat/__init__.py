"""Go's behaviour, byte for byte, for everything Lockstep must speak like a Go program.

The bottom layer: ``core_sync``, ``sealed``, ``sops_plugin`` and ``external_secrets`` import it; it imports
nothing of Lockstep. Modules: ``limits`` (the limits every parser obeys), ``strconv`` (float and integer
text), ``jsonenc`` (``encoding/json`` output), ``pem`` (``encoding/pem``), ``duration``
(``time.ParseDuration``), ``yaml`` (go-yaml v2 as kubeseal writes it, v3 as sops does) and ``template``
(``text/template`` with Sprig and ESO's functions). Importing this package imports none of them.
"""
