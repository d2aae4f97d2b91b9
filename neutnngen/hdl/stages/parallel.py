"""The ``parallel`` architecture of a TNN column layer: every synapse evaluated every time step.

The serial architecture (:class:`~neutnngen.hdl.stages.layer.LayerStage`) streams one input
line per cycle through a successive-approximation search, ``B * (J + c)`` cycles a wave.
Here a layer steps through the wave's time steps ``t = 0 .. T - 1`` once, one per cycle,
and every segment adds all of its synapses' response increments in that cycle
(docs/model.md §2):

* ``rnl``: ``r(t) - r(t - 1) = 1`` while ``x <= t < x + w`` (the ramp is rising), so the
  increment of a segment is a population count over its synapses;
* ``snl``: ``r(t) - r(t - 1) = w`` at ``t = x``, so the increment is a sum of weights.

``V(t)`` accumulates the increments and the segment latches ``z = t`` at the first step with
``V(t) >= theta`` (``>=``; never again in the wave). Running every column to the layer's
longest wave is exact: no potential changes after a column's last step ``T_c - 1``.
After the last step the dendrite, neuron and column logic of :mod:`neutnngen.hdl.column`
(segment inhibition, proximal modes, lateral inhibition with ties to the lowest index)
decide on the registered times; with M1 overshoot ties (``tie = overshoot``) each segment
also latches ``o = V(z) - theta`` at its crossing and the decisions compare the keys of
:func:`~neutnngen.hdl.column.overshoot_key`, as in the serial design. The increments of step ``t`` pass two pipeline registers
(group sums, then their total) and are accumulated two cycles later; after the last step two
cycles bring it into the accumulator, one registers the neuron times, and one applies the
column inhibition and latches the output register. A wave takes ``T + 4`` cycles (``WAVE_CYCLES``; GunPoint's
``T = 14``: 18 cycles against 612 serial).

Stream behaviour is the serial stage's (``docs/rtl-contract.md``): a wave starts in a cycle
in which the stage is idle and ``i.valid`` is high (that cycle is step 0), the input beat is
read while the wave runs, and in its last cycle the stage latches the result when the output
register is free (``~o.valid | o.ready``), raising ``i.ready`` and ``done``; otherwise it
waits there. Weights: ``hardwired`` (constants; zero-weight synapses generate nothing),
``register`` (the serial design's register store, same ``wload`` addresses and reset) or
``learn``: on-chip STDP (docs/model.md §5) with every synapse updated at once. A learning
wave takes ``T + 2`` cycles (no adder registers: step ``t`` is accumulated in its own
cycle; then the neuron times are registered; then the decision cycle latches the output
and, when the wave learns, writes every weight of the layer with its STDP update, computed
from the held input volley, the capture flags ``x <= z`` each synapse latched in its
segment's crossing step, the credited flags of that same cycle,
and the level bits each synapse latched when the draw of its weight level completed:
:class:`~neutnngen.hdl.column.Rng` ``stream_levels``).
Each generator makes one whole draw per cycle (``steps_per_draw`` LFSR steps) from the
wave's first cycle and latches its Bernoulli bits one cycle later, so a learning layer's wave waits
for the design's ``learn.D`` draws (its largest ``5 + w_max + 1``) when they outnumber its
steps. ``wread`` reads through a
multiplexer per segment, with the serial design's latency.

With a weight budget (M8, ``w_norm``) a learning layer stage sweeps the weight levels after
every wave's decision cycle (``learn.SWEEP = w_max + 1`` cycles, written only when the wave
learned): one cycle latches each segment's distal sum, then level ``k = 1 .. w_max`` writes
``(k * B) // s`` into every distal weight equal to ``k`` of a segment over its budget. The
output is latched before the sweep; the input beat is taken, and ``names.json``'s ``done``
tap pulses, in its last cycle.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, ResetSignal, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import segment as _segment  # capture_condition looked up late (mutation tests)
from ..column import ColumnLearn, key_inhibit, key_time, overshoot_key, tree, vmin
from ..mux import mux_tree
from ..plan import ColumnSpec, SegmentSpec, parallel_add_stages
from ..sched import delay, wload_signature
from ..segment import (
    RegisterStore,
    budget_scale,
    dynamic_theta,
    stdp_decision,
    theta_cap,
    weight_sum,
)
from ..specs import OVERSHOOT_CAP_BITS
from .labels import learning_inputs
from .output import output_register


def _bits(n: int) -> int:
    return max(1, int(n).bit_length())


def norm_level_bits(plan) -> int:
    """Bits of the level counter of the weight budget's sweep (M8, ``learn.SWEEP``)."""
    return _bits(plan.learn.SWEEP - 1)


GROUP = 8


def add_tree(vals: list[Value]) -> Value:
    """Sum as a balanced adder tree."""
    vals = list(vals)
    if not vals:
        return Const(0, 1)
    while len(vals) > 1:
        nxt = [vals[i] + vals[i + 1] for i in range(0, len(vals) - 1, 2)]
        if len(vals) % 2:
            nxt.append(vals[-1])
        vals = nxt
    return vals[0]


def segment_weights(m: Module, seg, ctx=None) -> dict[int, Value | int]:
    """Line -> weight of a segment whose synapses are all read at once: the trained
    constants (hardwired; zero weights generate nothing) or the register store's registers
    (``register`` and ``learn`` modes; ``seg.wload`` writes them; ``ctx``: the learn-mode
    bookkeeping that lists them)."""
    if seg.plan.weights in ("register", "learn"):
        return RegisterStore(seg.plan, seg.spec, ctx)._registers(m, seg)
    return {s.j: s.weight for s in seg.spec.synapses if s.weight != 0}


class ParallelSegment(wiring.Component):
    """One segment: ``t`` (the step whose increments enter the adder pipeline), ``t_acc``,
    ``acc_en``, ``acc_clr`` (the step accumulated this cycle, whether one is, whether it is
    step 0 of a wave: clear the state), the column's lines ``x``/``s``; ``z`` the first
    crossing (all ones = NONE), ``acc`` the potential; ``o`` (``ow > 0``) the overshoot
    ``V(z) - theta`` latched with ``z``, capped at ``2**ow - 1``.

    ``learn`` mode adds ``rd_sel`` (the ``wread`` line select and its delayed copies: the
    segment's read multiplexer drives its tap ``ctx.wq[seg_id]``) and, in a learning layer,
    ``lwe``: every synapse of the segment takes its STDP update (docs/model.md §5) at the end
    of this cycle, all at once, from its line, its flag ``x <= z`` (latched when the segment
    crossed), its credited flag and its generator's bits
    (:func:`~neutnngen.hdl.segment.stdp_decision`)."""

    def __init__(self, plan, spec: SegmentSpec, n_lines: int, tw: int, ctx, response: str,
                 ow: int = 0):
        self.plan, self.spec, self.n_lines, self.tw = plan, spec, n_lines, tw
        self.response, self.ow, self.ctx = response, ow, ctx
        self.lctx = ctx.seg.get(spec.path) if ctx is not None and plan.weights == "learn" \
            else None
        members = {
            "t": In(tw), "t_acc": In(tw), "acc_en": In(1), "acc_clr": In(1),
            "x": In(n_lines * plan.TB_IN), "s": In(n_lines),
            "z": Out(plan.B),
        }
        if ow:
            members["o"] = Out(ow)
        if plan.weights in ("register", "learn"):
            members["wload"] = In(wload_signature(plan))
        if plan.learn is not None:
            members["rd_sel"] = In(plan.SW * plan.Lm)
        lc = self.lctx
        # the segment has distal synapses under a weight budget (M8)
        self.budget = bool(lc is not None and lc.rule is not None and lc.rule.w_norm
                           and any(syn.distal for syn in spec.synapses))
        if self.lctx is not None:
            members["lwe"] = In(1)
            if self.budget:
                members["nrm"] = In(1)
                members["nrm_k"] = In(norm_level_bits(plan))
        super().__init__(members)

    def _weights(self, m: Module) -> dict[int, Value | int]:
        return segment_weights(m, self, self.ctx)

    def elaborate(self, platform):
        p, spec = self.plan, self.spec
        m = Module()
        tb = p.TB_IN
        rnl = self.response == "rnl"
        ws = self._weights(m)
        terms: list[tuple[Value, int]] = []  # (increment term, its largest value)
        vmax = 0  # a ramp rises for w steps, so V <= the sum of the (largest) weights
        rising: dict[int, Value] = {}  # hardwired rnl: w -> bit k set while k <= t < k + w
        n_x = 1 << tb
        for syn in spec.synapses:
            if syn.j not in ws:
                continue
            w = ws[syn.j]
            wm = w if isinstance(w, int) else (1 << syn.bits) - 1
            vmax += wm
            x = self.x[syn.j * tb:(syn.j + 1) * tb]
            spiked = self.s[syn.j]
            if rnl and isinstance(w, int):  # rising ramp: x <= t < x + w, a lookup on x
                if w not in rising:
                    rising[w] = Signal(n_x, name=f"rising_w{w}")
                    m.d.comb += rising[w].eq(Cat(*[(k <= self.t) & (self.t < k + w)
                                                   for k in range(n_x)]))
                a = Signal(name=f"up_{syn.name}")
                m.d.comb += a.eq(spiked & rising[w].bit_select(x, 1))
                terms.append((a, 1))
            elif rnl:  # rising ramp: x <= t < x + w, i.e. 0 <= t - x < w (t - x is the
                # line's, shared by every segment that reads it)
                a = Signal(name=f"up_{syn.name}")
                m.d.comb += a.eq(spiked & (x <= self.t) & ((self.t - x) < w))
                terms.append((a, 1))
            else:  # step: the whole weight at t == x
                a = Signal(syn.bits, name=f"up_{syn.name}")
                m.d.comb += a.eq(Mux(spiked & (x == self.t), w, 0))
                terms.append((a, wm))
        # The adder: group sums, then the increment; with parallel_add_stages() registers.
        D = parallel_add_stages(p.weights)
        parts = []
        for g in range(0, len(terms), GROUP):
            grp = terms[g:g + GROUP]
            r = Signal(_bits(sum(mx for _, mx in grp)), name=f"part{g // GROUP}")
            if D > 1:
                m.d.sync += r.eq(add_tree([v for v, _ in grp]))
            else:
                m.d.comb += r.eq(add_tree([v for v, _ in grp]))
            parts.append(r)
        inc = Signal(_bits(vmax), name="inc")
        if D:
            m.d.sync += inc.eq(add_tree(parts))
        else:
            m.d.comb += inc.eq(add_tree(parts))
        acc = Signal(_bits(vmax), name="acc")
        nxt = Signal(_bits(vmax), name="acc_next")
        fired = Signal(name="fired")
        m.d.comb += nxt.eq(Mux(self.acc_clr, 0, acc) + inc)
        # M2 / M5: the threshold follows the weight sum and the win-rate counter (a
        # combinational function of registers that move in the learn-write cycle)
        dyn = self.lctx is not None and self.lctx.dynamic
        theta: Value | int = spec.theta
        if dyn:
            theta = Signal(range(theta_cap(spec, p.weights) + 1), name="theta")
        cross = Signal(name="crossing")  # the first crossing: z is latched this cycle
        with m.If(self.acc_en):
            m.d.sync += acc.eq(nxt)
            with m.If(self.acc_clr):
                m.d.sync += [fired.eq(0), self.z.eq(p.NONE)]
            if dyn or spec.theta <= vmax:
                m.d.comb += cross.eq((nxt >= theta) & (self.acc_clr | ~fired))
                with m.If(cross):
                    m.d.sync += [fired.eq(1), self.z.eq(self.t_acc)]
                    if self.ow:
                        cap = (1 << min(self.ow, OVERSHOOT_CAP_BITS)) - 1
                        ov = nxt - theta
                        if vmax - (1 if dyn else spec.theta) > cap:
                            ov = Mux(ov > cap, cap, ov)
                        m.d.sync += self.o.eq(ov)
        if p.learn is not None:
            wsum = None
            if self.budget or (dyn and self.lctx.rule.theta == "relative"):
                wsum = weight_sum(m, spec)
            self._learn(m, ws, wsum, cross)
            if dyn:
                m.d.comb += theta.eq(dynamic_theta(m, spec, self.lctx, p.weights, wsum))
        return m

    def _learn(self, m: Module, ws: dict[int, Value], wsum: Signal | None,
               cross: Signal) -> None:
        """``learn`` mode: the ``wread`` read multiplexer and (learning layers) the STDP
        update of every synapse at once, the distal weight sum ``wsum`` (M2, M8) stepped
        with it, and the weight budget's level sweep (M8): in the norm cycle of level
        ``k`` (``nrm``, ``nrm_k``), when the sum latched before the sweep is over the
        budget, every distal weight equal to ``k`` becomes ``(k * B) // s``. The levels
        ascend from 1 and a scaled weight is at most its level, so no weight is scaled
        twice; the sum drops by ``n_k * (k - (k * B) // s)`` for the ``n_k`` weights at
        level ``k``.

        The STDP capture condition ``x <= z`` is latched per synapse in the crossing cycle
        (``cross``, when ``z`` takes the step ``t_acc``): one flip-flop instead of a
        comparison with ``z``. A synapse reads it only when its segment is credited, and
        credit needs a crossing in this wave, so a flag left from an earlier wave is never
        read."""
        p, spec, tb = self.plan, self.spec, self.plan.TB_IN
        sels = [self.rd_sel[k * p.SW:(k + 1) * p.SW] for k in range(p.Lm)]
        m.d.comb += self.ctx.wq[spec.seg_id].eq(
            mux_tree(m, dict(ws), spec.wbits, sels, p.R, p.Lm, "wrd"))
        if self.lctx is None:
            return
        ups, downs, hits = [], [], []
        g = self.lctx.gen
        lk = g.lk if g.stream_levels else None  # the level whose bits are latched now
        if self.budget:
            assert wsum is not None
            scaled, over = budget_scale(m, spec, self.lctx.rule.w_norm, self.nrm_k, wsum,
                                        self.nrm)
            lk_m = Signal(len(self.nrm_k), name="lvl_cmp")  # one comparison a synapse
            m.d.comb += lk_m.eq(self.nrm_k if lk is None else Mux(self.nrm, self.nrm_k, lk))
            lk = lk_m
        for syn in spec.synapses:
            w = ws[syn.j]
            levels = None
            at = None
            if lk is not None:
                at = Signal(name=f"{syn.name}_at_lvl")
                m.d.comb += at.eq(w == lk)
            if g.stream_levels:  # latch the level bits of w as its draw completes
                fu = Signal(name=f"{syn.name}_fu", reset_less=True)
                fd = Signal(name=f"{syn.name}_fd", reset_less=True)
                with m.If(g.lv & at):
                    m.d.sync += [fu.eq(g.fu), fd.eq(g.fd)]
                levels = {"cu": g.bc & fu, "dm": g.bm & fd, "db": g.bb & fd, "dc": g.bc & fd}
            x = self.x[syn.j * tb:(syn.j + 1) * tb]
            le = None
            if self.lctx.kind != "targeted":  # the targeted rule does not look at z
                le = Signal(name=f"{syn.name}_x_le_z", reset_less=True)
                with m.If(cross):
                    m.d.sync += le.eq(_segment.capture_condition(x, self.t_acc))
            inc, dec = stdp_decision(m, self.lctx, x, self.s[syn.j], self.z, w, syn.bits,
                                     f"{syn.name}_", levels, le)
            with m.If(self.lwe):  # never with a wload write (the top drops those then)
                m.d.sync += w.eq(Mux(inc, w + 1, Mux(dec, w - 1, w)))
            if syn.distal:  # an increment wins over a decrement, as in the write above
                ups.append(inc)
                downs.append(dec & ~inc)
                if self.budget:
                    with m.If(self.nrm & over & at):
                        m.d.sync += w.eq(scaled)
                    hits.append(at)
        if wsum is None:
            return
        if ups:
            with m.If(self.lwe):
                m.d.sync += wsum.eq(wsum + (add_tree(ups) - add_tree(downs)))
        if hits:
            n_k = Signal(_bits(len(hits)), name="nrm_hits")
            m.d.comb += n_k.eq(add_tree(hits))
            with m.If(self.nrm & over):
                m.d.sync += wsum.eq(wsum - n_k * (self.nrm_k - scaled))


class WideColumn(wiring.Component):
    """A column whose segments all report at once (``parallel``, ``pipelined``): its
    segments (``SEGMENT``, fed the column's ``SEG_CONTROLS`` inputs and its lines), the
    dendrite / neuron decisions on their keys, neuron keys registered while the ``REG``
    input is set, and the lateral inhibition (``t<i>``: neuron ``i``'s time after inhibition,
    all ones = NONE). ``controls``: the architecture's control inputs and their widths."""

    SEGMENT: type
    SEG_CONTROLS: tuple[str, ...] = ()
    REG: str = ""

    def __init__(self, plan, spec: ColumnSpec, controls: dict[str, int], *seg_args):
        self.plan, self.spec, self.seg_args = plan, spec, seg_args
        n = len(spec.lines)
        q = spec.col.neurons
        members = {k: In(w) for k, w in controls.items()}
        members.update({"x": In(n * plan.TB_IN), "s": In(n), "en": In(q)})
        if plan.weights in ("register", "learn"):
            members["wload"] = In(wload_signature(plan))
        for i in range(q):
            members[f"t{i}"] = Out(plan.B)
        super().__init__(members)

    def _segment(self, m: Module, host: Module, name: str, spec: SegmentSpec,
                 ow: int = 0) -> Value:
        """The segment's key (its time when ``ow == 0``)."""
        seg = self.SEGMENT(self.plan, spec, len(self.spec.lines), *self.seg_args,
                           self.plan.net.time.response, ow)
        host.submodules[name] = seg
        m.d.comb += [getattr(seg, k).eq(getattr(self, k)) for k in self.SEG_CONTROLS]
        m.d.comb += [getattr(seg, k).eq(getattr(self, k)) for k in ("rd_sel", "lwe", "nrm",
                                                                    "nrm_k")
                     if k in seg.signature.members]
        m.d.comb += [seg.x.eq(self.x), seg.s.eq(self.s)]
        if self.plan.weights in ("register", "learn"):
            wiring.connect(m, wiring.flipped(self.wload), seg.wload)
        return overshoot_key(m, seg.z, seg.o if ow else None, ow, self.plan.NONE,
                             f"key_{spec.rtl.replace('.', '_')}")

    def elaborate(self, platform):
        m = Module()
        times = column_decisions(m, self.plan, self.spec, getattr(self, self.REG), self.en,
                                 lambda host, name, sp, ow: self._segment(m, host, name, sp, ow))
        for i, t in enumerate(times):
            m.d.comb += getattr(self, f"t{i}").eq(t)
        return m


class ParallelColumn(WideColumn):
    """A column of the parallel architecture: ``t`` / ``t_acc`` / ``acc_en`` / ``acc_clr``
    drive its segments, ``reg`` registers the neuron times (``stage1``). ``learn`` mode adds
    ``rd_sel`` (the ``wread`` line selects) and, in a learning layer, ``lrn`` (the wave
    learns), ``lwe`` (update every synapse now: the wave's decision cycle), the random
    phase ``rstep`` / ``rdraw`` / ``rdone`` / ``rdk`` (one whole draw per cycle) and, for
    R-STDP, ``label``; its :class:`~neutnngen.hdl.column.ColumnLearn` (generators ``g<k>``,
    credited flags and reward) works on the registered neuron keys of the decision cycle."""

    SEGMENT = ParallelSegment
    SEG_CONTROLS = ("t", "t_acc", "acc_en", "acc_clr")
    REG = "reg"

    def __init__(self, plan, spec: ColumnSpec, tw: int, ctx=None, rule=None):
        self.ctx = ctx
        self.rule = rule if plan.weights == "learn" else None
        controls = {"t": tw, "t_acc": tw, "acc_en": 1, "acc_clr": 1, "reg": 1}
        lp = plan.learn
        if lp is not None:
            controls["rd_sel"] = plan.SW * plan.Lm
        if self.rule is not None:
            db = _bits(lp.D - 1)
            controls.update({"lrn": 1, "lwe": 1, "rstep": 1, "rdraw": db, "rdone": 1,
                             "rdk": db})
            if self.rule.kind == "rstdp":
                controls["label"] = max(1, lp.LBW)
            if lp.MSB:
                controls["mus"] = lp.MSB
            if self.rule.w_norm:
                controls.update({"nrm": 1, "nrm_k": norm_level_bits(plan)})
        super().__init__(plan, spec, controls, tw, ctx)

    def elaborate(self, platform):
        m = Module()
        lrn = None
        if self.rule is not None:
            lrn = ColumnLearn(self.plan, self.spec, self.rule, self.lwe, stream_levels=True)
            self.ctx.col[self.spec.path] = lrn
            lrn.register_segments(self.ctx)
        dec: dict = {}
        times = column_decisions(m, self.plan, self.spec, self.reg, self.en,
                                 lambda host, name, sp, ow: self._segment(m, host, name, sp, ow),
                                 lrn, dec)
        for i, t in enumerate(times):
            m.d.comb += getattr(self, f"t{i}").eq(t)
        if lrn is not None:
            lrn.elaborate_into(m, self, dec["times"], dec["keeps"], ctl=self, comb=True)
        return m


def column_decisions(m: Module, p, spec: ColumnSpec, reg: Value, en: Value, segment,
                     lrn: ColumnLearn | None = None, out: dict | None = None) -> list[Value]:
    """The dendrite, neuron and column decisions on the segment keys of a column whose
    segments all report at once (the ``parallel`` and ``pipelined`` architectures):
    ``segment(host, name, spec, ow)`` builds a segment in the submodule ``host`` and returns
    its key; the neuron keys are registered while ``reg``; ``en`` are the ``enable`` bits.
    Returns each neuron's time after the lateral inhibition (all ones = NONE). ``lrn``: the
    column's learning logic, given every dendrite's key and its segments' survival of the
    segment inhibition (and gate-mode proximal times); ``out`` receives the registered
    neuron times (``"times"``) and the column inhibition's survivors (``"keeps"``)."""
    col = spec.col
    ow = spec.overshoot_bits(p.weights)
    knone = (1 << (p.B + ow)) - 1
    nt = []
    for n in spec.neurons:
        nm = Module()
        m.submodules[f"n{n.index}"] = nm
        ds = []
        for d, segs in enumerate(n.dendrites):
            dm = Module()
            nm.submodules[f"d{d}"] = dm
            zs = [segment(dm, f"s{s}", sp, ow) for s, sp in enumerate(segs)]
            ds.append(tree(zs, vmin))  # the earliest survivor = the earliest segment
            if lrn is not None:
                key = (n.index, d)
                if len(zs) > 1:
                    won = Cat(*key_inhibit(dm, zs, col.segment_inhibition, ow, p.NONE, "won"))
                else:
                    won = key_time(zs[0], ow) != p.NONE
                m.d.comb += [lrn.dt[key].eq(ds[-1]), lrn.dwon[key].eq(won)]
        td = Signal(p.B + ow, name=f"t_dend{n.index}")
        m.d.comb += td.eq(tree(ds, vmin))
        t = Signal(p.B + ow, name=f"t_neuron{n.index}")
        if col.proximal_mode == "enable":
            m.d.comb += t.eq(Mux(en[n.index], td, knone))
        elif col.proximal_mode == "gate":
            assert n.prox is not None and not ow  # the IR check refuses it
            pz = segment(nm, "prox", n.prox, 0)
            if lrn is not None:
                m.d.comb += lrn.pz[n.index].eq(pz)
            m.d.comb += t.eq(Mux(pz > td, pz, td))
        else:
            m.d.comb += t.eq(td)
        r = Signal(p.B + ow, name=f"stage1_{n.index}", init=knone)
        with m.If(reg):
            m.d.sync += r.eq(t)
        nt.append(r)
    keeps = key_inhibit(m, nt, col.column_inhibition, ow, p.NONE, "keep")
    if out is not None:
        out["times"] = [key_time(t, ow) for t in nt]
        out["keeps"] = keeps
    return [Mux(k, key_time(t, ow), p.NONE) for t, k in zip(nt, keeps, strict=True)]


def wire_columns(m: Module, p, spec, ip, column, en: Value, wload,
                 ps: Value | None = None) -> list[Value]:
    """The columns of a layer stage whose columns read all their lines at once: ``column(c)``
    makes column ``c``'s component (its architecture's own inputs connected), which gets its
    lines from the input beat ``ip`` (layer inputs and this layer's proximal lines; ``ps``:
    the proximal spike bits to use instead of the beat's), the ``wload`` bus (register and
    learn weights) and its ``enable`` bits from ``en`` (the proximal spike bits of the wave
    it decides). Returns every neuron's output time, column by column."""
    tb = p.TB_IN
    P = spec.prox_lines
    px = ip.prox_time[:P * tb] if P else Const(0, 1)
    if ps is None:
        ps = ip.prox_spike[:P] if P else Const(0, 1)
    times: list[Value] = []
    for c in spec.columns:
        col = column(c)
        m.submodules[f"col{c.index}"] = col
        xs, ss = [], []
        for kind, idx in c.lines:
            if kind == "in":
                xs.append(ip.time[idx * tb:(idx + 1) * tb])
                ss.append(ip.spike[idx])
            else:
                xs.append(px[idx * tb:(idx + 1) * tb])
                ss.append(ps[idx])
        m.d.comb += [col.x.eq(Cat(*xs)), col.s.eq(Cat(*ss))]
        if wload is not None:
            wiring.connect(m, wiring.flipped(wload), col.wload)
        for n in c.neurons:
            if n.enable_line is not None:
                m.d.comb += col.en[n.index].eq(en[n.enable_line])
        times += [getattr(col, f"t{i}") for i in range(c.col.neurons)]
    return times


def timing(plan, spec) -> tuple[int, int]:
    """``T`` step cycles, :func:`~neutnngen.hdl.plan.parallel_add_stages` until the last step
    is accumulated, one to register the neuron times, one to decide and latch; a learning
    layer whose draws outlast that (``learn.D > T + stages``) waits for them."""
    n = _last(plan, spec) + 3
    rule = spec.layer.learning if plan.learn is not None else None
    if rule is not None and rule.w_norm:  # M8: the level sweep before the next wave
        return n + plan.learn.SWEEP, n
    return n, n


def _last(plan, spec) -> int:
    """The last value of the wave's cycle counter in phase 1 (cycle 0 is the start)."""
    last = spec.steps - 1 + parallel_add_stages(plan.weights)
    if plan.learn is not None and spec.layer.learning is not None:
        last = max(last, plan.learn.D - 1)
    return last


class ParallelLayerStage(wiring.Component):
    """A layer in the ``parallel`` architecture as a stream stage (module docstring). Side
    ports: ``wload`` (``register`` and ``learn``); ``learn`` mode adds the serial stage's
    ``lw_busy`` (this cycle updates the weights of a learning wave: the top drops ``wload``
    writes then), ``rd_req`` / ``rd_line`` (serve a ``wread`` read: select the line in the
    next cycle if the stage is idle then) and ``rd_sel``."""

    def __init__(self, plan, stage, ctx=None):
        self.plan, self.stage, self.spec, self.ctx = plan, stage, stage.spec, ctx
        members = {"i": In(stage.beat_in.signature()), "o": Out(stage.beat_out.signature())}
        if plan.weights in ("register", "learn"):
            members["wload"] = In(wload_signature(plan))
        if plan.learn is not None:
            members.update({"lw_busy": Out(1), "rd_req": In(1), "rd_line": In(plan.LBA),
                            "rd_sel": Out(1)})
        super().__init__(members)

    def elaborate(self, platform):
        p, spec = self.plan, self.spec
        m = Module()
        ip = self.i.payload
        P = spec.prox_lines
        T = spec.steps
        tw = _bits(T - 1)
        lp = p.learn
        rule = spec.layer.learning if lp is not None else None
        # Phase 0: idle; a wave starts in a cycle with i.valid (c = 0: step 0 enters the
        # adder pipeline). Phase 1: c = 1 .. last; steps c < T enter the pipeline, step
        # c - D is accumulated (a learning layer also makes draw c, c < learn.D). Phase 2:
        # register the neuron times. Phase 3: decide and latch (waits while the output
        # register is full); a learning wave updates every weight in the cycle it latches.
        D = parallel_add_stages(p.weights)
        last = _last(p, spec)
        phase = Signal(2, name="phase")
        c = Signal(_bits(last), name="c")
        start = Signal(name="start")
        issue = Signal(name="issue")
        # M8: a budgeted layer sweeps the weight levels after every wave (writing only when
        # the wave learned) and takes its input beat (i.ready) in the sweep's last cycle;
        # names.json's "done" tap is then the sweep's end, the decision cycle "decide"
        budget = rule is not None and bool(rule.w_norm)
        done = Signal(name="decide" if budget else "done")
        free = Signal(name="free")
        rd_sel = Signal(name="rd_sel_r")  # learn mode: this cycle's line select serves a read
        nbusy = nk = nlrn = sweep_end = None
        if budget:
            nbusy, nlrn = Signal(name="nrm_busy"), Signal(name="nrm_learned")
            nk = Signal(norm_level_bits(p), name="nrm_k")
            sweep_end = Signal(name="done")
            m.d.comb += sweep_end.eq(nbusy & (nk == p.learn.SWEEP - 1))
        begin = (phase == 0) & self.i.valid
        if budget:
            begin = begin & ~nbusy
        m.d.comb += [free.eq(~self.o.valid | self.o.ready),
                     start.eq(begin & ~rd_sel if lp is not None else begin),
                     issue.eq(start | ((phase == 1) & (c < T))),
                     done.eq((phase == 3) & free),
                     self.i.ready.eq(sweep_end if budget else done)]
        with m.Switch(phase):
            with m.Case(0):
                with m.If(start if lp is not None else self.i.valid):
                    m.d.sync += [c.eq(1), phase.eq(1)]
            with m.Case(1):
                m.d.sync += c.eq(c + 1)
                with m.If(c == last):
                    m.d.sync += [c.eq(0), phase.eq(2)]
            with m.Case(2):
                m.d.sync += phase.eq(3)
            with m.Case(3):
                with m.If(free):
                    m.d.sync += phase.eq(0)
        with m.If(done):
            m.d.sync += self.o.valid.eq(1)
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        step = Signal(tw, name="step")  # the step entering the pipeline (while issuing)
        m.d.comb += step.eq(c)
        t_acc, acc_en, acc_clr = step, issue, start
        for k in range(D):  # the same flags D cycles later
            nt = Signal(tw, name=f"t_acc{k}")
            ne = Signal(name=f"acc_en{k}")
            nc = Signal(name=f"acc_clr{k}")
            m.d.sync += [nt.eq(t_acc), ne.eq(acc_en), nc.eq(acc_clr)]
            t_acc, acc_en, acc_clr = nt, ne, nc

        ps = ip.prox_spike[:P] if P else Const(0, 1)
        ctl: dict[str, Value] = {}
        sels: list[Value] = []
        if lp is not None:
            lrn_eff, lab, ps = learning_inputs(
                m, p, spec, self.stage.beat_in, ip, ps,
                lambda lrn_eff: [self.lw_busy.eq((done & lrn_eff) | (nbusy & nlrn) if budget
                                                 else done & lrn_eff),
                                 self.rd_sel.eq(rd_sel)])
            # wread: the line select is a register loaded with rd_line; it serves a read when
            # the stage is idle in the next cycle (no wave starts in a cycle that serves one)
            rd_next = Signal(name="rd_next")
            idle = (phase == 0) & ~start
            # (M8: not while the level sweep may write, nor in the cycle before it)
            m.d.comb += rd_next.eq(self.rd_req & (idle & ~nbusy if budget else idle | done))
            selr = Signal(p.SW, name="selr", reset_less=True)
            m.d.sync += [selr.eq(self.rd_line), rd_sel.eq(rd_next)]
            sels = [selr] + [delay(m, selr, k, f"selr{k}", reset_less=True)
                             for k in range(1, p.Lm)]
            if rule is not None:
                # random phase: draw k is made in cycle k (one whole draw per cycle) and its
                # bits are latched in cycle k + 1; every weight is updated in the cycle the
                # wave's result is latched (done)
                db = _bits(lp.D - 1)
                rstep, rdraw = Signal(name="rstep"), Signal(db, name="rdraw")
                rdone, rdk = Signal(name="rdone"), Signal(db, name="rdk")
                m.d.comb += [rstep.eq(start | ((phase == 1) & (c < lp.D))),
                             rdraw.eq(Mux(start, 0, c))]
                m.d.sync += [rdone.eq(rstep), rdk.eq(rdraw)]
                lwe = Signal(name="lwe")
                # not under rst: the weight registers reset through their wload write
                # path (contract rule 12), which a later update assignment would override
                m.d.comb += lwe.eq(done & lrn_eff & ~ResetSignal("sync"))
                ctl = {"lrn": lrn_eff, "lwe": lwe, "rstep": rstep, "rdraw": rdraw,
                       "rdone": rdone, "rdk": rdk}
                if lp.MSB:
                    ctl["mus"] = ip.mu_shift
                if rule.kind == "rstdp":
                    ctl["label"] = lab
                if budget:
                    # the cycle after the update latches the sums, then levels 1 .. w_max
                    with m.If(done):
                        m.d.sync += [nbusy.eq(1), nk.eq(0), nlrn.eq(lrn_eff)]
                    with m.Elif(nbusy):
                        m.d.sync += nk.eq(nk + 1)
                        with m.If(sweep_end):
                            m.d.sync += nbusy.eq(0)
                    nrm = Signal(name="nrm")
                    m.d.comb += nrm.eq(nbusy & nlrn & (nk != 0))
                    ctl.update({"nrm": nrm, "nrm_k": nk})

        def column(c: ColumnSpec) -> ParallelColumn:
            col = ParallelColumn(p, c, tw, self.ctx, rule)
            m.d.comb += [col.t.eq(step), col.t_acc.eq(t_acc), col.acc_en.eq(acc_en),
                         col.acc_clr.eq(acc_clr), col.reg.eq(phase == 2)]
            if sels:
                m.d.comb += col.rd_sel.eq(Cat(*sels))
            if col.rule is not None:
                m.d.comb += [getattr(col, k).eq(v) for k, v in ctl.items()]
            return col

        times = wire_columns(m, p, spec, ip, column, ps, getattr(self, "wload", None), ps)
        output_register(m, p, spec, self.stage, times, done, self.i.payload, self.o.payload)
        return m


def build(plan, stage, ctx=None) -> ParallelLayerStage:
    return ParallelLayerStage(plan, stage, ctx)
