"""The per-stage wave sequencer and the schedule bus it drives into its layer.

Every layer stage has its own sequencer. It idles in its *start position* (first step of
the first pass) until the stage's input stream is valid, then runs one wave: ``B`` passes of
``PL = JS + RD + 1`` cycles, then ``E`` decision cycles (cycle 0 is the cycle in which it
left the start position, ``start``). In its last cycle (``last``) it finishes the wave when
the stage's output register is free (``free``: empty or being read), which is ``done``
(the stage latches its output and releases its input), and returns to the start position;
otherwise it waits in the last cycle (nothing is in flight in its pipelines then). The
counters advance on ``Mux(at_start, valid, ~last | free)``, so back-to-back waves follow each
other without a bubble.

In pass ``b`` (counting down from ``B - 1``) the step counter ``jcnt`` selects lines
``jcnt * G .. jcnt * G + G - 1`` of every column (one per lane); the element reaches the
segments' response stage ``Lm`` cycles later (the line multiplexer's latency), their
accumulators one cycle after that. The bus carries, already aligned with those stages:

* ``sel0 .. sel{Lm-1}``: the line counter and its delayed copies (multiplexer stages);
* ``resp_oh``, ``resp_hi``: one-hot of the pass ``b`` at the response stage and the mask of
  the time bits above ``b`` (the probe is ``p + 1 = (z & resp_hi) | resp_oh``);
* ``acc_first``: the accumulator takes element 0 of a pass (restart at ``-theta``);
* ``sar_we``: one-hot, pass ``b`` is complete: time bit ``b`` := "V(p) < theta".

In ``learn`` weight mode (:class:`~neutnngen.hdl.plan.LearnPlan`) the wave continues after
the decision with the learn pass (``last`` is its last cycle), and the bus adds:

* ``rstep``: the random phase is on (the layer's generators step their LFSRs if the wave
  learns); ``rdraw``: the draw in progress;
* ``rdone``, ``rdk``: draw ``rdk`` completed in the previous cycle (the LFSR state holds
  it in this cycle: latch its Bernoulli bits);
* ``lw_v``, ``lw_lo``, ``lw_hi``: learn-pass write (of a wave this layer learns, ``lrn``)
  of the line whose number is predecoded into the two one-hot halves (the same split as the
  ``wload`` bus).

The line select ``sel0`` is then a register: the step counter's next value, or ``rd_line``
(a ``wread`` read) when ``rd_req`` is set and the sequencer is idle in the next cycle; the
register remembers that (``rd_sel``) and a wave does not start in a cycle whose line select
serves a read.
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
        if plan.weight_store == "memory":  # the write line in binary (memory address)
            members["lw_line"] = Out(plan.LBA)
        if lp.NORM:  # M8: the writes of the norm pass (a second learn pass)
            members["lw_norm"] = Out(1)
    return wiring.Signature(members)


def wload_split(plan: Plan) -> tuple[int, int]:
    """Bits of the low and high halves of the line field of a weight address."""
    lo = (plan.LBA + 1) // 2
    return lo, plan.LBA - lo


def wload_signature(plan: Plan) -> wiring.Signature:
    """Register-mode weight writes, decoded once at the top: the segment field of the
    address, the line field predecoded into two one-hot halves (``lo``, ``hi``) and the
    data. Reset is folded in (``en``, ``lo`` and ``hi`` are all set during reset) so that
    the reset to the trained weights shares the write path. With the memory weight store
    the bus also carries the line field in binary (``line``, the memory address)."""
    lo, hi = wload_split(plan)
    members = {
        "en": Out(1),
        "seg": Out(plan.SBA),
        "lo": Out(1 << lo),
        "hi": Out(1 << hi),
        "data": Out(plan.WB),
    }
    if plan.weight_store == "memory":
        members["line"] = Out(plan.LBA)
    return wiring.Signature(members)


def delay(m: Module, v: Value, n: int, name: str, reset_less: bool = False) -> Value:
    """``v`` delayed by ``n`` clock cycles (a chain of registers)."""
    cur = v
    for i in range(n):
        r = Signal(len(v), name=f"{name}_d{i + 1}", reset_less=reset_less)
        m.d.sync += r.eq(cur)
        cur = r
    return cur


class Sequencer(wiring.Component):
    """Ports: ``sched`` (the bus), ``valid`` (the input stream holds a wave), ``free`` (the
    output register can take a result in this cycle), ``start`` (cycle 0 of a wave),
    ``last`` (the wave's last cycle), ``done`` (``last & free``); ``learn`` mode adds
    ``lrn`` (the wave learns in this layer), ``rd_req``, ``rd_line`` and ``rd_sel``."""

    def __init__(self, plan: Plan):
        self.plan = plan
        members = {
            "sched": Out(sched_signature(plan)),
            "valid": In(1),
            "free": In(1),
            "start": Out(1),
            "last": Out(1),
            "done": Out(1),
        }
        if plan.learn is not None:
            members.update({"lrn": In(1), "rd_req": In(1), "rd_line": In(plan.LBA),
                            "rd_sel": Out(1)})
        super().__init__(members)

    def _handshake(self, m: Module, at0: Value, last: Value, ok: Value = 1) -> Value:
        """``start``/``last``/``done`` and the advance condition of the counters."""
        adv = Signal(name="adv")
        m.d.comb += [self.start.eq(at0 & self.valid & ok), self.last.eq(last),
                     self.done.eq(last & self.free),
                     adv.eq(Mux(at0, self.valid & ok, ~last | self.free))]
        return adv

    def _pipeline(self, m: Module, first: Value, lasts: Value, bcnt: Value) -> None:
        """Pass number at the response stage and the accumulator / SAR strobes."""
        p, s = self.plan, self.sched
        bd = delay(m, bcnt, p.Lm - 1, "bcnt", reset_less=True)
        for b in range(p.B):
            m.d.sync += [s.resp_oh[b].eq(bd == b), s.resp_hi[b].eq(bd < b)]
        m.d.comb += s.acc_first.eq(delay(m, first, p.Lm + p.RD, "first"))
        m.d.comb += s.sar_we.eq(delay(m, lasts, p.Lm + p.RD + 1, "last"))

    def _sel_copies(self, m: Module, sel0: Value) -> None:
        p, s = self.plan, self.sched
        prev = sel0
        m.d.comb += s.sel0.eq(sel0)
        for k in range(1, p.Lm):
            r = Signal(p.SW, name=f"sel{k}_r", reset_less=True)
            m.d.sync += r.eq(prev)
            m.d.comb += getattr(s, f"sel{k}").eq(r)
            prev = r

    def elaborate(self, platform):
        p = self.plan
        if p.learn is not None:
            return self._elaborate_learn()
        m = Module()
        jcnt = Signal(p.SW, name="jcnt")
        bcnt = Signal(range(p.B), init=p.B - 1, name="bcnt")
        decide = Signal(name="decide")
        at0 = Signal(name="at_start")
        m.d.comb += at0.eq(~decide & (bcnt == p.B - 1) & (jcnt == 0))
        adv = self._handshake(m, at0, decide & (jcnt == p.E - 1))

        with m.If(adv):
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

        self._sel_copies(m, jcnt)
        tok_first = Signal(name="tok_first")
        tok_last = Signal(p.B, name="tok_last")
        m.d.comb += tok_first.eq(adv & ~decide & (jcnt == 0))
        for b in range(p.B):
            m.d.comb += tok_last[b].eq(adv & ~decide & (jcnt == p.JS - 1) & (bcnt == b))
        self._pipeline(m, tok_first, tok_last, bcnt)
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
        at0 = Signal(name="at_start")
        m.d.comb += at0.eq((phase == PASS) & (bcnt == p.B - 1) & (jcnt == 0))
        rd_sel = Signal(name="rd_sel_r")
        # M8: the learn phase runs twice (the second time the norm pass, ``npass``)
        npass = Signal(name="npass")  # elaborated only with a norm pass
        end = (phase == LEARN) & (jcnt == lp.LL - 1)
        adv = self._handshake(m, at0, end & npass if lp.NORM else end, ~rd_sel)

        # Next-state logic written into *_n signals so that the line select can be a
        # register loaded with the step counter's next value (no logic before the muxes).
        jn = Signal(p.SW, name="jcnt_n")
        bn = Signal(range(p.B), name="bcnt_n")
        phn = Signal(2, name="phase_n")
        m.d.comb += [jn.eq(jcnt), bn.eq(bcnt), phn.eq(phase)]
        with m.If(adv):
            m.d.comb += jn.eq(jcnt + 1)
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
                        if lp.NORM:
                            m.d.comb += jn.eq(0)
                            m.d.sync += npass.eq(~npass)
                            with m.If(npass):
                                m.d.comb += [phn.eq(PASS), bn.eq(p.B - 1)]
                        else:
                            m.d.comb += [jn.eq(0), phn.eq(PASS), bn.eq(p.B - 1)]
        m.d.sync += [jcnt.eq(jn), bcnt.eq(bn), phase.eq(phn)]

        s = self.sched
        inpass = Signal(name="inpass")
        learning = Signal(name="learn_pass")
        m.d.comb += [inpass.eq(phase == PASS), learning.eq(phase == LEARN)]
        # Line selection: the step counter, or the read-out line when a read is requested
        # and the next cycle is idle (at the start position, or back to it after this wave).
        rd_next = Signal(name="rd_next")
        m.d.comb += rd_next.eq(self.rd_req & ((at0 & ~self.start) | self.done))
        selr = Signal(p.SW, name="selr")
        m.d.sync += [selr.eq(Mux(rd_next, self.rd_line, jn)), rd_sel.eq(rd_next)]
        m.d.comb += self.rd_sel.eq(rd_sel)
        self._sel_copies(m, selr)

        tok_first = Signal(name="tok_first")
        tok_last = Signal(p.B, name="tok_last")
        m.d.comb += tok_first.eq(adv & inpass & (jcnt == 0))
        for b in range(p.B):
            m.d.comb += tok_last[b].eq(adv & inpass & (jcnt == p.JS - 1) & (bcnt == b))
        self._pipeline(m, tok_first, tok_last, bcnt)

        # Learn-pass writes: line j selected at learn cycle j is written Lm + 1 cycles later.
        ltok = Signal(name="ltok")
        m.d.comb += ltok.eq(learning & (jcnt < p.JS))
        jd = delay(m, jcnt, p.Lm, "lwj", reset_less=True)
        vd = delay(m, ltok, p.Lm, "lwv")
        lo, hi = wload_split(p)
        m.d.sync += s.lw_v.eq(vd & self.lrn)
        for i in range(1 << lo):
            m.d.sync += s.lw_lo[i].eq(jd[:lo] == i)
        for i in range(1 << hi):
            m.d.sync += s.lw_hi[i].eq((jd[lo:p.LBA] == i) if hi else 1)
        if p.weight_store == "memory":
            m.d.sync += s.lw_line.eq(jd[:p.LBA])
        if lp.NORM:
            vn = delay(m, ltok & npass, p.Lm, "lwn")
            m.d.sync += s.lw_norm.eq(vn & self.lrn)

        # Random phase: D draws of CPD cycles from cycle 1 of every wave.
        ract = Signal(name="ract")
        rcnt = Signal(range(max(2, lp.CPD)), name="rcnt")
        rdraw = Signal(range(max(2, lp.D)), name="rdraw")
        with m.If(self.start):
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
