"""Stage kind ``retime``: the explicit, saturating time conversion
``x' = min(x >> shift, t_max)`` (NONE stays NONE), a combinational volley transform.

Between two layers the top fuses it into the producing layer's output conversion (the output
register then holds ``TB_IN``-bit times); before the first layer it is a combinational stream
stage (:class:`RetimeStage`, ``i.ready = o.ready``, no register) on the consumer's input.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...ir.nodes import Retime
from ..kinds import HdlKind


def plan(stage: Retime, ctx) -> Retime:
    return stage


def timing(plan, spec: Retime) -> tuple[int, int]:
    return 0, 0


def retime_value(v: Value, rt: Retime) -> Value:
    """``min(v >> shift, t_max)`` on an unsigned time."""
    if rt.shift >= len(v):
        return Const(0, 1)
    sh = v[rt.shift:]
    return Mux(sh > rt.t_max, rt.t_max, sh)


def transform(m: Module, v: Value, rt: Retime) -> Value:
    return retime_value(v, rt)


class RetimeStage(wiring.Component):
    """A :class:`~neutnngen.ir.nodes.Retime` as a combinational stream stage: every line's
    time converted, spike bits and sidebands passed through."""

    def __init__(self, plan, stage):
        self.rt = stage.spec
        self.beat = stage.beat_in
        assert stage.beat_out == stage.beat_in
        super().__init__({"i": In(self.beat.signature()), "o": Out(self.beat.signature())})

    def elaborate(self, platform):
        m = Module()
        b = self.beat
        m.d.comb += [self.o.payload.eq(self.i.payload), self.o.valid.eq(self.i.valid),
                     self.i.ready.eq(self.o.ready)]
        t_in, t_out = self.i.payload.time, self.o.payload.time
        for k in range(b.lines):
            m.d.comb += t_out[k * b.tb:(k + 1) * b.tb].eq(
                retime_value(t_in[k * b.tb:(k + 1) * b.tb], self.rt))
        return m


def build(plan, stage, ctx=None) -> RetimeStage:
    return RetimeStage(plan, stage)


KIND = HdlKind("retime", plan=plan, timing=timing, build=build, transform=transform)
