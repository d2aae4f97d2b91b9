"""Dendrite, neuron and column: the decision logic on registered segment times.

Times are ``B``-bit values with all ones meaning NONE, so "earliest" is a plain minimum and
"both fired, the later one" (proximal ``gate``) is a plain maximum.

* Dendrite: its segments compete under the segment inhibition policy (the survivors are the
  ``won`` output, the credit STDP needs); the dendrite fires at the earliest survivor,
  which is the earliest segment under every policy.
* Neuron: earliest dendrite, combined with the proximal input: ``sum`` (the proximal
  synapses already are synapses of every segment), ``enable`` (pass only where the line is
  set), ``gate`` (the later of the proximal segment and the dendrites, when both fired).
* Column: neuron times are registered (stage 1), then lateral inhibition (``wta1``,
  ``kwta(k)``, ``twta``, ``none``; ties to the lowest index) gives the column's volley.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..ir.nodes import Inhibition
from .plan import ColumnSpec, NeuronSpec, Plan, SegmentSpec
from .sched import sched_signature
from .segment import Segment


def vmin(a: Value, b: Value) -> Value:
    return Mux(b < a, b, a)


def tree(values: list[Value], op) -> Value:
    vals = list(values)
    while len(vals) > 1:
        nxt = [op(vals[i], vals[i + 1]) for i in range(0, len(vals) - 1, 2)]
        if len(vals) % 2:
            nxt.append(vals[-1])
        vals = nxt
    return vals[0]


def inhibit(m: Module, times: list[Value], inh: Inhibition, none: int, name: str) -> list[Value]:
    """Keep bits of a lateral-inhibition policy over ``times`` (all ones = NONE); ties go to
    the lowest index. Returns one 1-bit keep signal per input."""
    n = len(times)
    valid = [t != none for t in times]
    if inh.policy == "none" or n == 1:
        keeps = valid
    else:
        # beats[j][i]: j is strictly ahead of i (earlier, or tied with a lower index).
        lt = {}
        for i in range(n):
            for j in range(n):
                if i != j:
                    lt[j, i] = times[j] < times[i]

        def beats(j: int, i: int) -> Value:
            return ~lt[i, j] if j < i else lt[j, i]

        if inh.policy == "twta":
            keeps = [valid[i] & ~Cat(*[lt[j, i] for j in range(n) if j != i]).any()
                     for i in range(n)]
        elif inh.policy == "wta1" or (inh.policy == "kwta" and inh.k == 1):
            keeps = [valid[i] & ~Cat(*[beats(j, i) for j in range(n) if j != i]).any()
                     for i in range(n)]
        else:  # kwta(k)
            k = inh.k
            keeps = []
            for i in range(n):
                if k >= n:
                    keeps.append(valid[i])
                    continue
                cnt = sum((beats(j, i) for j in range(n) if j != i), Const(0, 1))
                keeps.append(valid[i] & (cnt < k))
    out = []
    for i, kp in enumerate(keeps):
        s = Signal(name=f"{name}{i}")
        m.d.comb += s.eq(kp)
        out.append(s)
    return out


class _SegmentHost(wiring.Component):
    """Common ports of everything that contains segments: the streamed lane, the schedule
    and (register mode) the weight-load bus, passed through to each segment."""

    def _members(self, plan: Plan) -> dict:
        d = {
            "sched": In(sched_signature(plan)),
            "lane_x": In(plan.G * plan.TB_IN),
            "lane_s": In(plan.G),
        }
        if plan.weights == "register":
            from .sched import wload_signature
            d["wload"] = In(wload_signature(plan))
        return d

    def _attach(self, m: Module, name: str, child: wiring.Component) -> None:
        m.submodules[name] = child
        wiring.connect(m, wiring.flipped(self.sched), child.sched)
        m.d.comb += [child.lane_x.eq(self.lane_x), child.lane_s.eq(self.lane_s)]
        if "wload" in self.signature.members:
            wiring.connect(m, wiring.flipped(self.wload), child.wload)


class Dendrite(_SegmentHost):
    def __init__(self, plan: Plan, segs: tuple[SegmentSpec, ...], inh: Inhibition):
        self.plan, self.segs, self.inh = plan, segs, inh
        members = self._members(plan)
        members["t"] = Out(plan.B)
        members["won"] = Out(len(segs))  # segments surviving the segment inhibition
        super().__init__(members)

    def elaborate(self, platform):
        p = self.plan
        m = Module()
        zs = []
        for s, spec in enumerate(self.segs):
            seg = Segment(p, spec)
            self._attach(m, f"s{s}", seg)
            zs.append(seg.z)
        m.d.comb += self.t.eq(tree(zs, vmin))
        if len(zs) > 1:
            keeps = inhibit(m, zs, self.inh, p.NONE, "won")
            m.d.comb += self.won.eq(Cat(*keeps))
        else:
            m.d.comb += self.won.eq(zs[0] != p.NONE)
        return m


class Neuron(_SegmentHost):
    def __init__(self, plan: Plan, spec: NeuronSpec, col: ColumnSpec):
        self.plan, self.spec, self.colspec = plan, spec, col
        members = self._members(plan)
        members["en"] = In(1)  # enable mode: the neuron's proximal line
        members["t"] = Out(plan.B)
        super().__init__(members)

    def elaborate(self, platform):
        p = self.plan
        col = self.colspec.col
        m = Module()
        ds = []
        for d, segs in enumerate(self.spec.dendrites):
            den = Dendrite(p, segs, col.segment_inhibition)
            self._attach(m, f"d{d}", den)
            ds.append(den.t)
        td = Signal(p.B, name="t_dend")
        m.d.comb += td.eq(tree(ds, vmin))
        mode = col.proximal_mode
        if mode == "enable":
            m.d.comb += self.t.eq(Mux(self.en, td, p.NONE))
        elif mode == "gate":
            assert self.spec.prox is not None
            prox = Segment(p, self.spec.prox)
            self._attach(m, "prox", prox)
            m.d.comb += self.t.eq(Mux(prox.z > td, prox.z, td))
        else:
            m.d.comb += self.t.eq(td)
        return m


class Column(_SegmentHost):
    def __init__(self, plan: Plan, spec: ColumnSpec):
        self.plan, self.spec = plan, spec
        q = spec.col.neurons
        members = self._members(plan)
        members["en"] = In(q)
        for i in range(q):  # neuron i's time after inhibition, all ones = NONE
            members[f"t{i}"] = Out(plan.B)
        super().__init__(members)

    def elaborate(self, platform):
        p, spec = self.plan, self.spec
        m = Module()
        nts = []
        for i, nspec in enumerate(spec.neurons):
            n = Neuron(p, nspec, spec)
            self._attach(m, f"n{i}", n)
            m.d.comb += n.en.eq(self.en[i])
            r = Signal(p.B, name=f"t_n{i}", reset_less=True)  # stage 1
            m.d.sync += r.eq(n.t)
            nts.append(r)
        keeps = inhibit(m, nts, spec.col.column_inhibition, p.NONE, "keep")
        for i, (k, t) in enumerate(zip(keeps, nts, strict=True)):
            m.d.comb += getattr(self, f"t{i}").eq(Mux(k, t, p.NONE))
        return m
