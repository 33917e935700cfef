"""Walk parse trees against data, following Go's ``text/template`` exec rules.

Variables live on one stack that each control structure truncates back to its mark; ``and``/``or`` short
circuit; a missing map key follows the ``missingkey`` option (``error`` is what ESO uses).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from gocompat.limits import MAX_TEMPLATE_OUTPUT, MAX_TEMPLATE_STEPS, LimitExceeded
from gocompat.template import nodes as n
from gocompat.template.errors import FuncError, TemplateExecError, position
from gocompat.template.signature import GO_TYPE, ArgTypeError, GoFunc, Kind, convert
from gocompat.template.values import (
    MISSING,
    StringMap,
    is_int,
    is_list,
    is_map,
    printable,
    sort_key,
    truth,
    type_name,
    zero_of_map,
)

MissingKey = Literal["default", "invalid", "zero", "error"]
MAX_DEPTH = 100  # Go allows 100000 nested template calls; Python's stack does not


class _NoFinal:
    """No value piped in from a previous command (Go's ``missingVal``)."""


_NO_FINAL = _NoFinal()


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Executor:
    """Runs one execution; not reused across calls (it holds the output buffer and variable stack)."""

    def __init__(
        self,
        text: str,
        parse_name: str,
        trees: Mapping[str, n.ListNode],
        funcs: Mapping[str, GoFunc],
        missingkey: MissingKey,
    ) -> None:
        self.text = text
        self.parse_name = parse_name
        self.trees = trees
        self.funcs = funcs
        self.missingkey = missingkey
        self.out: list[str] = []
        self.vars: list[tuple[str, Any]] = []
        self.name = parse_name
        self.node: Any = None
        self.depth = 0
        self.steps = 0  # bounded by MAX_TEMPLATE_STEPS: a huge `range` must not run for hours
        self.size = 0  # characters written, bounded by MAX_TEMPLATE_OUTPUT

    # -- errors ------------------------------------------------------------------------------------------
    def at(self, node: Any) -> None:
        self.node = node

    def error(self, message: str) -> TemplateExecError:
        """An error at the current node: ``template: NAME:LINE:COL: executing "T" at <NODE>: MESSAGE``."""
        node = self.node
        pos = getattr(node, "pos", 0)
        context = getattr(node, "src", "")
        if len(context) > 20:
            context = context[:20] + "..."
        line, col = position(self.text, pos)
        return TemplateExecError(self.parse_name, line, col, message, executing=self.name, at=context)

    # -- entry -------------------------------------------------------------------------------------------
    def execute(self, name: str, data: Any) -> str:
        tree = self.trees.get(name)
        if tree is None:
            raise TemplateExecError(
                self.parse_name, 1, 0, f'no such template "{name}"', executing=name, at=""
            )
        self.name = name
        self.vars = [("$", data)]
        try:
            self.walk(data, tree)
        except RecursionError:
            raise self.error("template nesting is too deep") from None
        return "".join(self.out)

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_TEMPLATE_STEPS:
            raise self.error(f"template exceeded the limit of {MAX_TEMPLATE_STEPS} steps")

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_TEMPLATE_OUTPUT:
            raise self.error(f"template output exceeded the limit of {MAX_TEMPLATE_OUTPUT} characters")
        self.out.append(text)

    # -- statements --------------------------------------------------------------------------------------
    def walk(self, dot: Any, node: n.Node) -> None:
        self.step()
        if isinstance(node, n.TextNode):
            self.write(node.text)
        elif isinstance(node, n.ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, n.ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decls:
                self.write(printable(value))
        elif isinstance(node, n.BranchNode):
            if node.kind == "range":
                self.walk_range(dot, node)
            else:
                self.walk_if_or_with(dot, node)
        elif isinstance(node, n.TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, n.BreakNode):
            raise _Break
        elif isinstance(node, n.ContinueNode):
            raise _Continue
        else:  # pragma: no cover - the parser builds nothing else
            raise AssertionError(f"unknown node {node!r}")

    def walk_if_or_with(self, dot: Any, node: n.BranchNode) -> None:
        mark = len(self.vars)
        value = self.eval_pipeline(dot, node.pipe)
        if truth(value):
            self.walk(value if node.kind == "with" else dot, node.body)
        elif node.else_body is not None:
            self.walk(dot, node.else_body)
        del self.vars[mark:]

    def walk_range(self, dot: Any, node: n.BranchNode) -> None:
        self.at(node)
        mark = len(self.vars)
        value = self.eval_pipeline(dot, node.pipe)
        decls = node.pipe.decls
        inner = len(self.vars)
        items: Iterable[tuple[Any, Any]]
        if is_list(value) or isinstance(value, (bytes, bytearray)):
            items = list(enumerate(value))
        elif is_map(value):
            items = [(k, value[k]) for k in sorted(value, key=sort_key)]
        elif is_int(value):
            if len(decls) > 1:
                raise self.error(f"can't use {value} to iterate over more than one variable")
            items = ((i, i) for i in range(value))  # lazily: `range 1000000000` is bounded by steps
        elif value is None or value is MISSING:
            items = []
        else:
            raise self.error(f"range can't iterate over value of type {type_name(value)}")
        empty = True
        for index, elem in items:
            empty = False
            self.step()
            self._set_range_vars(node.pipe, index, elem)
            try:
                self.walk(elem, node.body)
            except _Continue:
                pass
            except _Break:
                del self.vars[inner:]
                break
            del self.vars[inner:]
        if empty and node.else_body is not None:
            self.walk(dot, node.else_body)
        del self.vars[mark:]

    def _set_range_vars(self, pipe: n.PipeNode, index: Any, elem: Any) -> None:
        decls = pipe.decls
        if not decls:
            return
        if pipe.is_assign:
            if len(decls) > 1:
                self.set_var(decls[0], index)
                self.set_var(decls[1], elem)
            else:
                self.set_var(decls[0], elem)
            return
        # declarations were pushed by eval_pipeline: the last one is the element, the one before the index
        name, _ = self.vars[-1]
        self.vars[-1] = (name, elem)
        if len(decls) > 1:
            name, _ = self.vars[-2]
            self.vars[-2] = (name, index)

    def walk_template(self, dot: Any, node: n.TemplateNode) -> None:
        self.at(node)
        tree = self.trees.get(node.name)
        if tree is None:
            raise self.error(f'template "{node.name}" not defined')
        new_dot = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else MISSING
        if self.depth >= MAX_DEPTH:
            raise self.error(f"exceeded maximum template depth ({MAX_DEPTH})")
        saved = (self.vars, self.name)
        self.vars, self.name = [("$", new_dot)], node.name
        self.depth += 1
        try:
            self.walk(new_dot, tree)
        finally:
            self.depth -= 1
            self.vars, self.name = saved

    # -- variables ---------------------------------------------------------------------------------------
    def var_value(self, name: str) -> Any:
        for var, value in reversed(self.vars):
            if var == name:
                return value
        raise self.error(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        raise self.error(f"undefined variable: {name}")

    # -- pipelines and commands --------------------------------------------------------------------------
    def eval_pipeline(self, dot: Any, pipe: n.PipeNode) -> Any:
        self.at(pipe)
        value: Any = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for name in pipe.decls:
            if pipe.is_assign:
                self.set_var(name, value)
            else:
                self.vars.append((name, value))
        return value

    def not_a_function(self, args: list[n.Operand], final: Any) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            raise self.error(f"can't give argument to non-function {args[0].src}")

    def eval_command(self, dot: Any, cmd: n.CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, n.FieldNode):
            self.at(first)
            return self.eval_field_chain(dot, dot, first.idents, cmd.args, final)
        if isinstance(first, n.VariableNode):
            self.at(first)
            value = self.var_value(first.name)
            if not first.idents:
                self.not_a_function(cmd.args, final)
                return value
            return self.eval_field_chain(dot, value, first.idents, cmd.args, final)
        if isinstance(first, n.ChainNode):
            self.at(first)
            if isinstance(first.node, n.NilNode):
                raise self.error(f"indirection through explicit nil in {first.src}")
            receiver = self.eval_arg(dot, first.node)
            return self.eval_field_chain(dot, receiver, first.idents, cmd.args, final)
        if isinstance(first, n.IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args[1:], final)
        if isinstance(first, n.PipeNode):
            self.at(first)
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, n.DotNode):
            return dot
        if isinstance(first, n.NilNode):
            raise self.error("nil is not a command")
        assert isinstance(first, n.ConstNode)
        return first.value

    def eval_field_chain(
        self, dot: Any, receiver: Any, idents: list[str], args: list[n.Operand], final: Any
    ) -> Any:
        static: str | None = None
        for ident in idents[:-1]:
            parent = receiver
            receiver = self.eval_field(receiver, ident, has_args=False, static=static)
            # a value read out of a map[string]interface{} has static type interface {}, as Go reports it
            static = None if isinstance(parent, StringMap) else "interface {}"
        has_args = len(args) > 1 or final is not _NO_FINAL
        return self.eval_field(receiver, idents[-1], has_args=has_args, static=static)

    def eval_field(self, receiver: Any, name: str, *, has_args: bool, static: str | None = None) -> Any:
        if receiver is MISSING:
            if self.missingkey == "error":
                raise self.error(f'nil data; no entry for key "{name}"')
            return MISSING
        if receiver is None:
            raise self.error(f"nil pointer evaluating interface {{}}.{name}")
        if is_map(receiver):
            if has_args:
                raise self.error(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            if self.missingkey == "error":
                raise self.error(f'map has no entry for key "{name}"')
            if self.missingkey == "zero":
                return zero_of_map(receiver)
            return MISSING
        raise self.error(f"can't evaluate field {name} in type {static or type_name(receiver)}")

    def eval_arg(self, dot: Any, node: n.Operand) -> Any:
        self.at(node)
        if isinstance(node, n.DotNode):
            return dot
        if isinstance(node, n.NilNode):
            return None
        if isinstance(node, n.ConstNode):
            return node.value
        if isinstance(node, n.FieldNode):
            return self.eval_field_chain(dot, dot, node.idents, [node], _NO_FINAL)
        if isinstance(node, n.VariableNode):
            value = self.var_value(node.name)
            if node.idents:
                return self.eval_field_chain(dot, value, node.idents, [node], _NO_FINAL)
            return value
        if isinstance(node, n.PipeNode):
            return self.eval_pipeline(dot, node)
        if isinstance(node, n.IdentifierNode):
            return self.eval_function(dot, node, node, [], _NO_FINAL)
        if isinstance(node, n.ChainNode):
            if isinstance(node.node, n.NilNode):
                raise self.error(f"indirection through explicit nil in {node.src}")
            receiver = self.eval_arg(dot, node.node)
            return self.eval_field_chain(dot, receiver, node.idents, [node], _NO_FINAL)
        raise AssertionError(f"unknown operand {node!r}")  # pragma: no cover

    def eval_function(
        self, dot: Any, ident: n.IdentifierNode, cmd: Any, args: list[n.Operand], final: Any
    ) -> Any:
        self.at(ident)
        name = ident.name
        func = self.funcs.get(name)
        if func is None:
            raise self.error(f'"{name}" is not a defined function')
        given = len(args) + (0 if final is _NO_FINAL else 1)
        problem = func.arity_error(name, given)
        if problem:
            raise self.error(problem)
        if name in ("and", "or"):
            return self.eval_and_or(dot, name, args, final)
        values: list[Any] = []
        for i, arg in enumerate(args):
            if isinstance(arg, n.ConstNode | n.NilNode):
                values.append(self.constant_arg(arg, func.kind_of(i)))
            else:
                values.append(self.checked(self.eval_arg(dot, arg), func, i))
        if final is not _NO_FINAL:
            self.at(ident)
            values.append(self.checked(final, func, len(args)))
        self.at(cmd)
        self.step()
        try:
            result = func.fn(*values)
        except (FuncError, LimitExceeded) as error:
            raise self.error(f"error calling {name}: {error}") from None
        except RecursionError:
            raise
        except Exception as error:  # a bug or an unexpected input: name the type, never the data
            raise self.error(f"error calling {name}: {type(error).__name__}") from None
        if isinstance(result, str | bytes | list | dict) and len(result) > MAX_TEMPLATE_OUTPUT:
            raise self.error(f"error calling {name}: result over the limit of {MAX_TEMPLATE_OUTPUT} items")
        return result

    def constant_arg(self, node: n.ConstNode | n.NilNode, kind: Kind) -> Any:
        """Go converts a literal to the parameter's type at the call, with its own messages."""
        self.at(node)
        if isinstance(node, n.NilNode):
            if kind in ("any", "list", "map"):
                return None
            raise self.error(f"cannot assign nil to {GO_TYPE[kind]}")
        value = node.value
        if kind == "any":
            return value
        if kind == "str" and isinstance(value, str):
            return value
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "int" and not isinstance(value, (bool, str)):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, int):
                return value
        if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        expected = {"str": "string", "int": "integer", "float": "float", "bool": "bool"}.get(kind)
        if expected is None:
            raise self.error(f"can't handle {node.src} for arg of type {GO_TYPE[kind]}")
        raise self.error(f"expected {expected}; found {node.src}")

    def checked(self, value: Any, func: GoFunc, index: int) -> Any:
        try:
            return convert(value, func.kind_of(index))
        except ArgTypeError as error:
            raise self.error(str(error)) from None

    def eval_and_or(self, dot: Any, name: str, args: list[n.Operand], final: Any) -> Any:
        value: Any = None
        for arg in args:
            value = self.eval_arg(dot, arg)
            if value is MISSING:
                value = None
            if truth(value) == (name == "or"):
                return value
        if final is not _NO_FINAL:
            value = None if final is MISSING else final
        return value
