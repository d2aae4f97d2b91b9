"""Stage kind ``lut`` (docs/model.md §12): a spiking look-up table as a combinational
stream stage.

Per table, one comparator per line pair gives a code bit (``a`` earlier than ``b``:
``spike_a & (~spike_b | t_a < t_b)``); the code addresses the table's ROM (hardwired
constants: the votes of every output line packed in one word per code; ``register`` and
``learn`` weight modes keep it hardwired, it has no load port). The votes are added per
output line, the largest total found, and each line's time is
``min((top - S) >> shift, t_max)``, NONE (spike bit clear) where ``S < theta``.

Stream behaviour as in ``docs/rtl-contract.md``, like a ``retime`` before the first layer:
a combinational stream stage (``o.valid = i.valid``, ``i.ready = o.ready``, no register),
so the wave is held by its producer until the next stage takes it and the design's latency
from the offer stays the sum of the stages' latencies. Sidebands (proximal lines and
learning bits of later layers) pass through. Initiation interval 1 beat per cycle, latency
0 cycles (the path ends in the next stage's input register).
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...ir.stages.lut import Lut, code_bits, pairs
from ..kinds import HdlKind


def plan(stage: Lut, ctx) -> Lut:
    return stage


def timing(plan, spec: Lut) -> tuple[int, int]:
    return 1, 0


def _bits(n: int) -> int:
    return max(1, int(n).bit_length())


class LutStage(wiring.Component):
    def __init__(self, plan, stage):
        self.node: Lut = stage.spec
        self.b_in, self.b_out = stage.beat_in, stage.beat_out
        assert self.b_out.lines == self.node.outputs
        super().__init__({"i": In(self.b_in.signature()), "o": Out(self.b_out.signature())})

    @staticmethod
    def _adder_tree(m: Module, terms: list, hi: int, name: str):
        """A balanced tree of adders over ``terms`` (each ``0 .. hi``); every partial sum is
        cut to the bits its largest value needs (a chain of ``+`` would widen by a bit per
        term)."""
        level = [(t, hi) for t in terms]
        n = 0
        while len(level) > 1:
            nxt = []
            for j in range(0, len(level) - 1, 2):
                (a, ha), (b, hb) = level[j], level[j + 1]
                s = Signal(_bits(ha + hb), name=f"{name}_p{n}")
                n += 1
                m.d.comb += s.eq(a + b)
                nxt.append((s, ha + hb))
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        out = Signal(_bits(level[0][1]), name=name)
        m.d.comb += out.eq(level[0][0])
        return out

    def elaborate(self, platform):
        m = Module()
        b, bo, node = self.b_in, self.b_out, self.node
        Q, vb = node.outputs, node.vbits
        m.d.comb += [self.o.valid.eq(self.i.valid), self.i.ready.eq(self.o.ready)]
        t_in, s_in = self.i.payload.time, self.i.payload.spike

        def t(j):
            return t_in[j * b.tb:(j + 1) * b.tb]

        sw = _bits(node.tables * node.v_max)
        votes = [[] for _ in range(Q)]
        for i in range(node.tables):
            ls = [int(v) for v in node.lines[i]]
            code = Signal(code_bits(len(ls)), name=f"code{i}")
            for p, (a, bb) in enumerate(pairs(len(ls))):
                la, lb = ls[a], ls[bb]
                m.d.comb += code[p].eq(s_in[la] & (~s_in[lb] | (t(la) < t(lb))))
            entry = Signal(Q * vb, name=f"entry{i}")
            with m.Switch(code):  # the ROM: one case per code, the votes packed
                for c in range(node.table.shape[1]):
                    w = 0
                    for o in range(Q):
                        w |= int(node.table[i, c, o]) << (o * vb)
                    with m.Case(c):
                        m.d.comb += entry.eq(w)
            for o in range(Q):
                votes[o].append(entry[o * vb:(o + 1) * vb])
        S = [self._adder_tree(m, votes[o], node.v_max, f"votes{o}") for o in range(Q)]
        top = S[0]
        for o in range(1, Q):
            nt = Signal(sw, name=f"top{o}")
            m.d.comb += nt.eq(Mux(S[o] > top, S[o], top))
            top = nt
        times = Signal(Q * bo.tb)
        spikes = Signal(Q)
        for o in range(Q):
            d = Signal(sw, name=f"margin{o}")
            m.d.comb += d.eq(top - S[o])
            sh = d[node.shift:] if node.shift < sw else Const(0, 1)
            m.d.comb += [times[o * bo.tb:(o + 1) * bo.tb].eq(
                             Mux(sh > node.t_max, node.t_max, sh)),
                         spikes[o].eq(S[o] >= node.theta)]
        m.d.comb += [self.o.payload.time.eq(times), self.o.payload.spike.eq(spikes)]
        for f in bo.fields():  # sidebands of later layers pass through
            if f not in ("time", "spike"):
                m.d.comb += getattr(self.o.payload, f).eq(getattr(self.i.payload, f))
        return m


def build(plan, stage, ctx=None) -> LutStage:
    return LutStage(plan, stage)


KIND = HdlKind("lut", plan=plan, timing=timing, build=build)
