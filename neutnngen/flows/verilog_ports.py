"""Ports of a Verilog module, read without a Verilog front end.

:func:`parse_ports` reads a module's ports from Verilog as Yosys and Amaranth write it
(non-ANSI: ``module m(a, b); input [7:0] a; ...``) or as people write it (ANSI:
``module m(input clk, output reg [7:0] q);``). Port widths must be constant expressions of
integer literals; parameters are not resolved. The I/O harness (:mod:`.harness`) and the
learning bench use it.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from neutnngen.errors import ConfigError

__all__ = ["Port", "parse_ports"]

_TOKEN = re.compile(
    r"""
    (?P<skip>\s+|//[^\n]*|/\*.*?\*/|\(\*(?!\)).*?\*\))
    |(?P<string>"(?:\\.|[^"\\])*")
    |(?P<escaped>\\\S+)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_$]*)
    |(?P<directive>`[A-Za-z_][A-Za-z0-9_$]*)
    |(?P<number>[0-9][0-9_]*(?:\s*'[sS]?[bBoOdDhH]\s*[0-9a-fA-FxXzZ_?]+)?
        |'[sS]?[bBoOdDhH]\s*[0-9a-fA-FxXzZ_?]+)
    |(?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_DIRECTIONS = ("input", "output", "inout")
# Words that may stand between the direction and the range or name of a port declaration.
_TYPE_WORDS = frozenset(
    "wire reg logic signed unsigned var tri tri0 tri1 wand wor supply0 supply1 bit integer"
    " uwire".split()
)
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class Port:
    """One port of a module: ``direction`` is ``"input"``, ``"output"`` or ``"inout"``."""

    name: str  # without the escaping backslash of an escaped identifier
    direction: str
    width: int


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str

    @property
    def name(self) -> str:
        return self.text[1:] if self.kind == "escaped" else self.text


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "punct"
        if kind != "skip":
            out.append(_Tok(kind, m.group()))
    return out


def _is_name(tok: _Tok) -> bool:
    return tok.kind in ("ident", "escaped")


_BINOPS: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Div: operator.floordiv,  # Verilog integer division
    ast.Mod: operator.mod,
    ast.LShift: lambda a, b: a << b if 0 <= b <= 64 else operator.truediv(1, 0),
    ast.RShift: operator.rshift,
}


def _const(toks: list[_Tok], what: str, top: str) -> int:
    """Value of a constant integer expression (decimal literals, + - * / % << >>)."""
    text = "".join(t.text for t in toks)

    def ev(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return int(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return int(_BINOPS[type(node.op)](ev(node.left), ev(node.right)))
        raise ValueError(text)

    cleaned = text.replace("_", "")
    sized = re.fullmatch(r"\s*\d*\s*'\s*[dD]\s*(\d+)\s*", cleaned)
    if sized:
        cleaned = sized.group(1)
    try:
        if not re.fullmatch(r"[0-9+\-*/%<>()\s]+", cleaned):
            raise ValueError(text)
        return ev(ast.parse(cleaned, mode="eval"))
    except (ValueError, SyntaxError, ZeroDivisionError):
        raise ConfigError(
            f"{what}: range bound {text!r} is not a constant integer expression "
            "(parameters are not resolved; write the widths out, as Yosys and Amaranth do)",
            path=top,
        ) from None


class _Parser:
    def __init__(self, toks: list[_Tok], top: str):
        self.toks = toks
        self.i = 0
        self.top = top

    def peek(self, k: int = 0) -> _Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ConfigError("unexpected end of text", path=self.top)
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            raise ConfigError(f"expected {text!r}, found {tok.text!r}", path=self.top)

    def skip_balanced(self, open_: str, close: str) -> list[_Tok]:
        """Consume from an opening bracket to its matching close; the tokens in between."""
        self.expect(open_)
        depth = 1
        inner: list[_Tok] = []
        while True:
            tok = self.take()
            if tok.text == open_:
                depth += 1
            elif tok.text == close:
                depth -= 1
                if depth == 0:
                    return inner
            inner.append(tok)

    def ranges_width(self, what: str) -> int:
        """Width of zero or more ``[msb:lsb]`` packed ranges (their product)."""
        width = 1
        while (tok := self.peek()) is not None and tok.text == "[":
            inner = self.skip_balanced("[", "]")
            colon = [k for k, t in enumerate(inner) if t.text == ":"]
            if len(colon) != 1:
                raise ConfigError(
                    f"{what}: range [{' '.join(t.text for t in inner)}] is not [msb:lsb]",
                    path=self.top,
                )
            k = colon[0]
            msb = _const(inner[:k], what, self.top)
            lsb = _const(inner[k + 1 :], what, self.top)
            width *= abs(msb - lsb) + 1
        return width

    def declaration(self, direction: str, stop: str) -> Iterator[tuple[str, int]]:
        """(name, width) for ``[type words] [ranges] name {, name}`` up to ``stop``
        (``;`` in a module body). In an ANSI header a ``,`` followed by a direction ends
        the declaration too; the caller handles that."""
        while (tok := self.peek()) is not None and tok.text in _TYPE_WORDS:
            self.take()
        width = self.ranges_width(f"{direction} declaration")
        while True:
            tok = self.take()
            if not _is_name(tok):
                raise ConfigError(
                    f"expected a port name after {direction!r}, found {tok.text!r}",
                    path=self.top,
                )
            # unpacked dimensions or a default value are not ports we can wire bit by bit
            nxt = self.peek()
            if nxt is not None and nxt.text == "[":
                raise ConfigError(
                    f"port {tok.name!r}: unpacked array ports are not supported",
                    path=self.top,
                )
            if nxt is not None and nxt.text == "=":
                self.take()
                while (n := self.peek()) is not None and n.text not in (",", stop):
                    if n.text in ("(", "{", "["):
                        self.skip_balanced(n.text, {"(": ")", "{": "}", "[": "]"}[n.text])
                    else:
                        self.take()
            yield tok.name, width
            sep = self.peek()
            if sep is None or sep.text == stop:
                return
            self.expect(",")
            after = self.peek()
            if after is not None and after.text in _DIRECTIONS:
                return


def _find_module(toks: list[_Tok], top: str) -> int:
    for i, tok in enumerate(toks[:-1]):
        if tok.text in ("module", "macromodule") and _is_name(toks[i + 1]):
            if toks[i + 1].name == top:
                return i + 2
    return -1


def parse_ports(verilog: str | Mapping[str, str], top: str) -> list[Port]:
    """The ports of module ``top`` in header order.

    ``verilog`` is one Verilog text or a mapping of file name -> text (the first file that
    defines ``top`` is used). Raises :class:`ConfigError` naming ``top`` when no such module
    is defined, or when a port is not a plain (packed, constant-width) port.
    """
    texts = [verilog] if isinstance(verilog, str) else list(verilog.values())
    for text in texts:
        toks = _tokens(text)
        start = _find_module(toks, top)
        if start >= 0:
            return _module_ports(toks, start, top)
    raise ConfigError(
        f"module {top!r} is not defined in the Verilog source (no 'module {top}' found)",
        path=top,
    )


def _module_ports(toks: list[_Tok], start: int, top: str) -> list[Port]:
    p = _Parser(toks, top)
    p.i = start
    if (tok := p.peek()) is not None and tok.text == "#":
        p.take()
        p.skip_balanced("(", ")")
    order: list[str] = []
    found: dict[str, Port] = {}
    if (tok := p.peek()) is not None and tok.text == "(":
        p.take()
        while (tok := p.peek()) is not None and tok.text != ")":
            if tok.text in _DIRECTIONS:  # ANSI header
                direction = p.take().text
                for name, width in p.declaration(direction, ")"):
                    found[name] = Port(name, direction, width)
                    order.append(name)
                continue
            if tok.text == ",":
                p.take()
                continue
            if not _is_name(tok):
                raise ConfigError(
                    f"port list entry {tok.text!r} is not a port name "
                    "(port expressions such as .a(b) are not supported)",
                    path=top,
                )
            order.append(p.take().name)
        p.expect(")")
    p.expect(";")
    ansi = bool(found)
    if not ansi:
        _body_ports(p, found, top)
    missing = [n for n in order if n not in found]
    if missing:
        raise ConfigError(
            f"ports without a direction declaration: {', '.join(missing)}",
            path=top,
        )
    return [found[n] for n in order]


def _body_ports(p: _Parser, found: dict[str, Port], top: str) -> None:
    """Port declarations in a module body up to ``endmodule`` (function and task bodies,
    whose ``input`` declarations are their arguments, are skipped)."""
    at_statement = True
    nesting: list[str] = []
    ends = {"function": "endfunction", "task": "endtask"}
    while (tok := p.peek()) is not None:
        if tok.text == "endmodule" and not nesting:
            return
        if tok.text in ends:
            nesting.append(ends[tok.text])
        elif nesting and tok.text == nesting[-1]:
            nesting.pop()
        elif not nesting and at_statement and tok.text in _DIRECTIONS:
            direction = p.take().text
            for name, width in p.declaration(direction, ";"):
                found[name] = Port(name, direction, width)
            p.expect(";")
            at_statement = True
            continue
        p.take()
        at_statement = tok.text in (";", "begin", "end", "endfunction", "endtask")
    raise ConfigError("no endmodule", path=top)
