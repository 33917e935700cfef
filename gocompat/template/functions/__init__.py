"""The function map: Go's builtins, the Sprig functions ESO users rely on, and ESO's own additions.

Like ESO, ``env``, ``expandenv`` and ``getHostByName`` are absent: a template must not read the
operator's environment or the network.
"""

from __future__ import annotations

from collections.abc import Mapping

from gocompat.template.builtins import BUILTINS
from gocompat.template.functions import certs, containers, encoding, misc, paths, pem, regex, text
from gocompat.template.signature import GoFunc

FUNCS: Mapping[str, GoFunc] = {
    **text.FUNCS,
    **containers.FUNCS,
    **encoding.FUNCS,
    **regex.FUNCS,
    **misc.FUNCS,
    **paths.FUNCS,
    **pem.FUNCS,
    **certs.FUNCS,
    **BUILTINS,
}
