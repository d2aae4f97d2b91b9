"""HDL and verification levels of the toy ``delay`` stage kind.

Lowered as a *registered* stream stage (not a fused transform): one output register, so it
adds one cycle of latency and keeps an initiation interval of one beat per cycle. It shows a
stage with its own schedule composing with the layers through the valid/ready streams
(``docs/rtl-contract.md``): ``i.ready = ~o.valid | o.ready``; the register loads on
``i.valid & i.ready``; sidebands (proximal lines, learning bits) pass through unchanged.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from neutnngen.hdl.kinds import HdlKind
from neutnngen.verify.stages import VerifyAdapter

from .ir import Delay


def plan(stage: Delay, ctx) -> Delay:
    return stage


def timing(plan, spec: Delay) -> tuple[int, int]:
    return 1, 1  # one beat per cycle, one cycle through the register


class DelayStage(wiring.Component):
    def __init__(self, plan, stage):
        self.node: Delay = stage.spec
        self.b_in, self.b_out = stage.beat_in, stage.beat_out  # times may narrow here
        super().__init__({"i": In(self.b_in.signature()), "o": Out(self.b_out.signature())})

    def elaborate(self, platform):
        m = Module()
        b, bo, node = self.b_in, self.b_out, self.node
        take = Signal()
        m.d.comb += [self.i.ready.eq(~self.o.valid | self.o.ready),
                     take.eq(self.i.valid & self.i.ready)]
        t_in = self.i.payload.time
        conv = Signal(b.lines * bo.tb)
        for j in range(b.lines):
            t = t_in[j * b.tb:(j + 1) * b.tb]
            s = t + int(node.d[j])
            m.d.comb += conv[j * bo.tb:(j + 1) * bo.tb].eq(Mux(s > node.t_max, node.t_max, s))
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(take):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.time.eq(conv)]
            for f in bo.fields():  # spike bits and sidebands pass through
                if f != "time":
                    m.d.sync += getattr(self.o.payload, f).eq(getattr(self.i.payload, f))
        return m


def build(plan, stage, ctx=None) -> DelayStage:
    return DelayStage(plan, stage)


HDL_KIND = HdlKind("delay", plan=plan, timing=timing, build=build)


def _no_state(entry, it) -> int:  # pragma: no cover - a delay has no entries
    raise AssertionError("a delay stage has no observable state")


VERIFY_KIND = VerifyAdapter("delay", entries=lambda names, stage, tap: [], value=_no_state)
