"""JSON and YAML the way Go's ``encoding/json`` and ``sigs.k8s.io/yaml`` write and read them.

Byte-for-byte output matters: a rendered Secret that differs from ESO's by key order or float formatting
is a spurious change. Numbers decode to float64, as ``json.Unmarshal`` into ``interface{}`` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from gocompat import jsonenc, limits
from gocompat.jsonenc import UnsupportedValue
from gocompat.strconv import format_g
from gocompat.template.values import MISSING, is_list, is_map


def _go_value(value: Any) -> Any:
    """A template's missing value marshals as ``null``, as Go's invalid ``reflect.Value`` does."""
    if value is MISSING:
        return None
    raise UnsupportedValue(f"json: unsupported type: {type(value).__name__}")


def marshal(value: Any, *, escape_html: bool = True, indent: str | None = None) -> str:
    """``json.Marshal`` (or ``MarshalIndent`` with ``indent``): sorted keys, Go number and string rules."""
    return jsonenc.marshal(value, escape_html=escape_html, indent=indent, default=_go_value)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character in JSON: {name}")


def unmarshal(text: str) -> Any:
    """``json.Unmarshal`` into ``interface{}``: objects, arrays, strings, float64, bools and nil."""
    return limits.load_json(text, parse_int=float, parse_constant=_reject_constant)


def _floats_to_json_numbers(value: Any) -> Any:
    """What a JSON round trip does to numbers before YAML sees them: integral floats print as integers."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if is_map(value):
        return {str(k): _floats_to_json_numbers(v) for k, v in value.items()}
    if is_list(value):
        return [_floats_to_json_numbers(v) for v in value]
    if value is MISSING:
        return None
    return value


# go-yaml v2 (behind sigs.k8s.io/yaml) is YAML 1.1 with y/Y/n/N as booleans too
_YAML11_YN = re.compile(r"^(?:y|Y|n|N)$")


class _Dumper(yaml.SafeDumper):
    """go-yaml v2 style: block scalars for multi-line strings, double quotes for strings that would read
    back as another type, lists not indented under their key."""


class _Loader(yaml.SafeLoader):
    """YAML 1.1 as go-yaml v2 reads it."""

    bool_values = {**yaml.SafeLoader.bool_values, "y": True, "n": False}  # noqa: RUF012


# ...and it parses numbers with Go's strconv, which also reads 0o17 and 1e+21 (no dot needed)
_GO_OCTAL = re.compile(r"^[-+]?0o[0-7_]+$")
_GO_EXP_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")
for _cls in (_Dumper, _Loader):
    _cls.add_implicit_resolver("tag:yaml.org,2002:bool", _YAML11_YN, list("yYnN"))
    _cls.add_implicit_resolver("tag:yaml.org,2002:float", _GO_EXP_FLOAT, list("-+0123456789"))
_Dumper.add_implicit_resolver("tag:yaml.org,2002:int", _GO_OCTAL, list("-+0"))
# go-yaml writes "<<" and "=" plain, so the dumper must not treat them as special
_Dumper.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")
    ]
    for first, resolvers in _Dumper.yaml_implicit_resolvers.items()
}


# only strings that would read back as bool/int/float/null/timestamp need quotes
_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:str"})


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    if dumper.resolve(yaml.ScalarNode, data, (True, False)) not in _PLAIN_TAGS:  # type: ignore[no-untyped-call]
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


def _float_representer(dumper: yaml.SafeDumper, data: float) -> yaml.ScalarNode:
    """go-yaml's float text: shortest ``%g`` (``1e+21``, ``0.5``), ``.inf``/``.nan`` for the specials."""
    text = format_g(data)
    text = {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(text, text)
    return dumper.represent_scalar("tag:yaml.org,2002:float", text)


_Dumper.add_representer(str, _str_representer)
_Dumper.add_representer(float, _float_representer)


def to_yaml(value: Any) -> str:
    """sigs.k8s.io/yaml ``Marshal`` with the trailing newline removed (as Sprig/ESO ``toYaml`` does)."""
    if value is None or value is MISSING:
        return "null"
    text = yaml.dump(
        _floats_to_json_numbers(value),
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=True,
        allow_unicode=True,
        width=80,
    )
    if text.endswith("\n...\n"):
        text = text[: -len("...\n")]
    return text.removesuffix("\n")


def _json_shaped(value: Any) -> Any:
    """YAML → JSON → ``interface{}``: numbers become float64, keys become strings."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _json_shaped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_shaped(v) for v in value]
    return str(value)


def from_yaml(text: str) -> Any:
    """sigs.k8s.io/yaml ``Unmarshal``: YAML converted through JSON (raises ``yaml.YAMLError``)."""
    return _json_shaped(limits.safe_load(text, _Loader))
