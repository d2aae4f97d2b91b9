"""The free-running wave sequencer and the schedule bus it drives into every layer.

One wave slot = ``B`` passes of ``PL = JS + RD + 1`` cycles, then ``E`` decision cycles. In pass
``b`` (counting down from ``B - 1``) the step counter ``jcnt`` selects lines
``jcnt * G .. jcnt * G + G - 1`` of every column (one per lane); the element reaches the segments' response stage ``Lm`` cycles later (the line
multiplexer's latency), their accumulators one cycle after that. The bus carries, already
aligned with those stages:

* ``sel0 .. sel{Lm-1}``: the line counter and its delayed copies (multiplexer stages);
* ``resp_oh``, ``resp_hi``: one-hot of the pass ``b`` at the response stage and the mask of
  the time bits above ``b`` (the probe is ``p + 1 = (z & resp_hi) | resp_oh``);
* ``acc_first``: the accumulator takes element 0 of a pass (restart at ``-theta``);
* ``sar_we``: one-hot, pass ``b`` is complete: time bit ``b`` := "V(p) < theta";
* ``slot_end``: last cycle of the slot; layers latch their output volley.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from .plan import Plan


def sched_signature(plan: Plan) -> wiring.Signature:
    members: dict = {f"sel{k}": Out(plan.SW) for k in range(plan.Lm)}
    members.update({
        "resp_oh": Out(plan.B),
        "resp_hi": Out(plan.B),
        "acc_first": Out(1),
        "sar_we": Out(plan.B),
        "slot_end": Out(1),
    })
    return wiring.Signature(members)


def wload_split(plan: Plan) -> tuple[int, int]:
    """Bits of the low and high halves of the line field of a weight address."""
    lo = (plan.LBA + 1) // 2
    return lo, plan.LBA - lo


def wload_signature(plan: Plan) -> wiring.Signature:
    """Register-mode weight writes, decoded once at the top: the segment field of the
    address, the line field predecoded into two one-hot halves (``lo``, ``hi``) and the
    data. Reset is folded in (``en``, ``lo`` and ``hi`` are all set during reset) so that
    the reset to the trained weights shares the write path."""
    lo, hi = wload_split(plan)
    return wiring.Signature({
        "en": Out(1),
        "seg": Out(plan.SBA),
        "lo": Out(1 << lo),
        "hi": Out(1 << hi),
        "data": Out(plan.WB),
    })


def delay(m: Module, v: Value, n: int, name: str, reset_less: bool = False) -> Value:
    """``v`` delayed by ``n`` clock cycles (a chain of registers)."""
    cur = v
    for i in range(n):
        r = Signal(len(v), name=f"{name}_d{i + 1}", reset_less=reset_less)
        m.d.sync += r.eq(cur)
        cur = r
    return cur


class Sequencer(wiring.Component):
    def __init__(self, plan: Plan):
        self.plan = plan
        super().__init__({
            "sched": Out(sched_signature(plan)),
            "in_ready": Out(1),
        })

    def elaborate(self, platform):
        p = self.plan
        m = Module()
        jcnt = Signal(p.SW, name="jcnt")
        bcnt = Signal(range(p.B), init=p.B - 1, name="bcnt")
        decide = Signal(name="decide")

        with m.If(decide):
            with m.If(jcnt == p.E - 1):
                m.d.sync += [jcnt.eq(0), decide.eq(0), bcnt.eq(p.B - 1)]
            with m.Else():
                m.d.sync += jcnt.eq(jcnt + 1)
        with m.Else():
            with m.If(jcnt == p.PL - 1):
                m.d.sync += jcnt.eq(0)
                with m.If(bcnt == 0):
                    m.d.sync += decide.eq(1)
                with m.Else():
                    m.d.sync += bcnt.eq(bcnt - 1)
            with m.Else():
                m.d.sync += jcnt.eq(jcnt + 1)

        s = self.sched
        # Line counter copies for the multiplexer stages.
        prev = jcnt
        m.d.comb += s.sel0.eq(jcnt)
        for k in range(1, p.Lm):
            r = Signal(p.SW, name=f"sel{k}_r", reset_less=True)
            m.d.sync += r.eq(prev)
            m.d.comb += getattr(s, f"sel{k}").eq(r)
            prev = r

        # Pass number at the response stage (Lm cycles after selection), decoded.
        bd = delay(m, bcnt, p.Lm - 1, "bcnt", reset_less=True)
        for b in range(p.B):
            m.d.sync += [s.resp_oh[b].eq(bd == b), s.resp_hi[b].eq(bd < b)]

        tok_first = Signal(name="tok_first")
        tok_last = Signal(p.B, name="tok_last")
        m.d.comb += tok_first.eq(~decide & (jcnt == 0))
        for b in range(p.B):
            m.d.comb += tok_last[b].eq(~decide & (jcnt == p.JS - 1) & (bcnt == b))
        m.d.comb += s.acc_first.eq(delay(m, tok_first, p.Lm + p.RD, "first"))
        m.d.comb += s.sar_we.eq(delay(m, tok_last, p.Lm + p.RD + 1, "last"))
        m.d.comb += s.slot_end.eq(decide & (jcnt == p.E - 1))
        m.d.comb += self.in_ready.eq(~decide & (bcnt == p.B - 1) & (jcnt == 0))
        return m
