"""The ``pipelined`` architecture of a TNN column layer: a new wave every clock.

The ``parallel`` architecture (:mod:`neutnngen.hdl.stages.parallel`) steps through a wave's
``T`` time steps in time, one per cycle. Here the steps are laid out in space: when a wave
enters, every segment computes the response increments of *all* its steps at once
(docs/model.md §2)

* ``rnl``: ``inc(t) = #{j : x_j <= t < x_j + w_j}`` (a population count of rising ramps; for
  hardwired weights of few classes, :func:`~neutnngen.hdl.plan.pipelined_counts`, counted
  once per weight class ``w`` and level ``k`` as ``C_w(k) = #{j : x_j <= k}``, then
  ``inc(t) = sum_w C_w(t) - C_w(t - w)``),
* ``snl``: ``inc(t) = sum of w_j over the lines with x_j == t``,

then the potentials ``V(t) = inc(0) + ... + inc(t)`` by a parallel prefix sum (Kogge-Stone,
one register level per doubling), compares every ``V(t)`` with ``theta`` and takes the first
crossing ``z`` (with ``tie = overshoot`` also ``o = V(z) - theta``). The dendrite, neuron and
column decisions of :mod:`neutnngen.hdl.column` follow, as in the other architectures
(segment inhibition, proximal modes, lateral inhibition, M1 keys).

Every level is a pipeline register, so a wave enters every clock (``WAVE_CYCLES = 1``) and
leaves ``LATENCY`` cycles later: :func:`~neutnngen.hdl.plan.pipelined_add_stages` levels
(grouped increment sums, then their totals; where
:func:`~neutnngen.hdl.plan.pipelined_counts`, hardwired ``rnl`` designs with few weight
classes: the comparisons, their grouped counts, the totals, the increments),
``ceil(log2 T)`` prefix levels, one for the crossing, one for the neuron times, one for the
decision and the output register. The pipeline advances while the output register is free
or being read (``~o.valid | o.ready``) and stalls as a whole otherwise, so ``i.ready`` is that
same condition. The sidebands a later stage needs (its proximal lines; ``enable`` bits of
this layer) travel along the pipeline with their wave; the volley itself is consumed in the
first level. Weights: ``hardwired`` or ``register`` (the serial design's register store; a
write takes effect for the waves that enter after it). On-chip learning is not built in this
architecture (a ``ConfigError`` says so).

Cost: every (step, synapse) pair has its own term and adder input, so area grows with
``T x synapses``; the parallel architecture reuses one adder over the steps instead.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..plan import (
    ColumnSpec,
    SegmentSpec,
    pipelined_add_stages,
    pipelined_counts,
    pipelined_latency,
    prefix_levels,
)
from ..sched import wload_signature
from ..specs import OVERSHOOT_CAP_BITS
from .output import output_register
from .parallel import ParallelLayerStage, WideColumn, add_tree, segment_weights, wire_columns


def _bits(n: int) -> int:
    return max(1, int(n).bit_length())


def latency(plan, steps: int) -> int:
    """Pipeline levels of a layer of ``steps`` time steps in ``plan``."""
    return pipelined_latency(steps, pipelined_add_stages(plan))

GROUP = 16
"""Terms per registered group sum in the first level (wider than the parallel
architecture's 8: the pipelined datapath has ``T`` times as many, and each group register
is a flip-flop column an FPGA cannot always pack with its adder)."""


class PipelinedSegment(wiring.Component):
    """One segment over ``T`` steps: lines ``x``/``s`` of the entering wave, ``adv`` (the
    pipeline advances); ``z`` (all ones = NONE) and, with ``ow > 0``, ``o`` of the wave in
    the segment's last level, ``pipelined_add_stages(plan) + prefix_levels(T) + 1`` cycles after it entered;
    ``acc`` its final potential ``V(T - 1)`` (for waveforms)."""

    def __init__(self, plan, spec: SegmentSpec, n_lines: int, T: int, response: str,
                 ow: int = 0):
        self.plan, self.spec, self.n_lines, self.T = plan, spec, n_lines, T
        self.response, self.ow = response, ow
        members = {"x": In(n_lines * plan.TB_IN), "s": In(n_lines), "adv": In(1),
                   "z": Out(plan.B, init=plan.NONE)}
        if ow:
            members["o"] = Out(ow)
        if plan.weights == "register":
            members["wload"] = In(wload_signature(plan))
        super().__init__(members)

    def elaborate(self, platform):
        p, spec, T = self.plan, self.spec, self.T
        m = Module()
        rnl = self.response == "rnl"
        ws = segment_weights(m, self)
        adv = self.adv
        # a ramp rises for w steps, so V <= the sum of the (largest) weights
        vmax = sum(ws[syn.j] if isinstance(ws[syn.j], int) else (1 << syn.bits) - 1
                   for syn in spec.synapses if syn.j in ws)
        vb = _bits(vmax)
        if pipelined_counts(p):
            incs = self._counted_increments(m, ws, vb)
        else:
            incs = self._summed_increments(m, ws, vb, rnl)
        # Kogge-Stone prefix sum: after level k, v[t] = inc(t - 2**(k+1) + 1 .. t).
        vs: list[Value] = incs
        for k in range(prefix_levels(T)):
            d = 1 << k
            nxt = []
            for t in range(T):
                r = Signal(vb, name=f"v{k}_{t}")
                with m.If(adv):
                    m.d.sync += r.eq(vs[t] + vs[t - d] if t >= d else vs[t])
                nxt.append(r)
            vs = nxt
        # The first crossing (and its overshoot), registered.
        th = spec.theta
        hits = [v >= th for v in vs] if th <= vmax else []
        z = Const(p.NONE, p.B)
        for t in reversed(range(len(hits))):
            z = Mux(hits[t], t, z)
        acc = Signal(vb, name="acc")
        with m.If(adv):
            m.d.sync += [self.z.eq(z), acc.eq(vs[-1])]
        if self.ow:
            cap = (1 << min(self.ow, OVERSHOOT_CAP_BITS)) - 1
            vz = Const(0, vb)
            for t in reversed(range(len(hits))):
                vz = Mux(hits[t], vs[t], vz)
            ov = vz - th
            if vmax - th > cap:
                ov = Mux(ov > cap, cap, ov)
            with m.If(adv):
                m.d.sync += self.o.eq(ov)
        return m


    def _summed_increments(self, m: Module, ws: dict, vb: int, rnl: bool) -> list[Value]:
        """Levels 1-2 (register weights, ``snl``): every step's increment as a grouped sum
        of one term per (step, synapse)."""
        p, spec, T, adv = self.plan, self.spec, self.T, self.adv
        tb = p.TB_IN
        n_x = 1 << tb
        # terms[t]: (increment term, its largest value) of every present synapse at step t
        terms: list[list[tuple[Value, int]]] = [[] for _ in range(T)]
        for syn in spec.synapses:
            if syn.j not in ws:
                continue
            w = ws[syn.j]
            wm = w if isinstance(w, int) else (1 << syn.bits) - 1
            x = self.x[syn.j * tb:(syn.j + 1) * tb]
            spiked = self.s[syn.j]
            for t in range(T):
                if rnl and isinstance(w, int):  # x <= t < x + w: a constant table on x
                    table = sum(1 << k for k in range(n_x) if k <= t < k + w)
                    if not table:
                        continue
                    a = spiked & Const(table, n_x).bit_select(x, 1)
                    terms[t].append((a, 1))
                elif rnl:
                    a = spiked & (x <= t) & (x + w > t)
                    terms[t].append((a, 1))
                else:  # snl: the whole weight at t == x
                    a = Mux(spiked & (x == t), w, 0)
                    terms[t].append((a, wm))
        # Level 1: grouped sums; level 2: each step's increment.
        incs: list[Value] = []
        for t in range(T):
            parts = []
            for g in range(0, len(terms[t]), GROUP):
                grp = terms[t][g:g + GROUP]
                r = Signal(_bits(sum(mx for _, mx in grp)), name=f"part{t}_{g // GROUP}")
                with m.If(adv):
                    m.d.sync += r.eq(add_tree([v for v, _ in grp]))
                parts.append(r)
            inc = Signal(vb, name=f"inc{t}")
            with m.If(adv):
                m.d.sync += inc.eq(add_tree(parts) if parts else 0)
            incs.append(inc)
        return incs

    def _counted_increments(self, m: Module, ws: dict, vb: int) -> list[Value]:
        """Levels 1-3 (hardwired weights, ``rnl``): the ramp of a synapse of weight ``w``
        rises while ``x <= t < x + w``, so ``inc(t) = sum over the weight classes w of
        C_w(t) - C_w(t - w)`` with ``C_w(k) = #{j in class w : x_j <= k}`` (``C_w(k) = 0``
        for ``k < 0``; every input time is ``<= 2**TB_IN - 1``, so larger ``k`` count every
        spiking line). Level 1: the comparisons ``x_j <= k`` of every line and level
        ``k < 2**TB_IN``, registered (synthesis merges a line's copies across the segments
        that read it); level 2: their grouped counts for every class; level 3: the totals
        ``C_w(k)``; level 4: the increments. ``2**TB_IN`` counted bits per synapse instead of
        one term per (step, synapse), and no comparison in front of the counters (GunPoint on
        the iCE40 HX8K: 5,469 logic cells and 108 MHz against 7,259 and 85 MHz)."""
        p, spec, T, adv = self.plan, self.spec, self.T, self.adv
        tb = p.TB_IN
        top = (1 << tb) - 1
        classes: dict[int, list[int]] = {}
        for syn in spec.synapses:
            if syn.j in ws:
                classes.setdefault(ws[syn.j], []).append(syn.j)
        th: dict[tuple[int, int], Value] = {}  # (line, k): registered "x_j <= k"

        def le(j: int, k: int) -> Value:
            if (j, k) not in th:
                r = Signal(name=f"le{j}_{k}")
                with m.If(adv):
                    m.d.sync += r.eq(self.s[j] & (self.x[j * tb:(j + 1) * tb] <= k)
                                     if k < top else self.s[j])
                th[(j, k)] = r
            return th[(j, k)]

        C: dict[tuple[int, int], Value] = {}
        for w in sorted(classes):
            js = classes[w]
            for k in range(top + 1):
                bits = [le(j, k) for j in js]
                parts = []
                for g in range(0, len(bits), GROUP):
                    grp = bits[g:g + GROUP]
                    r = Signal(_bits(len(grp)), name=f"cnt{w}_{k}_{g // GROUP}")
                    with m.If(adv):
                        m.d.sync += r.eq(add_tree(grp))
                    parts.append(r)
                tot = Signal(_bits(len(js)), name=f"cum{w}_{k}")
                with m.If(adv):
                    m.d.sync += tot.eq(add_tree(parts))
                C[(w, k)] = tot
        incs: list[Value] = []
        for t in range(T):
            pos = add_tree([C[(w, min(t, top))] for w in sorted(classes)])
            neg = [C[(w, min(t - w, top))] for w in sorted(classes) if t >= w]
            inc = Signal(vb, name=f"inc{t}")
            with m.If(adv):
                m.d.sync += inc.eq(pos - add_tree(neg) if neg else pos)
            incs.append(inc)
        return incs


class PipelinedColumn(WideColumn):
    """A column of the pipelined architecture: ``adv`` advances its segments' levels and
    registers the neuron keys one level after the segments' ``z``; ``en`` (enable mode) must
    come with the wave whose segment times are current."""

    SEGMENT = PipelinedSegment
    SEG_CONTROLS = ("adv",)
    REG = "adv"

    def __init__(self, plan, spec: ColumnSpec, T: int):
        super().__init__(plan, spec, {"adv": 1}, T)


def timing(plan, spec) -> tuple[int, int]:
    """A new wave every cycle; :func:`latency` cycles through the pipeline."""
    return 1, latency(plan, spec.steps)


def _sideband_layout(beat) -> data.StructLayout | None:
    f = {k: v for k, v in beat.fields().items() if k not in ("time", "spike")}
    return data.StructLayout(f) if f else None


class PipelinedLayerStage(ParallelLayerStage):
    """A layer in the ``pipelined`` architecture as a stream stage (module docstring); the
    ports are the parallel stage's."""

    def elaborate(self, platform):
        p, spec = self.plan, self.spec
        m = Module()
        ip = self.i.payload
        T = spec.steps
        L = latency(p, T)
        adv = Signal(name="adv")
        m.d.comb += [adv.eq(~self.o.valid | self.o.ready), self.i.ready.eq(adv)]
        # valid bits of the levels: v[k] holds the wave that entered k + 1 advances ago
        valid = []
        prev: Value = self.i.valid
        for k in range(L - 1):
            v = Signal(name=f"pv{k}")
            with m.If(adv):
                m.d.sync += v.eq(prev)
            valid.append(v)
            prev = v
        with m.If(adv):
            m.d.sync += self.o.valid.eq(prev)
        # sidebands along the pipeline (not the volley: it is consumed in the first level)
        lay = _sideband_layout(self.stage.beat_in)
        side: list = [ip]
        if lay is not None:
            src = Signal(lay, name="side_in")
            m.d.comb += [getattr(src, f).eq(getattr(ip, f)) for f in lay.members]
            cur = src
            for k in range(L - 1):
                r = Signal(lay, name=f"side{k}")
                with m.If(adv):
                    m.d.sync += r.eq(cur)
                side.append(r)
                cur = r
        # the neuron keys (level L - 1) are registered from the segment times (level L - 2)
        # with the enable bits of the wave there
        dec = side[L - 2] if lay is not None else None

        def column(c: ColumnSpec) -> PipelinedColumn:
            col = PipelinedColumn(p, c, T)
            m.d.comb += col.adv.eq(adv)
            return col

        en = dec.prox_spike if dec is not None else Const(0, 1)
        times = wire_columns(m, p, spec, ip, column, en, getattr(self, "wload", None))
        # the output register takes the wave in the last level, with its sidebands
        last = side[L - 1] if lay is not None else ip
        output_register(m, p, spec, self.stage, times, adv, last, self.o.payload)
        return m
