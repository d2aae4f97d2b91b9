"""The network top level with the exact ports of ``docs/rtl-contract.md``."""

from __future__ import annotations

from amaranth.hdl import Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .layer import Layer
from .plan import Plan
from .sched import Sequencer, wload_split


class Top(wiring.Component):
    """Ports (``sync`` domain adds ``clk`` and ``rst``): ``in_valid``, ``in_ready``,
    ``in_time``, ``in_spike``, [``prox_time``, ``prox_spike``], ``out_valid``,
    ``out_time``, ``out_spike``, [``wload_en``, ``wload_addr``, ``wload_data``].

    ``info`` is the ``"top"`` entry of ``names.json``; ``plan`` the static plan."""

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
        if plan.weights == "register":
            members.update({
                "wload_en": In(1),
                "wload_addr": In(plan.A),
                "wload_data": In(plan.WB),
            })
        super().__init__(members)
        self.info = plan.info()

    def elaborate(self, platform):
        p = self.plan
        m = Module()
        seq = Sequencer(p)
        m.submodules.seq = seq
        m.d.comb += self.in_ready.eq(seq.in_ready)
        slot_end = seq.sched.slot_end

        if p.weights == "register":
            # Predecode the line field of the address into two one-hot halves; reset sets
            # every write enable (the weight registers reset through their write path).
            rst = ResetSignal("sync")
            lo_bits, hi_bits = wload_split(p)
            la = self.wload_addr[:lo_bits]
            ha = self.wload_addr[lo_bits:p.LBA]
            wl_en = Signal(name="wload_en_r")
            wl_lo = Signal(1 << lo_bits, name="wload_lo")
            wl_hi = Signal(1 << hi_bits, name="wload_hi")
            m.d.comb += wl_en.eq(self.wload_en | rst)
            for i in range(1 << lo_bits):
                m.d.comb += wl_lo[i].eq((la == i) | rst)
            for i in range(1 << hi_bits):
                m.d.comb += wl_hi[i].eq(((ha == i) if hi_bits else 1) | rst)

        # Valid bit of the wave each layer processes in this slot.
        proc0 = Signal(name="proc_valid0")
        with m.If(seq.in_ready):
            m.d.sync += proc0.eq(self.in_valid)
        proc = proc0

        x, s = self.in_time, self.in_spike
        for ls in p.layers:
            layer = Layer(p, ls)
            m.submodules[f"layer{ls.index}"] = layer
            wiring.connect(m, seq.sched, layer.sched)
            if p.weights == "register":
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
            x, s = layer.zo, layer.so
        return m
