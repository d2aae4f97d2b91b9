"""Stage kind ``layer``: a TNN column layer as a stream stage.

Planner (:func:`plan`): the layer's columns, neurons, segments and synapses as static specs
(:class:`~neutnngen.hdl.plan.LayerSpec`). Component (:class:`LayerStage`): its own
:class:`~neutnngen.hdl.sched.Sequencer`, the kernel wiring, one line multiplexer per distinct
line list (columns with the same lines share one), the columns, the output conversion (fused
transforms such as ``retime``, cut to ``TB_IN`` bits, or ``TB_OUT`` for the last layer whose
silent neurons read time 0) and the output register.

Stream behaviour (``docs/rtl-contract.md``): the stage starts a wave in a cycle in which it
is idle and ``i.valid`` is high, reads ``i.payload`` (volley and its own sidebands) while it
works, and in its last cycle latches the result into the output register when that is
empty or being read (``~o.valid | o.ready``); that cycle raises ``i.ready`` (the input is
released) and the internal ``done`` pulse. Otherwise it waits in its last cycle. ``o.valid``
is "the output register is full".
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..column import H_BITS, Column
from ..kinds import HdlKind
from ..mux import LineMux
from ..plan import ColumnSpec, LayerSpec, NeuronSpec, PlanContext, SegmentSpec, SynapseSpec
from ..sched import Sequencer, wload_signature
from .labels import learning_inputs
from .output import output_register


# ---------------------------------------------------------------------------- planner
def plan(layer, ctx: PlanContext) -> LayerSpec:
    """Static spec of IR layer ``layer`` (advances the context's layer index, proximal
    offset and global segment numbering)."""
    k = ctx.layer
    ts = ctx.net.time
    cols: list[ColumnSpec] = []
    lp = 0
    for c, col in enumerate(layer.columns):
        ins = [("in", int(i)) for i in layer.column_inputs(c)]
        P = col.proximal_inputs
        mode = col.proximal_mode
        prox_lines = [("prox", lp + i) for i in range(P)] if mode in ("sum", "gate") else []
        lines = tuple(ins + prox_lines)
        N = len(ins)
        neurons = []
        for i in range(col.neurons):
            dends = []
            for d in range(col.dendrites):
                ss = []
                for s in range(col.segments):
                    syn = []
                    for j in range(N):
                        if col.distal.mask[i, d, s, j]:
                            syn.append(SynapseSpec(j, int(col.distal.weights[i, d, s, j]),
                                                   col.distal.wres, f"w{j}"))
                    if mode == "sum" and col.proximal is not None and P:
                        for j in range(P):
                            if col.proximal.mask[i, d, s, j]:
                                syn.append(SynapseSpec(
                                    N + j, int(col.proximal.weights[i, d, s, j]),
                                    col.proximal.wres, f"p{j}"))
                    ss.append(_segment(ctx, f"layer{k}/col{c}/n{i}/d{d}/s{s}",
                                       int(col.theta[i, d, s]), syn))
                dends.append(tuple(ss))
            neurons.append([tuple(dends), None, lp + i if mode == "enable" else None])
        if mode == "gate":
            assert col.proximal is not None and col.proximal_theta is not None
            for i in range(col.neurons):
                syn = [SynapseSpec(N + j, int(col.proximal.weights[i, j]), col.proximal.wres,
                                   f"p{j}")
                       for j in range(P) if col.proximal.mask[i, j]]
                neurons[i][1] = _segment(ctx, f"layer{k}/col{c}/n{i}/prox",
                                         int(col.proximal_theta[i]), syn)
        cols.append(ColumnSpec(c, col, lines,
                               tuple(NeuronSpec(i, *n) for i, n in enumerate(neurons)),
                               col.wave_length(ts), f"layer{k}/col{c}"))
        lp += P
    spec = LayerSpec(k, layer, tuple(cols), ctx.prox_offset, lp)
    ctx.layer += 1
    ctx.prox_offset += lp
    return spec


def _segment(ctx: PlanContext, path: str, theta: int, syn: list) -> SegmentSpec:
    spec = SegmentSpec(path, path.replace("/", "."), theta, tuple(syn), ctx.seg_id)
    ctx.seg_id += 1
    ctx.segments.append(spec)
    return spec


def timing(plan, spec: LayerSpec) -> tuple[int, int]:
    """A serial layer takes one slot per wave and answers one slot after it starts."""
    if plan.architecture == "parallel":
        from .parallel import timing as parallel_timing

        return parallel_timing(plan, spec)
    if plan.architecture == "pipelined":
        from .pipelined import timing as pipelined_timing

        return pipelined_timing(plan, spec)
    return plan.SLOT, plan.SLOT


# ---------------------------------------------------------------------------- names.json
def _weight_signal(plan, seg, syn, mem: bool) -> str:
    """Hierarchical RTL name of a synapse's weight: its register, or (``mem``:
    ``plan.memory_store(seg)``) the memory word that holds it
    (:class:`neutnngen.hdl.segment.MemoryStore`)."""
    if mem:
        sfx = "" if plan.G == 1 else f"_l{syn.j % plan.G}"
        return f"{seg.rtl}.wmem{sfx}[{syn.j // plan.G}]"
    return f"{seg.rtl}.{syn.name}"


def names(plan, spec: LayerSpec) -> dict:
    """What the verifier can observe of the layer (schema: ``docs/rtl-contract.md``)."""
    segs = [s for s in plan.segments if s.path.startswith(f"{spec.rtl}/")]
    doc: dict = {"signals": {s.path: f"{s.rtl}.acc" for s in segs},
                 "times": {s.path: f"{s.rtl}.z" for s in segs},
                 "stage": {"layer": spec.index, "done": f"{spec.rtl}.done"}}
    if spec.last:
        outputs, bit = {}, 0
        for c in spec.columns:
            for n in c.neurons:
                outputs[f"{c.path}/n{n.index}"] = {"bit": bit}
                bit += 1
        doc["outputs"] = outputs
    if plan.weights in ("register", "learn"):
        mem = {s.path: plan.memory_store(s) for s in segs}
        doc["weights"] = {f"{s.path}/{syn.name}": {"addr": plan.address(s, syn),
                                                   "signal": _weight_signal(plan, s, syn,
                                                                            mem[s.path]),
                                                   "bits": syn.bits, "init": syn.weight}
                          for s in segs for syn in s.synapses}
    if plan.learn is not None and spec.layer.learning is not None:
        rng = {}
        for c in spec.columns:
            rs = c.col.random
            for g in range(c.col.n_generators()):
                rng[f"{c.path}/g{g}"] = {"signal": f"{c.path.replace('/', '.')}.g{g}.state",
                                         "bits": int(rs.width), "seed": int(rs.seeds[g])}
        doc["rng"] = rng
        if spec.layer.learning.homeostasis == "winrate":  # M5 counters (signed, 22 bits)
            doc["homeostasis"] = {
                f"{c.path}/h{i}": {"signal": f"{c.path.replace('/', '.')}.hw_n{i}",
                                   "bits": H_BITS}
                for c in spec.columns for i in range(c.col.neurons)}
    return doc


# ---------------------------------------------------------------------------- component
class LayerStage(wiring.Component):
    """A layer as a stream stage (module docstring). Side ports: ``wload`` (``register``
    and ``learn`` modes); in ``learn`` mode ``lw_busy`` (a learn-pass write cycle of a wave
    this layer learns: the top drops ``wload`` writes then), ``rd_req`` / ``rd_line``
    (serve a ``wread`` read: select this line in the next cycle if the stage is idle then)
    and ``rd_sel`` (this cycle's line select serves a read).

    In ``learn`` mode the wave learns in this layer (``lrn_eff``) when its ``learn_en`` is
    set, the layer has a rule, and for R-STDP the wave has a valid label. While a labelled
    wave learns, an ``enable`` column's lines are the label's one-hot code and the layer's
    other proximal lines are silent (:func:`neutnngen.ir.interp.label_proximal`)."""

    def __init__(self, plan, stage, ctx=None):
        self.plan, self.stage, self.spec, self.ctx = plan, stage, stage.spec, ctx
        members = {"i": In(stage.beat_in.signature()), "o": Out(stage.beat_out.signature())}
        if plan.weights in ("register", "learn"):
            members["wload"] = In(wload_signature(plan))
        if plan.learn is not None:
            members.update({"lw_busy": Out(1), "rd_req": In(1), "rd_line": In(plan.LBA),
                            "rd_sel": Out(1)})
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
        p, spec, stage = self.plan, self.spec, self.stage
        bi = stage.beat_in
        m = Module()
        tb = p.TB_IN
        N, P = spec.inputs, spec.prox_lines
        ip, op = self.i.payload, self.o.payload

        seq = Sequencer(p)
        m.submodules.seq = seq
        sched = seq.sched
        done = Signal(name="done")  # the result is latched: input released, output full
        m.d.comb += [seq.valid.eq(self.i.valid), seq.free.eq(~self.o.valid | self.o.ready),
                     done.eq(seq.done), self.i.ready.eq(done)]
        with m.If(done):
            m.d.sync += self.o.valid.eq(1)
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        x: Value = ip.time
        s: Value = ip.spike
        px: Value = ip.prox_time[:P * tb] if P else Const(0, 1)
        ps: Value = ip.prox_spike[:P] if P else Const(0, 1)

        lp = p.learn
        rule = spec.layer.learning if lp is not None else None
        if lp is not None:
            lrn_eff, lab, ps = learning_inputs(
                m, p, spec, bi, ip, ps,
                lambda lrn_eff: [seq.lrn.eq(lrn_eff), self.lw_busy.eq(sched.lw_v),
                                 seq.rd_req.eq(self.rd_req), seq.rd_line.eq(self.rd_line),
                                 self.rd_sel.eq(seq.rd_sel)])

        # One line multiplexer per distinct line list.
        groups: dict[tuple, list[int]] = {}
        for c in spec.columns:
            groups.setdefault(c.lines, []).append(c.index)
        lanes: dict[int, LineMux] = {}
        for lines, cols in groups.items():
            used: set[int] = set()
            for c in cols:
                used |= self._used_lines(spec.columns[c])
            mux = LineMux(lines, used, N, P, tb, p.SW, p.R, p.Lm, p.G)
            m.submodules[f"mux{cols[0]}"] = mux
            for k in range(p.Lm):
                m.d.comb += getattr(mux, f"sel{k}").eq(getattr(sched, f"sel{k}"))
            m.d.comb += [mux.x.eq(x), mux.s.eq(s), mux.px.eq(px), mux.ps.eq(ps)]
            for c in cols:
                lanes[c] = mux

        times: list[Value] = []
        for c in spec.columns:
            col = Column(p, c, self.ctx, rule)
            m.submodules[f"col{c.index}"] = col
            wiring.connect(m, sched, col.sched)
            if p.weights in ("register", "learn"):
                wiring.connect(m, wiring.flipped(self.wload), col.wload)
            if rule is not None:
                lwe = sched.lw_v
                if lp.NORM and not rule.w_norm:  # no norm pass in this layer (M8 is off)
                    lwe = sched.lw_v & ~sched.lw_norm
                m.d.comb += [col.lrn.eq(lrn_eff), col.lwe.eq(lwe)]
                if rule.kind == "rstdp":
                    m.d.comb += col.label.eq(lab)
                if lp.MSB:
                    m.d.comb += col.mus.eq(ip.mu_shift)
            mux = lanes[c.index]
            m.d.comb += [col.lane_x.eq(mux.lane_x), col.lane_s.eq(mux.lane_s)]
            for n in c.neurons:
                if n.enable_line is not None:
                    m.d.comb += col.en[n.index].eq(ps[n.enable_line])
            for i in range(c.col.neurons):
                times.append(getattr(col, f"t{i}"))

        output_register(m, p, spec, stage, times, done, ip, op)
        return m


def build(plan, stage, ctx=None) -> wiring.Component:
    if plan.architecture == "parallel":
        from .parallel import ParallelLayerStage

        return ParallelLayerStage(plan, stage, ctx)
    if plan.architecture == "pipelined":
        from .pipelined import PipelinedLayerStage

        return PipelinedLayerStage(plan, stage, ctx)
    return LayerStage(plan, stage, ctx)


KIND = HdlKind("layer", plan=plan, timing=timing, build=build, names=names)
