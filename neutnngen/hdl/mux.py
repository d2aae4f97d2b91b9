"""Pipelined multiplexer trees: one element per cycle out of many held lines.

A tree of 2:1 multiplexers over the line counter's bits (LSB first) with a register every
``R`` levels; stage ``k`` uses the counter delayed by ``k`` cycles, so the output register
holds the element selected ``Lm`` cycles earlier. Entries that do not exist (lines no
synapse uses, counter values past the last line) are constants and prune the tree: a missing
line costs no logic.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


def mux_tree(m: Module, entries: dict[int, Value], width: int, sels: list[Value], R: int,
             Lm: int, name: str, final: list[Signal] | None = None) -> Value:
    """Element ``entries[sel]`` (0 where absent), registered, ``Lm`` cycles after ``sels[0]``
    selected it. ``sels[k]`` is the line counter delayed by ``k`` cycles. ``final``: the
    signals (LSB first) to use as the output register instead of new ones."""
    if not entries:
        if final is not None:
            m.d.sync += Cat(*final).eq(0)
        return Const(0, width)
    SW = len(sels[0])
    cur: list[Value | None] = [entries.get(i) for i in range(1 << SW)]
    stage = 0
    for lvl in range(SW):
        bit = sels[stage][lvl]
        nxt: list[Value | None] = []
        for i in range(0, len(cur), 2):
            a, b = cur[i], cur[i + 1]
            if a is None and b is None:
                nxt.append(None)
            elif b is None:
                nxt.append(Mux(bit, 0, a))
            elif a is None:
                nxt.append(Mux(bit, b, 0))
            else:
                nxt.append(Mux(bit, b, a))
        cur = nxt
        if (lvl + 1) % R == 0 and lvl + 1 < SW:
            regs: list[Value | None] = []
            for g, v in enumerate(cur):
                if v is None:
                    regs.append(None)
                    continue
                r = Signal(width, name=f"{name}_p{stage}_{g}", reset_less=True)
                m.d.sync += r.eq(v)
                regs.append(r)
            cur = regs
            stage += 1
    out: Value = cur[0] if cur[0] is not None else Const(0, width)
    for k in range(stage, Lm):
        if k == Lm - 1 and final is not None:
            m.d.sync += Cat(*final).eq(out)
            return Cat(*final)
        r = Signal(width, name=f"{name}_q" if k == Lm - 1 else f"{name}_q{k}", reset_less=True)
        m.d.sync += r.eq(out)
        out = r
    return out


class LineMux(wiring.Component):
    """Streams a column's lines (distal inputs, then proximal lines) one per cycle.

    ``lines[j]`` is ``("in", i)`` (layer input ``i``) or ``("prox", i)`` (the layer's
    proximal line ``i``); ``used`` lists the ``j`` some synapse needs. Line ``j`` goes to
    lane ``j % G`` at step ``j // G``. Output per lane ``g``: the selected line's time
    ``lane_x[g*tb +: tb]`` and spike ``lane_s[g]``, ``Lm`` cycles after selection.
    """

    def __init__(self, lines, used, n_in: int, n_prox: int, tb: int, SW: int, R: int, Lm: int,
                 G: int = 1):
        self.lines = tuple(lines)
        self.used = tuple(sorted(set(used)))
        self.tb, self.SW, self.R, self.Lm, self.G = tb, SW, R, Lm, G
        members = {f"sel{k}": In(SW) for k in range(Lm)}
        members.update({
            "x": In(max(1, n_in * tb)),
            "s": In(max(1, n_in)),
            "px": In(max(1, n_prox * tb)),
            "ps": In(max(1, n_prox)),
            "lane_x": Out(G * tb),
            "lane_s": Out(G),
        })
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        tb, G = self.tb, self.G
        sels = [getattr(self, f"sel{k}") for k in range(self.Lm)]
        for g in range(G):
            entries: dict[int, Value] = {}
            for j in self.used:
                if j % G != g:
                    continue
                src, i = self.lines[j]
                if src == "in":
                    entries[j // G] = Cat(self.x[i * tb:(i + 1) * tb], self.s[i])
                else:
                    entries[j // G] = Cat(self.px[i * tb:(i + 1) * tb], self.ps[i])
            mux_tree(m, entries, tb + 1, sels, self.R, self.Lm,
                     "line" if G == 1 else f"line{g}",
                     final=[self.lane_x[g * tb:(g + 1) * tb], self.lane_s[g]])
        return m

