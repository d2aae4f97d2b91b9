"""The network top level with the exact ports of ``docs/rtl-contract.md``: the stages of the
plan (one component per built stage, from the kind registry) joined by valid/ready streams,
the top-level input and output streams on flat ports, and the shared weight ports."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .column import LearnCtx
from .kinds import hdl_kind
from .mux import mux_tree
from .plan import Plan
from .sched import delay, wload_split


class Top(wiring.Component):
    """Ports (``sync`` domain adds ``clk`` and ``rst``): ``in_valid``, ``in_ready``,
    ``in_time``, ``in_spike``, [``prox_time``, ``prox_spike``], ``out_valid``,
    ``out_ready``, ``out_time``, ``out_spike``, [``wload_en``, ``wload_addr``,
    ``wload_data``]; ``learn`` mode adds ``learn_en``, [``label``, ``label_valid``],
    ``wread_en``, ``wread_addr``, ``wread_data`` and ``wread_valid``.

    ``info`` is the ``"top"`` entry of ``names.json``; ``plan`` the static plan. After
    elaboration ``stages`` holds the stage components (stream order) and, in ``learn``
    mode, ``ctx`` (:class:`~neutnngen.hdl.column.LearnCtx`) the weight registers and the
    generators (the Amaranth simulator reads them)."""

    # A Top is often built only for its ``info``; do not warn when it is never elaborated.
    _MustUse__silence = True

    def __init__(self, plan: Plan):
        self.plan = plan
        net = plan.net
        members = {
            "in_valid": In(1),
            "in_ready": Out(1),
            "in_time": In(net.inputs * plan.TB_IN),
            "in_spike": In(net.inputs),
        }
        if plan.N_PROX:
            members["prox_time"] = In(plan.N_PROX * plan.TB_IN)
            members["prox_spike"] = In(plan.N_PROX)
        members.update({
            "out_valid": Out(1),
            "out_ready": In(1),
            "out_time": Out(net.outputs * plan.TB_OUT),
            "out_spike": Out(net.outputs),
        })
        if plan.weights in ("register", "learn"):
            members.update({
                "wload_en": In(1),
                "wload_addr": In(plan.A),
                "wload_data": In(plan.WB),
            })
        if plan.learn is not None:
            members["learn_en"] = In(1)
            if plan.learn.LBW:
                members["label"] = In(plan.learn.LBW)
                members["label_valid"] = In(1)
            if plan.learn.MSB:
                members["mu_shift"] = In(plan.learn.MSB)
            members["wread_en"] = In(1)
            members["wread_addr"] = In(plan.A)
            members["wread_data"] = Out(plan.WB)
            members["wread_valid"] = Out(1)
        super().__init__(members)
        self.info = plan.info()
        self.ctx: LearnCtx | None = None
        self.stages: list = []

    def elaborate(self, platform):
        p = self.plan
        m = Module()
        lp = p.learn
        ctx = None
        if lp is not None:
            ctx = self.ctx = LearnCtx()
            for seg in p.segments:
                ctx.wq[seg.seg_id] = Signal(seg.wbits, name=f"wq{seg.seg_id}")

        stages = self.stages = []
        for st in p.built:
            comp = hdl_kind(st.kind).build(p, st, ctx)
            m.submodules[st.rtl] = comp
            stages.append(comp)

        # The input stream: flat ports -> the first stage.
        first = stages[0]
        ip = first.i.payload
        m.d.comb += [first.i.valid.eq(self.in_valid), self.in_ready.eq(first.i.ready),
                     ip.time.eq(self.in_time), ip.spike.eq(self.in_spike)]
        if p.N_PROX:
            m.d.comb += [ip.prox_time.eq(self.prox_time), ip.prox_spike.eq(self.prox_spike)]
        if lp is not None:
            m.d.comb += ip.learn_en.eq(self.learn_en)
            if lp.LBW:
                m.d.comb += [ip.label.eq(self.label), ip.label_valid.eq(self.label_valid)]
            if lp.MSB:
                m.d.comb += ip.mu_shift.eq(self.mu_shift)
        for a, b in zip(stages, stages[1:], strict=False):
            wiring.connect(m, a.o, b.i)
        last = stages[-1]
        m.d.comb += [self.out_valid.eq(last.o.valid), last.o.ready.eq(self.out_ready),
                     self.out_time.eq(last.o.payload.time),
                     self.out_spike.eq(last.o.payload.spike)]

        loaders = [c for c in stages if "wload" in c.signature.members]
        learners = [c for c in stages if "lw_busy" in c.signature.members]
        if p.weights in ("register", "learn"):
            # Predecode the line field of the address into two one-hot halves; reset sets
            # every write enable (the weight registers reset through their write path).
            rst = ResetSignal("sync")
            lo_bits, hi_bits = wload_split(p)
            la = self.wload_addr[:lo_bits]
            ha = self.wload_addr[lo_bits:p.LBA]
            wl_en = Signal(name="wload_en_r")
            wl_lo = Signal(1 << lo_bits, name="wload_lo")
            wl_hi = Signal(1 << hi_bits, name="wload_hi")
            en = self.wload_en
            if lp is not None:  # wload writes in a learning stage's write cycles are dropped
                lwa = Signal(name="lw_any")
                m.d.comb += lwa.eq(Cat(*[c.lw_busy for c in learners]).any())
                en = en & ~lwa
            m.d.comb += wl_en.eq(en | rst)
            for i in range(1 << lo_bits):
                m.d.comb += wl_lo[i].eq((la == i) | rst)
            for i in range(1 << hi_bits):
                m.d.comb += wl_hi[i].eq(((ha == i) if hi_bits else 1) | rst)
            for c in loaders:
                m.d.comb += [
                    c.wload.en.eq(wl_en),
                    c.wload.seg.eq(self.wload_addr[p.LBA:]),
                    c.wload.lo.eq(wl_lo),
                    c.wload.hi.eq(wl_hi),
                    c.wload.data.eq(self.wload_data),
                ]
                if p.weight_store == "memory":
                    m.d.comb += c.wload.line.eq(self.wload_addr[:p.LBA])

        if lp is not None:
            # Weight read-out: the line field selects through every segment's weight
            # multiplexer (in stages that are idle), then a pipelined segment multiplexer.
            for c in learners:
                m.d.comb += [c.rd_req.eq(self.wread_en), c.rd_line.eq(self.wread_addr[:p.LBA])]
            served = Signal(name="wread_served")
            m.d.comb += served.eq(Cat(*[c.rd_sel for c in learners]).all())
            segf = self.wread_addr[p.LBA:]
            sd = delay(m, segf, p.Lm + 1, "wread_seg", reset_less=True)
            sels = [sd]
            for k in range(1, lp.RS):
                sels.append(delay(m, sd, k, f"wread_seg{k}", reset_less=True))
            out = mux_tree(m, dict(ctx.wq.items()), p.WB, sels, p.R, lp.RS, "wread")
            m.d.comb += self.wread_data.eq(out)
            m.d.comb += self.wread_valid.eq(delay(m, served, lp.RL - 1, "wread_ok"))
        return m
