"""The network top level with the exact ports of ``docs/rtl-contract.md``."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .column import LearnCtx
from .layer import Layer
from .mux import mux_tree
from .plan import Plan
from .sched import Sequencer, delay, wload_split


class Top(wiring.Component):
    """Ports (``sync`` domain adds ``clk`` and ``rst``): ``in_valid``, ``in_ready``,
    ``in_time``, ``in_spike``, [``prox_time``, ``prox_spike``], ``out_valid``,
    ``out_time``, ``out_spike``, [``wload_en``, ``wload_addr``, ``wload_data``];
    ``learn`` mode adds ``learn_en``, [``label``, ``label_valid``], ``wread_addr``,
    ``wread_data`` and ``wread_valid``.

    ``info`` is the ``"top"`` entry of ``names.json``; ``plan`` the static plan. After
    elaboration in ``learn`` mode, ``ctx`` (:class:`~neutnngen.hdl.column.LearnCtx`) holds
    the weight registers and the generators (the Amaranth simulator reads them)."""

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
            members["wread_addr"] = In(plan.A)
            members["wread_data"] = Out(plan.WB)
            members["wread_valid"] = Out(1)
        super().__init__(members)
        self.info = plan.info()
        self.ctx: LearnCtx | None = None

    def elaborate(self, platform):
        p = self.plan
        m = Module()
        seq = Sequencer(p)
        m.submodules.seq = seq
        m.d.comb += self.in_ready.eq(seq.in_ready)
        slot_end = seq.sched.slot_end

        lp = p.learn
        ctx = None
        if lp is not None:
            ctx = self.ctx = LearnCtx()
            for seg in p.segments:
                ctx.wq[seg.seg_id] = Signal(seg.wbits, name=f"wq{seg.seg_id}")
            lwa = Signal(name="lw_any")  # a learn-pass write cycle of a learning wave
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
            # learn mode: wload writes in learn-pass write cycles are dropped
            m.d.comb += wl_en.eq(((self.wload_en & ~lwa) if lp is not None else self.wload_en)
                                 | rst)
            for i in range(1 << lo_bits):
                m.d.comb += wl_lo[i].eq((la == i) | rst)
            for i in range(1 << hi_bits):
                m.d.comb += wl_hi[i].eq(((ha == i) if hi_bits else 1) | rst)

        # Valid bit of the wave each layer processes in this slot.
        proc0 = Signal(name="proc_valid0")
        with m.If(seq.in_ready):
            m.d.sync += proc0.eq(self.in_valid)
        proc = proc0

        if lp is not None:
            # Learning flag (and label) of the wave each layer processes in this slot.
            lrn = Signal(name="learn_valid0")
            lab = Signal(max(1, lp.LBW), name="label0")
            lv = Signal(name="label_valid0")
            with m.If(seq.in_ready):
                m.d.sync += lrn.eq(self.in_valid & self.learn_en)
                if lp.LBW:
                    m.d.sync += [lab.eq(self.label), lv.eq(self.label_valid)]
            # valid flags after this clock edge (read-out cycles need all of them clear)
            busy = [Mux(seq.in_ready, self.in_valid, proc0)]
            lrn_eff = []

        x, s = self.in_time, self.in_spike
        for ls in p.layers:
            layer = Layer(p, ls, ctx)
            m.submodules[f"layer{ls.index}"] = layer
            wiring.connect(m, seq.sched, layer.sched)
            if lp is not None:
                m.d.comb += layer.lrn.eq(lrn)
                if ls.index in lp.label_layers:
                    m.d.comb += [layer.label.eq(lab), layer.lv.eq(lv)]
                lrn_eff.append(layer.lrn_eff)
                if not ls.last:
                    nl = Signal(name=f"learn_valid{ls.index + 1}")
                    with m.If(slot_end):
                        m.d.sync += nl.eq(lrn)
                    lrn = nl
                    if lp.LBW and any(k > ls.index for k in lp.label_layers):
                        nlab = Signal(lp.LBW, name=f"label{ls.index + 1}")
                        nlv = Signal(name=f"label_valid{ls.index + 1}")
                        with m.If(slot_end):
                            m.d.sync += [nlab.eq(lab), nlv.eq(lv)]
                        lab, lv = nlab, nlv
            if p.weights in ("register", "learn"):
                m.d.comb += [
                    layer.wload.en.eq(wl_en),
                    layer.wload.seg.eq(self.wload_addr[p.LBA:]),
                    layer.wload.lo.eq(wl_lo),
                    layer.wload.hi.eq(wl_hi),
                    layer.wload.data.eq(self.wload_data),
                ]
            m.d.comb += [layer.x.eq(x), layer.s.eq(s)]
            if ls.prox_lines:
                tb = p.TB_IN
                a, b = ls.prox_offset, ls.prox_offset + ls.prox_lines
                m.d.comb += [layer.px.eq(self.prox_time[a * tb:b * tb]),
                             layer.ps.eq(self.prox_spike[a:b])]
            if ls.last:
                m.d.comb += layer.latch_en.eq(slot_end & proc)
                ov = Signal(name="out_valid_r")
                m.d.sync += ov.eq(slot_end & proc)
                m.d.comb += [self.out_valid.eq(ov), self.out_time.eq(layer.zo),
                             self.out_spike.eq(layer.so)]
            else:
                m.d.comb += layer.latch_en.eq(slot_end)
                v = Signal(name=f"layer{ls.index}_valid")
                with m.If(slot_end):
                    m.d.sync += v.eq(proc)
                proc = v
                if lp is not None:
                    busy.append(v)
            x, s = layer.zo, layer.so

        if lp is not None:
            m.d.comb += [seq.lrn_any.eq(Cat(*lrn_eff).any()), lwa.eq(seq.sched.lw_v)]
            # Weight read-out: the line field selects through every segment's weight
            # multiplexer (while nothing is in flight), then a pipelined segment multiplexer.
            m.d.comb += [seq.rd_next.eq(~slot_end & ~Cat(*busy).any()),
                         seq.rd_line.eq(self.wread_addr[:p.LBA])]
            segf = self.wread_addr[p.LBA:]
            sd = delay(m, segf, p.Lm + 1, "wread_seg", reset_less=True)
            sels = [sd]
            for k in range(1, lp.RS):
                sels.append(delay(m, sd, k, f"wread_seg{k}", reset_less=True))
            entries = {sid: w for sid, w in ctx.wq.items()}
            out = mux_tree(m, entries, p.WB, sels, p.R, lp.RS, "wread")
            m.d.comb += self.wread_data.eq(out)
            m.d.comb += self.wread_valid.eq(delay(m, seq.rd_next, lp.RL, "wread_ok"))
        return m
