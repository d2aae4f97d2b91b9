"""Layer: kernel wiring, line multiplexers, columns, retime and the output latch.

Column ``c`` streams ``layer.column_inputs(c)`` (then its proximal lines in ``sum``/``gate``
mode) through a line multiplexer; columns with the same lines share one. At ``latch_en``
(the last cycle of the wave slot) the layer latches its output volley, converted for the
next layer: through the explicit :class:`~neutnngen.ir.nodes.Retime` stages
(``x' = min(z >> shift, t_max)``) and cut to ``TB_IN`` bits, or to ``TB_OUT`` bits for the
last layer (whose silent neurons read time 0).
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..ir.nodes import Retime
from .column import Column
from .mux import LineMux
from .plan import LayerSpec, Plan
from .sched import sched_signature, wload_signature


def retime_value(v: Value, rt: Retime) -> Value:
    """``min(v >> shift, t_max)`` on an unsigned time."""
    if rt.shift >= len(v):
        return Const(0, 1)
    sh = v[rt.shift:]
    return Mux(sh > rt.t_max, rt.t_max, sh)


class RetimeUnit(wiring.Component):
    """Combinational :class:`~neutnngen.ir.nodes.Retime` of ``n`` lines."""

    def __init__(self, rt: Retime, n: int, wi: int, wo: int):
        self.rt, self.n, self.wi, self.wo = rt, n, wi, wo
        super().__init__({"i": In(n * wi), "o": Out(n * wo)})

    def elaborate(self, platform):
        m = Module()
        for k in range(self.n):
            v = self.i[k * self.wi:(k + 1) * self.wi]
            m.d.comb += self.o[k * self.wo:(k + 1) * self.wo].eq(retime_value(v, self.rt))
        return m


class Layer(wiring.Component):
    """``learn`` mode adds ``lrn`` (the wave of this slot learns), ``label``/``lv`` (its
    label, when the layer reads labels) and ``lrn_eff`` (the layer learns in this slot:
    ``lrn``, a learning rule, and for R-STDP a valid label). While a labelled wave learns,
    an ``enable`` column's lines are the label's one-hot code and the layer's other
    proximal lines are silent (:func:`neutnngen.ir.interp.label_proximal`)."""

    def __init__(self, plan: Plan, spec: LayerSpec, ctx=None):
        self.plan, self.spec, self.ctx = plan, spec, ctx
        tb = plan.TB_IN
        N, P, Q = spec.inputs, spec.prox_lines, spec.outputs
        members = {
            "sched": In(sched_signature(plan)),
            "x": In(N * tb),
            "s": In(N),
            "px": In(max(1, P * tb)),
            "ps": In(max(1, P)),
            "latch_en": In(1),
            "zo": Out(Q * spec.out_bits),
            "so": Out(Q),
        }
        if plan.weights in ("register", "learn"):
            members["wload"] = In(wload_signature(plan))
        if plan.learn is not None:
            members["lrn"] = In(1)
            members["lrn_eff"] = Out(1)
            if spec.index in plan.learn.label_layers:
                members["label"] = In(plan.learn.LBW)
                members["lv"] = In(1)
        super().__init__(members)

    def _used_lines(self, cspec) -> set[int]:
        used = set()
        for n in cspec.neurons:
            segs = [s for d in n.dendrites for s in d] + ([n.prox] if n.prox else [])
            for seg in segs:
                for syn in seg.synapses:
                    if self.plan.weights != "hardwired" or syn.weight != 0:
                        used.add(syn.j)
        return used

    def elaborate(self, platform):
        p, spec = self.plan, self.spec
        m = Module()
        tb = p.TB_IN
        N = spec.inputs

        x: Value = self.x
        for i, rt in enumerate(spec.pre):
            u = RetimeUnit(rt, N, tb, tb)
            m.submodules[f"retime_in{i}"] = u
            m.d.comb += u.i.eq(x)
            x = u.o

        ps: Value = self.ps
        rule = spec.layer.learning if p.learn is not None else None
        if rule is not None:
            ok = self.lrn & self.lv if rule.kind == "rstdp" else self.lrn
            m.d.comb += self.lrn_eff.eq(ok)
            if any(c.col.proximal_mode == "enable" for c in spec.columns):
                gate = Signal(name="label_gate")
                m.d.comb += gate.eq(self.lrn & self.lv)
                pse = Signal(max(1, spec.prox_lines), name="ps_label")
                off = 0
                for c in spec.columns:
                    P = c.col.proximal_inputs
                    for i in range(P):
                        if c.col.proximal_mode == "enable":
                            v = Mux(gate, self.label == i, self.ps[off + i])
                        else:
                            v = self.ps[off + i] & ~gate
                        m.d.comb += pse[off + i].eq(v)
                    off += P
                ps = pse
        elif p.learn is not None:
            m.d.comb += self.lrn_eff.eq(0)

        # One line multiplexer per distinct line list.
        groups: dict[tuple, list[int]] = {}
        for c in spec.columns:
            groups.setdefault(c.lines, []).append(c.index)
        lanes: dict[int, LineMux] = {}
        for lines, cols in groups.items():
            used: set[int] = set()
            for c in cols:
                used |= self._used_lines(spec.columns[c])
            mux = LineMux(lines, used, N, spec.prox_lines, tb, p.SW, p.R, p.Lm, p.G)
            m.submodules[f"mux{cols[0]}"] = mux
            for k in range(p.Lm):
                m.d.comb += getattr(mux, f"sel{k}").eq(getattr(self.sched, f"sel{k}"))
            m.d.comb += [mux.x.eq(x), mux.s.eq(self.s), mux.px.eq(self.px), mux.ps.eq(ps)]
            for c in cols:
                lanes[c] = mux

        times: list[Value] = []
        for c in spec.columns:
            col = Column(p, c, self.ctx, rule)
            m.submodules[f"col{c.index}"] = col
            wiring.connect(m, wiring.flipped(self.sched), col.sched)
            if p.weights in ("register", "learn"):
                wiring.connect(m, wiring.flipped(self.wload), col.wload)
            if rule is not None:
                m.d.comb += [col.lrn.eq(self.lrn_eff),
                             col.lwe.eq(self.sched.lw_v & self.lrn_eff)]
                if rule.kind == "rstdp":
                    m.d.comb += col.label.eq(self.label)
            mux = lanes[c.index]
            m.d.comb += [col.lane_x.eq(mux.lane_x), col.lane_s.eq(mux.lane_s)]
            for n in c.neurons:
                if n.enable_line is not None:
                    m.d.comb += col.en[n.index].eq(ps[n.enable_line])
            for i in range(c.col.neurons):
                times.append(getattr(col, f"t{i}"))

        # Output conversion and latch.
        Q = spec.outputs
        spikes = Signal(Q, name="spikes")
        conv = Signal(Q * p.B, name="t_raw")
        for i, t in enumerate(times):
            m.d.comb += [spikes[i].eq(t != p.NONE), conv[i * p.B:(i + 1) * p.B].eq(t)]
        wo = spec.out_bits
        vals: Value = conv
        wi = p.B
        for i, rt in enumerate(spec.post):
            u = RetimeUnit(rt, Q, wi, tb)
            m.submodules[f"retime{i}"] = u
            m.d.comb += u.i.eq(vals)
            vals, wi = u.o, tb
        out = Signal(Q * wo, name="t_out")
        for i in range(Q):
            v = vals[i * wi:i * wi + wo]
            if spec.last:
                v = Mux(spikes[i], v, 0)
            m.d.comb += out[i * wo:(i + 1) * wo].eq(v)
        with m.If(self.latch_en):
            m.d.sync += [self.zo.eq(out), self.so.eq(spikes)]
        return m
