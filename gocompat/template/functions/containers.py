"""Sprig's list, dict, default and logic functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gocompat.limits import check_template_items
from gocompat.template.errors import FuncError
from gocompat.template.functions.convert import empty, strval
from gocompat.template.signature import GoFunc
from gocompat.template.values import MISSING, is_list, is_map, truth, type_name


def _list(value: Any, func: str) -> list[Any]:
    if value is None or value is MISSING:
        return []
    if is_list(value):
        return list(value)
    raise FuncError(f"Cannot find {func} on type {type_name(value)}")


def default(fallback: Any, *given: Any) -> Any:
    if not given or empty(given[0]):
        return fallback
    return given[0]


def coalesce(*values: Any) -> Any:
    for value in values:
        if not empty(value):
            return value
    return None


def ternary(if_true: Any, if_false: Any, condition: bool) -> Any:
    return if_true if condition else if_false


def dict_(*values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(values), 2):
        key = strval(values[i])
        out[key] = values[i + 1] if i + 1 < len(values) else ""
    return out


def get(mapping: Mapping[str, Any] | None, key: str) -> Any:
    if mapping is not None and key in mapping:
        return mapping[key]
    return ""


def set_(mapping: dict[str, Any] | None, key: str, value: Any) -> dict[str, Any]:
    if mapping is None:
        raise FuncError("assignment to entry in nil map")
    mapping[key] = value
    return mapping


def unset(mapping: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    if mapping is not None:
        mapping.pop(key, None)
    return mapping


def has_key(mapping: Mapping[str, Any] | None, key: str) -> bool:
    return mapping is not None and key in mapping


def keys(*maps: Any) -> list[Any]:
    out: list[Any] = []
    for mapping in maps:
        if mapping is not None:
            out.extend(mapping)
    return sorted(out)


def values(mapping: Mapping[str, Any] | None) -> list[Any]:
    return [] if mapping is None else [mapping[k] for k in sorted(mapping)]


def pluck(name: str, *maps: Any) -> list[Any]:
    return [m[name] for m in maps if m is not None and name in m]


def pick(mapping: Mapping[str, Any] | None, *names: str) -> dict[str, Any]:
    return {k: mapping[k] for k in names if mapping is not None and k in mapping}


def omit(mapping: Mapping[str, Any] | None, *names: str) -> dict[str, Any]:
    return {k: v for k, v in (mapping or {}).items() if k not in names}


def _merge_into(dst: dict[str, Any], src: Mapping[str, Any], overwrite: bool) -> None:
    for key, value in src.items():
        if key in dst and is_map(dst[key]) and is_map(value):
            _merge_into(dst[key], value, overwrite)
        elif key not in dst or overwrite or empty(dst[key]):
            dst[key] = value


def merge(dst: dict[str, Any] | None, *srcs: Any) -> dict[str, Any]:
    if dst is None:
        raise FuncError("merge: nil destination")
    for src in srcs:
        if src is not None:
            _merge_into(dst, src, overwrite=False)
    return dst


def merge_overwrite(dst: dict[str, Any] | None, *srcs: Any) -> dict[str, Any]:
    if dst is None:
        raise FuncError("mergeOverwrite: nil destination")
    for src in srcs:
        if src is not None:
            _merge_into(dst, src, overwrite=True)
    return dst


def dig(*args: Any) -> Any:
    """``dig "a" "b" default dict``: walk nested maps, falling back to the default."""
    if len(args) < 3:
        raise FuncError("dig needs at least three arguments")
    *path, fallback, mapping = args
    current: Any = mapping
    for key in path:
        if not is_map(current) or strval(key) not in current:
            return fallback
        current = current[strval(key)]
    return current


def first(value: Any) -> Any:
    items = _list(value, "first")
    return items[0] if items else None


def last(value: Any) -> Any:
    items = _list(value, "last")
    return items[-1] if items else None


def rest(value: Any) -> list[Any]:
    return _list(value, "rest")[1:]


def initial(value: Any) -> list[Any]:
    return _list(value, "initial")[:-1]


def append_(value: Any, item: Any) -> list[Any]:
    return [*_list(value, "append"), item]


def prepend(value: Any, item: Any) -> list[Any]:
    return [item, *_list(value, "prepend")]


def concat(*lists: Any) -> list[Any]:
    out: list[Any] = []
    for value in lists:
        out.extend(_list(value, "concat"))
    return out


def reverse(value: Any) -> list[Any]:
    return _list(value, "reverse")[::-1]


def uniq(value: Any) -> list[Any]:
    out: list[Any] = []
    for item in _list(value, "uniq"):
        if item not in out:
            out.append(item)
    return out


def compact(value: Any) -> list[Any]:
    return [item for item in _list(value, "compact") if not empty(item)]


def has(needle: Any, haystack: Any) -> bool:
    return needle in _list(haystack, "has")


def without(value: Any, *omit_items: Any) -> list[Any]:
    return [item for item in _list(value, "without") if item not in omit_items]


def until(count: int) -> list[Any]:
    check_template_items(abs(count), "until")
    return list(range(count)) if count >= 0 else list(range(0, count, -1))


def all_(*values: Any) -> bool:
    return all(truth(v) for v in values)


def any_(*values: Any) -> bool:
    return any(truth(v) for v in values)


def until_step(start: int, stop: int, step: int) -> list[Any]:
    if step:
        check_template_items(len(range(start, stop, step)), "untilStep")
    if stop < start:
        return list(range(start, stop, step)) if step < 0 else []
    return list(range(start, stop, step)) if step > 0 else []


def seq(*params: int) -> str:
    """Sprig ``seq``: like the shell's — ``seq 3``, ``seq 2 5``, ``seq 0 2 10`` — as a space-joined string."""
    if len(params) == 1:
        end = params[0]
        inc = -1 if end < 1 else 1
        values = until_step(1, end + inc, inc)
    elif len(params) == 2:
        start, end = params
        step = -1 if end < start else 1
        values = until_step(start, end + step, step)
    elif len(params) == 3:
        start, step, end = params
        inc = 1
        if end < start:
            inc = -1
            if step > 0:
                return ""
        values = until_step(start, end + inc, step)
    else:
        return ""
    return " ".join(str(v) for v in values)


def chunk(size: int, value: Any) -> list[Any]:
    items = _list(value, "chunk")
    if size <= 0:
        raise FuncError("chunk size must be positive")
    return [items[i : i + size] for i in range(0, len(items), size)]


def deep_copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


FUNCS: dict[str, GoFunc] = {
    "default": GoFunc(default, ("any",), "any"),
    "empty": GoFunc(empty, ("any",)),
    "coalesce": GoFunc(coalesce, (), "any"),
    "ternary": GoFunc(ternary, ("any", "any", "bool")),
    "all": GoFunc(all_, (), "any"),
    "any": GoFunc(any_, (), "any"),
    "list": GoFunc(lambda *v: list(v), (), "any"),
    "tuple": GoFunc(lambda *v: list(v), (), "any"),
    "dict": GoFunc(dict_, (), "any"),
    "get": GoFunc(get, ("map", "str")),
    "set": GoFunc(set_, ("map", "str", "any")),
    "unset": GoFunc(unset, ("map", "str")),
    "hasKey": GoFunc(has_key, ("map", "str")),
    "keys": GoFunc(keys, (), "map"),
    "values": GoFunc(values, ("map",)),
    "pluck": GoFunc(pluck, ("str",), "map"),
    "pick": GoFunc(pick, ("map",), "str"),
    "omit": GoFunc(omit, ("map",), "str"),
    "merge": GoFunc(merge, ("map",), "map"),
    "mergeOverwrite": GoFunc(merge_overwrite, ("map",), "map"),
    "dig": GoFunc(dig, (), "any"),
    "first": GoFunc(first, ("any",)),
    "last": GoFunc(last, ("any",)),
    "rest": GoFunc(rest, ("any",)),
    "initial": GoFunc(initial, ("any",)),
    "append": GoFunc(append_, ("any", "any")),
    "push": GoFunc(append_, ("any", "any")),
    "prepend": GoFunc(prepend, ("any", "any")),
    "concat": GoFunc(concat, (), "any"),
    "reverse": GoFunc(reverse, ("any",)),
    "uniq": GoFunc(uniq, ("any",)),
    "compact": GoFunc(compact, ("any",)),
    "has": GoFunc(has, ("any", "any")),
    "without": GoFunc(without, ("any",), "any"),
    "until": GoFunc(until, ("int",)),
    "untilStep": GoFunc(until_step, ("int", "int", "int")),
    "seq": GoFunc(seq, (), "int"),
    "chunk": GoFunc(chunk, ("int", "any")),
    "deepCopy": GoFunc(deep_copy, ("any",)),
    "mustDeepCopy": GoFunc(deep_copy, ("any",)),
}
# the must* list forms fail where the plain ones would; ours already fail with a clear error
for _name in (
    "first",
    "last",
    "rest",
    "initial",
    "append",
    "push",
    "prepend",
    "reverse",
    "uniq",
    "compact",
    "has",
    "without",
    "chunk",
):
    FUNCS["must" + _name[0].upper() + _name[1:]] = FUNCS[_name]
