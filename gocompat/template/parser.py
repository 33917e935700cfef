"""Build parse trees from tokens, following Go's ``text/template/parse`` grammar and its parse-time checks.

Like Go, unknown functions and undefined variables are parse errors, so a bad template fails before any
data is touched.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from gocompat.template import nodes as n
from gocompat.template.errors import TemplateSyntaxError, position
from gocompat.template.lexer import T, Token, lex
from gocompat.template.literals import number, unquote


@dataclass
class _End:
    pos: int


@dataclass
class _Else:
    pos: int


_OPERAND_START = frozenset(
    {T.BOOL, T.CHAR, T.DOT, T.FIELD, T.IDENT, T.NUMBER, T.NIL, T.STRING, T.VAR, T.LPAREN}
)


def is_empty(tree: n.ListNode) -> bool:
    """Go's ``IsEmptyTree``: only whitespace text (and nested empty lists)."""
    for node in tree.nodes:
        if isinstance(node, n.TextNode):
            if node.text.strip(" \t\r\n"):
                return False
        elif isinstance(node, n.ListNode):
            if not is_empty(node):
                return False
        else:
            return False
    return True


class Parser:
    """Parses one template text into a set of named trees (the main one plus ``define``/``block``)."""

    def __init__(
        self, text: str, name: str, funcs: Container[str], left: str = "{{", right: str = "}}"
    ) -> None:
        self.text = text
        self.name = name
        self.funcs = funcs
        self.tokens = lex(text, name, left, right)
        self.i = 0
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.trees: dict[str, n.ListNode] = {}

    # -- token stream ------------------------------------------------------------------------------------
    def next(self) -> Token:
        tok = self.tokens[self.i]
        if tok.type is not T.EOF:
            self.i += 1
        return tok

    def peek(self) -> Token:
        return self.tokens[self.i]

    def backup(self, count: int = 1) -> None:
        self.i -= count

    def next_nonspace(self) -> Token:
        tok = self.next()
        while tok.type is T.SPACE:
            tok = self.next()
        return tok

    def peek_nonspace(self) -> Token:
        save = self.i
        tok = self.next_nonspace()
        self.i = save if tok.type is T.EOF else self.i - 1
        return tok

    def error(self, message: str, pos: int | None = None) -> TemplateSyntaxError:
        at = self.tokens[max(self.i - 1, 0)].pos if pos is None else pos
        line, col = position(self.text, at)
        return TemplateSyntaxError(self.name, line, col, message)

    def expect(self, kind: T, context: str) -> Token:
        tok = self.next_nonspace()
        if tok.type is not kind:
            raise self.unexpected(tok, context)
        return tok

    def unexpected(self, tok: Token, context: str) -> TemplateSyntaxError:
        if tok.type is T.EOF:
            return self.error(f"unexpected EOF in {context}", tok.pos)
        return self.error(f"unexpected {tok.describe()} in {context}", tok.pos)

    # -- top level ---------------------------------------------------------------------------------------
    def parse(self) -> dict[str, n.ListNode]:
        root = n.ListNode(0)
        while self.peek().type is not T.EOF:
            tok = self.peek()
            if tok.type is T.LEFT:
                save = self.i
                self.next()
                word = self.next_nonspace()
                if word.type is T.KEYWORD and word.value == "define":
                    self.parse_define()
                    continue
                self.i = save
            node = self.text_or_action()
            if isinstance(node, _End | _Else):
                raise self.error(
                    f"unexpected {{{{{'end' if isinstance(node, _End) else 'else'}}}}}", node.pos
                )
            root.nodes.append(node)
        self.add(self.name, root, self.tokens[0].pos)
        return self.trees

    def add(self, name: str, tree: n.ListNode, pos: int) -> None:
        existing = self.trees.get(name)
        if existing is None or is_empty(existing):
            self.trees[name] = tree
        elif not is_empty(tree):
            raise self.error(f"template: multiple definition of template {name!r}".replace("'", '"'), pos)

    def parse_define(self) -> None:
        context = "define clause"
        name_tok = self.next_nonspace()
        name = self.template_name(name_tok, context)
        self.expect(T.RIGHT, context)
        saved_vars, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = saved_vars
        if not isinstance(end, _End):
            raise self.error(f"unexpected {{{{else}}}} in {context}", end.pos)
        self.add(name, body, name_tok.pos)

    def template_name(self, tok: Token, context: str) -> str:
        if tok.type is not T.STRING:
            raise self.unexpected(tok, context)
        try:
            return unquote(tok.value)
        except ValueError as error:
            raise self.error(f"{error}: {tok.value}", tok.pos) from None

    def item_list(self) -> tuple[n.ListNode, _End | _Else]:
        body = n.ListNode(self.peek().pos)
        while self.peek_nonspace().type is not T.EOF:
            node = self.text_or_action()
            if isinstance(node, _End | _Else):
                return body, node
            body.nodes.append(node)
        raise self.error("unexpected EOF", self.peek().pos)

    def text_or_action(self) -> n.Node | _End | _Else:
        tok = self.next_nonspace()
        if tok.type is T.TEXT:
            return n.TextNode(tok.pos, tok.value)
        if tok.type is T.LEFT:
            return self.action(tok)
        raise self.unexpected(tok, "input")

    # -- actions -----------------------------------------------------------------------------------------
    def action(self, left: Token) -> n.Node | _End | _Else:
        tok = self.next_nonspace()
        if tok.type is T.KEYWORD:
            word = tok.value
            if word == "end":
                self.expect(T.RIGHT, "end")
                return _End(tok.pos)
            if word == "else":
                peek = self.peek_nonspace()
                if peek.type is T.KEYWORD and peek.value in ("if", "with"):
                    return _Else(peek.pos)
                self.expect(T.RIGHT, "else")
                return _Else(tok.pos)
            if word in ("if", "with", "range"):
                return self.control(word, left)
            if word == "template":
                return self.template_control(left)
            if word == "block":
                return self.block_control(left)
            if word in ("break", "continue"):
                if self.range_depth == 0:
                    raise self.error(f"{{{{{word}}}}} outside {{{{range}}}}", tok.pos)
                self.expect(T.RIGHT, word)
                return n.BreakNode(tok.pos) if word == "break" else n.ContinueNode(tok.pos)
            raise self.unexpected(tok, "command")
        self.backup()
        start = self.peek_nonspace().pos
        pipe = self.pipeline("command", T.RIGHT)
        return n.ActionNode(start, pipe.src, pipe)

    def control(self, context: str, left: Token) -> n.BranchNode:
        mark = len(self.vars)
        start = self.peek_nonspace().pos
        pipe = self.pipeline(context, T.RIGHT)
        if context == "range":
            self.range_depth += 1
        body, nxt = self.item_list()
        if context == "range":
            self.range_depth -= 1
        else_body: n.ListNode | None = None
        if isinstance(nxt, _Else):
            peek = self.peek_nonspace()
            if context in ("if", "with") and peek.type is T.KEYWORD and peek.value == context:
                self.next_nonspace()
                else_body = n.ListNode(nxt.pos, [self.control(context, left)])
            else:
                else_body, end = self.item_list()
                if not isinstance(end, _End):
                    raise self.error("expected end; found {{else}}", end.pos)
        del self.vars[mark:]
        return n.BranchNode(context, start, f"{context} {pipe.src}", pipe, body, else_body)

    def template_control(self, left: Token) -> n.TemplateNode:
        context = "template clause"
        tok = self.next_nonspace()
        name = self.template_name(tok, context)
        pipe: n.PipeNode | None = None
        if self.next_nonspace().type is not T.RIGHT:
            self.backup()
            pipe = self.pipeline(context, T.RIGHT)
        src = f"{{{{template {tok.value}{' ' + pipe.src if pipe else ''}}}}}"
        return n.TemplateNode(tok.pos, src, name, pipe)

    def block_control(self, left: Token) -> n.TemplateNode:
        context = "block clause"
        tok = self.next_nonspace()
        name = self.template_name(tok, context)
        pipe = self.pipeline(context, T.RIGHT)
        saved_vars, saved_depth = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        body, end = self.item_list()
        self.vars, self.range_depth = saved_vars, saved_depth
        if not isinstance(end, _End):
            raise self.error(f"unexpected {{{{else}}}} in {context}", end.pos)
        self.add(name, body, tok.pos)
        return n.TemplateNode(tok.pos, f"{{{{template {tok.value} {pipe.src}}}}}", name, pipe)

    # -- pipelines ---------------------------------------------------------------------------------------
    def pipeline(self, context: str, end: T) -> n.PipeNode:
        start = self.peek_nonspace().pos
        pipe = n.PipeNode(start, "")
        self.declarations(pipe, context)
        while True:
            tok = self.next_nonspace()
            if tok.type is end:
                self.check_pipeline(pipe, context)
                pipe.src = self.text[start : tok.pos].strip()
                return pipe
            if tok.type in _OPERAND_START:
                self.backup()
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(tok, context)

    def declarations(self, pipe: n.PipeNode, context: str) -> None:
        while True:
            var = self.peek_nonspace()
            if var.type is not T.VAR:
                return
            save = self.i
            self.next_nonspace()
            after = self.peek_nonspace()
            if after.type in (T.DECLARE, T.ASSIGN):
                self.next_nonspace()
                pipe.is_assign = after.type is T.ASSIGN
                if pipe.is_assign and var.value not in self.vars:
                    raise self.error(f'undefined variable "{var.value}"', var.pos)
                pipe.decls.append(var.value)
                self.vars.append(var.value)
                return
            if after.type is T.COMMA:
                self.next_nonspace()
                pipe.decls.append(var.value)
                self.vars.append(var.value)
                if context == "range" and len(pipe.decls) < 2:
                    if self.peek_nonspace().type in (T.VAR, T.RIGHT, T.RPAREN):
                        continue
                    raise self.error("range can only initialize variables", var.pos)
                raise self.error(f"too many declarations in {context}", var.pos)
            self.i = save
            return

    def check_pipeline(self, pipe: n.PipeNode, context: str) -> None:
        if not pipe.cmds:
            raise self.error(f"missing value for {context}")
        for stage, cmd in enumerate(pipe.cmds[1:], start=2):
            first = cmd.args[0]
            if isinstance(first, n.ConstNode | n.DotNode | n.NilNode):
                raise self.error(f"non executable command in pipeline stage {stage}", cmd.pos)

    def command(self) -> n.CommandNode:
        start = self.peek_nonspace().pos
        cmd = n.CommandNode(start, "", [])
        while True:
            self.peek_nonspace()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.type is T.SPACE:
                continue
            if tok.type in (T.RIGHT, T.RPAREN):
                self.backup()
            elif tok.type is not T.PIPE:
                raise self.unexpected(tok, "operand")
            break
        if not cmd.args:
            raise self.error("empty command")
        cmd.src = self.text[
            start : self.peek().pos
            if self.tokens[self.i - 1].type is not T.PIPE
            else self.tokens[self.i - 1].pos
        ].strip()
        return cmd

    def operand(self) -> n.Operand | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().type is T.FIELD:
            # like Go, the chained node is positioned at its first chained field
            chain_pos = self.peek().pos
            idents: list[str] = []
            while self.peek().type is T.FIELD:
                idents.append(self.next().value[1:])
            src = node.src + "".join("." + i for i in idents)
            if isinstance(node, n.FieldNode):
                return n.FieldNode(chain_pos, src, node.idents + idents)
            if isinstance(node, n.VariableNode):
                return n.VariableNode(chain_pos, src, node.name, node.idents + idents)
            if isinstance(node, n.ConstNode | n.NilNode | n.DotNode):
                raise self.error(f'unexpected . after term "{node.src}"', node.pos)
            if isinstance(node, n.PipeNode):
                src = f"({node.src}){src[len(node.src) :]}"
            return n.ChainNode(chain_pos, src, node, idents)
        return node

    def term(self) -> n.Operand | None:
        tok = self.next_nonspace()
        kind = tok.type
        if kind is T.IDENT:
            if tok.value not in self.funcs:
                raise self.error(f'function "{tok.value}" not defined', tok.pos)
            return n.IdentifierNode(tok.pos, tok.value, tok.value)
        if kind is T.DOT:
            return n.DotNode(tok.pos)
        if kind is T.NIL:
            return n.NilNode(tok.pos)
        if kind is T.VAR:
            parts = tok.value.split(".")
            if parts[0] not in self.vars:
                raise self.error(f'undefined variable "{parts[0]}"', tok.pos)
            return n.VariableNode(tok.pos, tok.value, parts[0], [])
        if kind is T.FIELD:
            return n.FieldNode(tok.pos, tok.value, [tok.value[1:]])
        if kind is T.BOOL:
            return n.ConstNode(tok.pos, tok.value, tok.value == "true")
        if kind is T.NUMBER:
            try:
                return n.ConstNode(tok.pos, tok.value, number(tok.value))
            except ValueError:
                raise self.error(f"illegal number syntax: {tok.value!r}".replace("'", '"'), tok.pos) from None
        if kind is T.CHAR:
            try:
                return n.ConstNode(tok.pos, tok.value, ord(unquote(tok.value)))
            except ValueError:
                raise self.error(f"malformed character constant: {tok.value}", tok.pos) from None
        if kind is T.STRING:
            try:
                return n.ConstNode(tok.pos, tok.value, unquote(tok.value))
            except ValueError as error:
                raise self.error(f"{error}: {tok.value}", tok.pos) from None
        if kind is T.LPAREN:
            return self.pipeline("parenthesized pipeline", T.RPAREN)
        self.backup()
        return None


def parse(
    text: str, name: str, funcs: Container[str], left: str = "{{", right: str = "}}"
) -> dict[str, n.ListNode]:
    return Parser(text, name, funcs, left, right).parse()
