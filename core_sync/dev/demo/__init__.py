"""``lockstep demo``: Lockstep's first five minutes, acted out on the embedded environment.

It starts ``lockstep dev up`` when nothing runs (and stops it afterwards unless ``--keep``), runs
``lockstep operator``, serves a git repository made from ``examples/demo/`` over smart HTTP on loopback,
and shows every object of the Application until it is Synced; then it edits a managed object by hand,
pushes a commit, changes a value in OpenBao and (once ``lockstep keys rotate`` exists) rotates the keys,
waiting to observe the effect of each. It never touches a cluster it did not start unless ``--kubeconfig``
names one.

The parts: ``cli`` (flags, ``main``), ``environment`` (where it runs, the operator, providers, waiting),
``repository`` (the demo repository), ``board`` (the live table), ``story`` (the steps).
"""
