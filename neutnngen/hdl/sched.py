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

In ``learn`` weight mode (:class:`~neutnngen.hdl.plan.LearnPlan`) the slot continues after
the decision with the learn pass, ``slot_end`` moves to its last cycle, and the bus adds:

* ``rstep``: the random phase is on (every generator of a learning layer steps its LFSR);
  ``rdraw``: the draw in progress;
* ``rdone``, ``rdk``: draw ``rdk`` completed in the previous cycle (the LFSR state holds
  it in this cycle: latch its Bernoulli bits);
* ``lw_v``, ``lw_lo``, ``lw_hi``: learn-pass write (of a wave that some layer learns,
  ``lrn_any``) of the line whose number is predecoded into the two one-hot halves (the
  same split as the ``wload`` bus).

The line select ``sel0`` is a register: the step counter's next value, or ``rd_line`` (the
read-out address, one cycle late) when ``rd_next`` says that the next cycle has no wave in
flight and does not start a slot, so that the weight multiplexers of every segment serve
the ``wread`` port between waves.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

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
    lp = plan.learn
    if lp is not None:
        lo, hi = wload_split(plan)
        members.update({
            "rstep": Out(1),
            "rdraw": Out(range(max(2, lp.D))),
            "rdone": Out(1),
            "rdk": Out(range(max(2, lp.D))),
            "lw_v": Out(1),
            "lw_lo": Out(1 << lo),
            "lw_hi": Out(1 << hi),
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
        members = {
            "sched": Out(sched_signature(plan)),
            "in_ready": Out(1),
        }
        if plan.learn is not None:
            members["rd_next"] = In(1)
            members["rd_line"] = In(plan.LBA)
            members["lrn_any"] = In(1)
        super().__init__(members)

    def elaborate(self, platform):
        p = self.plan
        if p.learn is not None:
            return self._elaborate_learn()
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

    def _elaborate_learn(self) -> Module:
        """Learn-mode sequencer: passes, decision, [wait], learn pass; random phase."""
        p = self.plan
        lp = p.learn
        assert lp is not None
        m = Module()
        PASS, DECIDE, WAIT, LEARN = 0, 1, 2, 3
        jcnt = Signal(p.SW, name="jcnt")
        bcnt = Signal(range(p.B), init=p.B - 1, name="bcnt")
        phase = Signal(2, name="phase")
        after_decide = WAIT if lp.W else LEARN

        # Next-state logic written into *_n signals so that the line select can be a
        # register loaded with the step counter's next value (no logic before the muxes).
        jn = Signal(p.SW, name="jcnt_n")
        bn = Signal(range(p.B), name="bcnt_n")
        phn = Signal(2, name="phase_n")
        m.d.comb += [jn.eq(jcnt + 1), bn.eq(bcnt), phn.eq(phase)]
        with m.Switch(phase):
            with m.Case(PASS):
                with m.If(jcnt == p.PL - 1):
                    m.d.comb += jn.eq(0)
                    with m.If(bcnt == 0):
                        m.d.comb += phn.eq(DECIDE)
                    with m.Else():
                        m.d.comb += bn.eq(bcnt - 1)
            with m.Case(DECIDE):
                with m.If(jcnt == p.E - 1):
                    m.d.comb += [jn.eq(0), phn.eq(after_decide)]
            if lp.W:
                wcnt = Signal(range(lp.W), name="wcnt")
                with m.Case(WAIT):
                    m.d.comb += jn.eq(0)
                    with m.If(wcnt == lp.W - 1):
                        m.d.sync += wcnt.eq(0)
                        m.d.comb += phn.eq(LEARN)
                    with m.Else():
                        m.d.sync += wcnt.eq(wcnt + 1)
            with m.Case(LEARN):
                with m.If(jcnt == lp.LL - 1):
                    m.d.comb += [jn.eq(0), phn.eq(PASS), bn.eq(p.B - 1)]
        m.d.sync += [jcnt.eq(jn), bcnt.eq(bn), phase.eq(phn)]

        s = self.sched
        inpass = Signal(name="inpass")
        learning = Signal(name="learn_pass")
        m.d.comb += [inpass.eq(phase == PASS), learning.eq(phase == LEARN)]
        # Line selection: the step counter, or the read-out line in cycles that serve reads
        # (``rd_next``: the next cycle has no wave in flight and is not a slot start).
        selr = Signal(p.SW, name="selr")
        m.d.sync += selr.eq(Mux(self.rd_next, self.rd_line, jn))
        prev = selr
        m.d.comb += s.sel0.eq(selr)
        for k in range(1, p.Lm):
            r = Signal(p.SW, name=f"sel{k}_r", reset_less=True)
            m.d.sync += r.eq(prev)
            m.d.comb += getattr(s, f"sel{k}").eq(r)
            prev = r

        bd = delay(m, bcnt, p.Lm - 1, "bcnt", reset_less=True)
        for b in range(p.B):
            m.d.sync += [s.resp_oh[b].eq(bd == b), s.resp_hi[b].eq(bd < b)]

        tok_first = Signal(name="tok_first")
        tok_last = Signal(p.B, name="tok_last")
        m.d.comb += tok_first.eq(inpass & (jcnt == 0))
        for b in range(p.B):
            m.d.comb += tok_last[b].eq(inpass & (jcnt == p.JS - 1) & (bcnt == b))
        m.d.comb += s.acc_first.eq(delay(m, tok_first, p.Lm + p.RD, "first"))
        m.d.comb += s.sar_we.eq(delay(m, tok_last, p.Lm + p.RD + 1, "last"))
        m.d.comb += s.slot_end.eq(learning & (jcnt == lp.LL - 1))
        m.d.comb += self.in_ready.eq(inpass & (bcnt == p.B - 1) & (jcnt == 0))

        # Learn-pass writes: line j selected at learn cycle j is written Lm + 1 cycles later.
        ltok = Signal(name="ltok")
        m.d.comb += ltok.eq(learning & (jcnt < p.JS))
        jd = delay(m, jcnt, p.Lm, "lwj", reset_less=True)
        vd = delay(m, ltok, p.Lm, "lwv")
        lo, hi = wload_split(p)
        m.d.sync += s.lw_v.eq(vd & self.lrn_any)
        for i in range(1 << lo):
            m.d.sync += s.lw_lo[i].eq(jd[:lo] == i)
        for i in range(1 << hi):
            m.d.sync += s.lw_hi[i].eq((jd[lo:p.LBA] == i) if hi else 1)

        # Random phase: D draws of CPD cycles from cycle 1 of every slot.
        ract = Signal(name="ract")
        rcnt = Signal(range(max(2, lp.CPD)), name="rcnt")
        rdraw = Signal(range(max(2, lp.D)), name="rdraw")
        with m.If(self.in_ready):
            m.d.sync += [ract.eq(1), rcnt.eq(0), rdraw.eq(0)]
        with m.Elif(ract):
            with m.If(rcnt == lp.CPD - 1):
                m.d.sync += rcnt.eq(0)
                with m.If(rdraw == lp.D - 1):
                    m.d.sync += ract.eq(0)
                with m.Else():
                    m.d.sync += rdraw.eq(rdraw + 1)
            with m.Else():
                m.d.sync += rcnt.eq(rcnt + 1)
        m.d.comb += [s.rstep.eq(ract), s.rdraw.eq(rdraw)]
        m.d.sync += [s.rdone.eq(ract & (rcnt == lp.CPD - 1)), s.rdk.eq(rdraw)]
        return m
