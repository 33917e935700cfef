"""The function map: Go's builtins, the Sprig functions ESO users rely on, and ESO's own additions.

Like ESO, ``env``, ``expandenv`` and ``getHostByName`` are absent: a template must not read the
operator's environment or the network.
"""

from __future__ import annotations

from collections.abc import Mapping

from core_sync.gotemplate.builtins import BUILTINS
from core_sync.gotemplate.functions import certs, containers, encoding, misc, paths, pem, regex, text
from core_sync.gotemplate.signature import GoFunc

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
