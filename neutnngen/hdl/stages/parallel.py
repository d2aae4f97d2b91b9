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
waits there. Weights: ``hardwired`` (constants; zero-weight synapses generate nothing) or
``register`` (the serial design's register store, same ``wload`` addresses and reset).
On-chip learning is not built in this architecture (a ``ConfigError`` says so).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..column import key_inhibit, key_time, overshoot_key, tree, vmin
from ..plan import PARALLEL_ADD_STAGES, ColumnSpec, SegmentSpec
from ..sched import wload_signature
from ..segment import RegisterStore
from ..specs import OVERSHOOT_CAP_BITS
from .output import output_register


def _bits(n: int) -> int:
    return max(1, int(n).bit_length())


ADD_STAGES = PARALLEL_ADD_STAGES
"""Pipeline registers in a segment's increment adder: sums of groups of :data:`GROUP` terms,
then their total. The increments of step ``t`` are accumulated ``ADD_STAGES`` cycles later."""

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


def segment_weights(m: Module, seg) -> dict[int, Value | int]:
    """Line -> weight of a segment whose synapses are all read at once: the trained
    constants (hardwired; zero weights generate nothing) or the register store's registers
    (``seg.wload`` writes them)."""
    if seg.plan.weights == "register":
        return RegisterStore(seg.plan, seg.spec)._registers(m, seg)
    return {s.j: s.weight for s in seg.spec.synapses if s.weight != 0}


class ParallelSegment(wiring.Component):
    """One segment: ``t`` (the step whose increments enter the adder pipeline), ``t_acc``,
    ``acc_en``, ``acc_clr`` (the step accumulated this cycle, whether one is, whether it is
    step 0 of a wave: clear the state), the column's lines ``x``/``s``; ``z`` the first
    crossing (all ones = NONE), ``acc`` the potential; ``o`` (``ow > 0``) the overshoot
    ``V(z) - theta`` latched with ``z``, capped at ``2**ow - 1``."""

    def __init__(self, plan, spec: SegmentSpec, n_lines: int, tw: int, response: str,
                 ow: int = 0):
        self.plan, self.spec, self.n_lines, self.tw = plan, spec, n_lines, tw
        self.response, self.ow = response, ow
        members = {
            "t": In(tw), "t_acc": In(tw), "acc_en": In(1), "acc_clr": In(1),
            "x": In(n_lines * plan.TB_IN), "s": In(n_lines),
            "z": Out(plan.B),
        }
        if ow:
            members["o"] = Out(ow)
        if plan.weights == "register":
            members["wload"] = In(wload_signature(plan))
        super().__init__(members)

    def _weights(self, m: Module) -> dict[int, Value | int]:
        return segment_weights(m, self)

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
            elif rnl:  # rising ramp: x <= t < x + w
                a = Signal(name=f"up_{syn.name}")
                m.d.comb += a.eq(spiked & (x <= self.t) & (self.t < x + w))
                terms.append((a, 1))
            else:  # step: the whole weight at t == x
                a = Signal(syn.bits, name=f"up_{syn.name}")
                m.d.comb += a.eq(Mux(spiked & (x == self.t), w, 0))
                terms.append((a, wm))
        # Pipelined adder: registered group sums, then the registered increment.
        parts = []
        for g in range(0, len(terms), GROUP):
            grp = terms[g:g + GROUP]
            r = Signal(_bits(sum(mx for _, mx in grp)), name=f"part{g // GROUP}")
            m.d.sync += r.eq(add_tree([v for v, _ in grp]))
            parts.append(r)
        inc = Signal(_bits(vmax), name="inc")
        m.d.sync += inc.eq(add_tree(parts))
        acc = Signal(_bits(vmax), name="acc")
        nxt = Signal(_bits(vmax), name="acc_next")
        fired = Signal(name="fired")
        m.d.comb += nxt.eq(Mux(self.acc_clr, 0, acc) + inc)
        with m.If(self.acc_en):
            m.d.sync += acc.eq(nxt)
            with m.If(self.acc_clr):
                m.d.sync += [fired.eq(0), self.z.eq(p.NONE)]
            if spec.theta <= vmax:
                with m.If((nxt >= spec.theta) & (self.acc_clr | ~fired)):
                    m.d.sync += [fired.eq(1), self.z.eq(self.t_acc)]
                    if self.ow:
                        cap = (1 << min(self.ow, OVERSHOOT_CAP_BITS)) - 1
                        ov = nxt - spec.theta
                        if vmax - spec.theta > cap:
                            ov = Mux(ov > cap, cap, ov)
                        m.d.sync += self.o.eq(ov)
        return m


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
        if plan.weights == "register":
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
        m.d.comb += [seg.x.eq(self.x), seg.s.eq(self.s)]
        if self.plan.weights == "register":
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
    drive its segments, ``reg`` registers the neuron times (``stage1``)."""

    SEGMENT = ParallelSegment
    SEG_CONTROLS = ("t", "t_acc", "acc_en", "acc_clr")
    REG = "reg"

    def __init__(self, plan, spec: ColumnSpec, tw: int):
        super().__init__(plan, spec, {"t": tw, "t_acc": tw, "acc_en": 1, "acc_clr": 1,
                                      "reg": 1}, tw)


def column_decisions(m: Module, p, spec: ColumnSpec, reg: Value, en: Value, segment) -> list[Value]:
    """The dendrite, neuron and column decisions on the segment keys of a column whose
    segments all report at once (the ``parallel`` and ``pipelined`` architectures):
    ``segment(host, name, spec, ow)`` builds a segment in the submodule ``host`` and returns
    its key; the neuron keys are registered while ``reg``; ``en`` are the ``enable`` bits.
    Returns each neuron's time after the lateral inhibition (all ones = NONE)."""
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
        td = Signal(p.B + ow, name=f"t_dend{n.index}")
        m.d.comb += td.eq(tree(ds, vmin))
        t = Signal(p.B + ow, name=f"t_neuron{n.index}")
        if col.proximal_mode == "enable":
            m.d.comb += t.eq(Mux(en[n.index], td, knone))
        elif col.proximal_mode == "gate":
            assert n.prox is not None and not ow  # the IR check refuses it
            pz = segment(nm, "prox", n.prox, 0)
            m.d.comb += t.eq(Mux(pz > td, pz, td))
        else:
            m.d.comb += t.eq(td)
        r = Signal(p.B + ow, name=f"stage1_{n.index}", init=knone)
        with m.If(reg):
            m.d.sync += r.eq(t)
        nt.append(r)
    keeps = key_inhibit(m, nt, col.column_inhibition, ow, p.NONE, "keep")
    return [Mux(k, key_time(t, ow), p.NONE) for t, k in zip(nt, keeps, strict=True)]


def wire_columns(m: Module, p, spec, ip, column, en: Value, wload) -> list[Value]:
    """The columns of a layer stage whose columns read all their lines at once: ``column(c)``
    makes column ``c``'s component (its architecture's own inputs connected), which gets its
    lines from the input beat ``ip`` (layer inputs and this layer's proximal lines), the
    ``wload`` bus (register weights) and its ``enable`` bits from ``en`` (the proximal spike
    bits of the wave it decides). Returns every neuron's output time, column by column."""
    tb = p.TB_IN
    P = spec.prox_lines
    px = ip.prox_time[:P * tb] if P else Const(0, 1)
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
    """``T`` step cycles, :data:`ADD_STAGES` until the last step is accumulated, one to
    register the neuron times, one to decide and latch."""
    n = spec.steps + ADD_STAGES + 2
    return n, n


class ParallelLayerStage(wiring.Component):
    """A layer in the ``parallel`` architecture as a stream stage (module docstring)."""

    def __init__(self, plan, stage, ctx=None):
        self.plan, self.stage, self.spec = plan, stage, stage.spec
        members = {"i": In(stage.beat_in.signature()), "o": Out(stage.beat_out.signature())}
        if plan.weights == "register":
            members["wload"] = In(wload_signature(plan))
        super().__init__(members)

    def elaborate(self, platform):
        p, spec = self.plan, self.spec
        m = Module()
        ip = self.i.payload
        P = spec.prox_lines
        T = spec.steps
        tw = _bits(T - 1)
        # Phase 0: idle; a wave starts in a cycle with i.valid (c = 0: step 0 enters the
        # adder pipeline). Phase 1: c = 1 .. T - 1 + ADD_STAGES; steps c < T enter the
        # pipeline, step c - ADD_STAGES is accumulated. Phase 2: register the neuron times.
        # Phase 3: decide and latch (waits while the output register is full).
        D = ADD_STAGES
        last = T - 1 + D
        phase = Signal(2, name="phase")
        c = Signal(_bits(last), name="c")
        start = Signal(name="start")
        issue = Signal(name="issue")
        done = Signal(name="done")
        free = Signal(name="free")
        m.d.comb += [free.eq(~self.o.valid | self.o.ready),
                     start.eq((phase == 0) & self.i.valid),
                     issue.eq(start | ((phase == 1) & (c < T))),
                     done.eq((phase == 3) & free),
                     self.i.ready.eq(done)]
        with m.Switch(phase):
            with m.Case(0):
                with m.If(self.i.valid):
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
        for k in range(D):  # the same flags ADD_STAGES cycles later
            nt = Signal(tw, name=f"t_acc{k}")
            ne = Signal(name=f"acc_en{k}")
            nc = Signal(name=f"acc_clr{k}")
            m.d.sync += [nt.eq(t_acc), ne.eq(acc_en), nc.eq(acc_clr)]
            t_acc, acc_en, acc_clr = nt, ne, nc

        def column(c: ColumnSpec) -> ParallelColumn:
            col = ParallelColumn(p, c, tw)
            m.d.comb += [col.t.eq(step), col.t_acc.eq(t_acc), col.acc_en.eq(acc_en),
                         col.acc_clr.eq(acc_clr), col.reg.eq(phase == 2)]
            return col

        ps = ip.prox_spike[:P] if P else Const(0, 1)
        times = wire_columns(m, p, spec, ip, column, ps, getattr(self, "wload", None))
        output_register(m, p, spec, self.stage, times, done, self.i.payload, self.o.payload)
        return m


def build(plan, stage, ctx=None) -> ParallelLayerStage:
    return ParallelLayerStage(plan, stage, ctx)
