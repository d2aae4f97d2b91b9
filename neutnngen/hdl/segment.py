"""Segment: synapses + accumulator + first-crossing detector (successive approximation).

Per pass ``b`` the segment evaluates ``V(p) >= theta`` at the probe ``p`` with
``p + 1 = (z & resp_hi) | resp_oh`` (``z`` = its time register, bits above ``b`` already
decided in this wave). Each streamed element (one line per cycle) adds the synapse response

* RNL: ``r = min(p + 1 - x, w)`` if the line spiked and ``x <= p``, else 0;
* SNL: ``r = w`` if the line spiked and ``x <= p``, else 0;

to an accumulator that starts at ``2**W - theta``; its carry out (sticky) is
``V(p) >= theta``. At the end of the pass, time bit ``b`` becomes ``not (V(p) >= theta)``.
After ``B`` passes ``z`` is the first step with ``V >= theta``, or all ones (NONE).

Where a weight comes from is a *weight store* (:data:`WEIGHT_STORES`): ``hardwired``
(constants: a ROM over the line counter that synthesis folds; absent and zero synapses
generate nothing) or ``register`` (one register per present synapse, reset to the trained
value, written through the ``wload`` bus, read through a pipelined multiplexer). A future
``learn`` store adds the STDP read-modify-write pass on the same registers.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, ResetSignal, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .mux import mux_tree
from .plan import Plan, SegmentSpec
from .sched import sched_signature, wload_signature, wload_split


class HardwiredStore:
    """Trained weights as constants: the weight of the streamed line is a ROM of the line
    counter (registered, aligned with the line multiplexer's output)."""

    mode = "hardwired"

    def __init__(self, plan: Plan, spec: SegmentSpec):
        self.plan, self.spec = plan, spec

    def members(self) -> dict:
        return {}

    def read(self, m: Module, seg: Segment, lane: int) -> Value:
        p, spec = self.plan, self.spec
        nz = [s for s in spec.synapses if s.weight != 0 and s.j % p.G == lane]
        if not nz:
            return Const(0, spec.wbits)
        w = Signal(spec.wbits, name="w" if p.G == 1 else f"w_l{lane}", reset_less=True)
        sel = getattr(seg.sched, f"sel{p.Lm - 1}")
        m.d.sync += w.eq(0)
        with m.Switch(sel):
            for s in nz:
                with m.Case(s.j // p.G):
                    m.d.sync += w.eq(s.weight)
        return w


class RegisterStore:
    """One register per present synapse (named after the synapse, e.g. ``w17``), reset to
    its trained value, written when ``wload.en`` and the address match, read through a
    pipelined multiplexer over the line counter."""

    mode = "register"

    def __init__(self, plan: Plan, spec: SegmentSpec):
        self.plan, self.spec = plan, spec
        self.regs: dict[int, Value] = {}

    def members(self) -> dict:
        return {"wload": In(wload_signature(self.plan))}

    def read(self, m: Module, seg: Segment, lane: int) -> Value:
        p, spec = self.plan, self.spec
        if not self.regs:
            self.regs = self._registers(m, seg)
        entries = {j // p.G: r for j, r in self.regs.items() if j % p.G == lane}
        if not entries:
            return Const(0, spec.wbits)
        sels = [getattr(seg.sched, f"sel{k}") for k in range(p.Lm)]
        return mux_tree(m, entries, spec.wbits, sels, p.R, p.Lm,
                        "wrd" if p.G == 1 else f"wrd{lane}")

    def _registers(self, m: Module, seg: Segment) -> dict[int, Value]:
        p, spec = self.plan, self.spec
        wl = seg.wload
        # Reset goes through the write path (reset-less registers with an enable; the bus
        # has reset folded into en/lo/hi): the data "reset ? trained : wload_data" depends
        # only on the bit position and the trained bit, so all registers share it.
        rst = ResetSignal("sync")
        lo_bits, _ = wload_split(p)
        match = Signal(name="wmatch")
        m.d.comb += match.eq(wl.en & ((wl.seg == spec.seg_id) | rst))
        groups: dict[int, Signal] = {}
        entries: dict[int, Value] = {}
        for s in spec.synapses:
            g = s.j >> lo_bits
            if g not in groups:
                groups[g] = Signal(name=f"wmatch_h{g}")
                m.d.comb += groups[g].eq(match & wl.hi[g])
            r = Signal(s.bits, init=s.weight, name=s.name, reset_less=True)
            with m.If(groups[g] & wl.lo[s.j & ((1 << lo_bits) - 1)]):
                m.d.sync += r.eq(Mux(rst, s.weight, wl.data[:s.bits]))
            entries[s.j] = r
        return entries


WEIGHT_STORES = {"hardwired": HardwiredStore, "register": RegisterStore}


class Segment(wiring.Component):
    def __init__(self, plan: Plan, spec: SegmentSpec):
        self.plan, self.spec = plan, spec
        self.store = WEIGHT_STORES[plan.weights](plan, spec)
        members = {
            "sched": In(sched_signature(plan)),
            "lane_x": In(plan.G * plan.TB_IN),
            "lane_s": In(plan.G),
            "z": Out(plan.B, init=plan.NONE),
        }
        members.update(self.store.members())
        super().__init__(members)

    @property
    def r_max(self) -> int:
        """Largest sum of the lanes' responses in one cycle."""
        return self.plan.G * ((1 << self.spec.wbits) - 1)

    @property
    def acc_bits(self) -> int:
        return max(self.spec.theta.bit_length(), self.r_max.bit_length())

    def elaborate(self, platform):
        p, spec = self.plan, self.spec
        m = Module()
        s = self.sched
        wb = spec.wbits
        tb = p.TB_IN

        # Response stage: probe of this pass, arrival and ramp/step response per lane.
        p1 = Signal(p.B, name="probe1")
        m.d.comb += p1.eq((self.z & s.resp_hi) | s.resp_oh)
        rs = []
        for g in range(p.G):
            w = self.store.read(m, self, g)
            sfx = "" if p.G == 1 else f"_l{g}"
            x = self.lane_x[g * tb:(g + 1) * tb]
            arrived = Signal(name=f"arrived{sfx}")
            m.d.comb += arrived.eq(self.lane_s[g] & (x < p1))
            r_next = Signal(wb, name=f"r_next{sfx}")
            if p.net.time.response == "snl":
                m.d.comb += r_next.eq(Mux(arrived, w, 0))
            else:
                d = Signal(p.B, name=f"elapsed1{sfx}")  # p + 1 - x, >= 1 when arrived
                m.d.comb += d.eq(p1 - x)
                m.d.comb += r_next.eq(Mux(arrived, Mux(d < w, d[:wb], w), 0))
            if p.RD > 1:  # register each lane before the adder tree (Fmax)
                rl = Signal(wb, name=f"r{sfx}", reset_less=True)
                m.d.sync += rl.eq(r_next)
                r_next = rl
            rs.append(r_next)
        r = Signal(self.r_max.bit_length(), name="r", reset_less=True)
        while len(rs) > 1:  # balanced adder tree over the lanes
            rs = [rs[i] + rs[i + 1] for i in range(0, len(rs) - 1, 2)] + rs[len(rs) & ~1:]
        m.d.sync += r.eq(rs[0])

        # Accumulator from -theta (mod 2**W); the sticky carry says V(p) >= theta.
        W = self.acc_bits
        init = (1 << W) - spec.theta
        acc = Signal(W, name="acc", reset_less=True)
        hit = Signal(name="hit", reset_less=True)
        total = Signal(W + 1, name="acc_next")
        m.d.comb += total.eq(Mux(s.acc_first, init, acc) + r)
        m.d.sync += [acc.eq(total[:W]), hit.eq((hit & ~s.acc_first) | total[W])]

        # Successive approximation: bit b of the first-crossing time.
        for b in range(p.B):
            with m.If(s.sar_we[b]):
                m.d.sync += self.z[b].eq(~hit)
        return m
