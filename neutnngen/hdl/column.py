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

M1 overshoot ties (``tie = overshoot``, docs/model.md §4): every segment also reports its
overshoot ``o = V(z) - theta`` and the decisions above compare *keys* ``Cat(~o, z)``
(:func:`overshoot_key`: earlier first, then the larger overshoot, then the lower index; all
ones = silent) wherever they compare times under ``wta1``/``kwta`` and when a neuron picks its
earliest dendrite; ``twta``/``none`` still compare times. With ``tie = lowest`` the key is the
time itself (``ow = 0``) and the logic is the v1 logic.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..ir.nodes import Inhibition, LearningRule, RandomSource
from ..ir.rng import stabilisation_table
from ..ir.stages.layer.state import H_LIMIT
from .plan import ColumnSpec, NeuronSpec, Plan, SegmentSpec
from .sched import sched_signature
from .segment import Segment

H_BITS = H_LIMIT.bit_length() + 1
"""Bits of an M5 win-rate counter (two's complement, ``-2**20 .. 2**20``)."""


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


def overshoot_key(m: Module, z: Value, o: Value | None, ow: int, none: int, name: str) -> Value:
    """A segment's M1 key: ``Cat(~o, z)`` (compares as the interpreter's
    ``z * KO + KO - 1 - o``: earlier first, then the larger overshoot), all ones when the
    segment is silent; the time ``z`` itself when ``ow == 0``."""
    if not ow:
        return z
    assert o is not None, "a segment with overshoot bits reports o"
    k = Signal(len(z) + ow, name=name)
    m.d.comb += k.eq(Mux(z == none, (1 << (len(z) + ow)) - 1, Cat(~o, z)))
    return k


def key_time(key: Value, ow: int) -> Value:
    """The time part of a key (the key itself when ``ow == 0``)."""
    return key[ow:] if ow else key


def key_inhibit(m: Module, keys: list[Value], inh: Inhibition, ow: int, none: int,
                name: str) -> list[Value]:
    """:func:`inhibit` under M1 ties: ``wta1``/``kwta`` rank by key, ``twta``/``none`` keep
    by time (docs/model.md §4)."""
    if ow and inh.policy in ("wta1", "kwta"):
        return inhibit(m, keys, inh, (1 << (len(keys[0]))) - 1, name)
    return inhibit(m, [key_time(k, ow) for k in keys], inh, none, name)


class LearnCtx:
    """Design-wide bookkeeping of a ``learn``-mode build, filled during elaboration (keys
    are IR paths): each learning column's :class:`ColumnLearn` (``col``), each learning
    segment's :class:`SegmentLearn` (``seg``), the generators (``rng``, ``layerK/colC/gG``),
    the weight registers (``regs[segment path][synapse name]``) and the read-out taps of
    every segment's weight multiplexer (``wq[seg_id]``, created by the top level)."""

    def __init__(self):
        self.col: dict[str, ColumnLearn] = {}
        self.seg: dict[str, SegmentLearn] = {}
        self.rng: dict[str, Rng] = {}
        self.regs: dict[str, dict[str, Signal]] = {}
        self.wq: dict[int, Signal] = {}


class _SegmentHost(wiring.Component):
    """Common ports of everything that contains segments: the streamed lane, the schedule
    and (register and learn modes) the weight-load bus, passed through to each segment."""

    def _members(self, plan: Plan) -> dict:
        d = {
            "sched": In(sched_signature(plan)),
            "lane_x": In(plan.G * plan.TB_IN),
            "lane_s": In(plan.G),
        }
        if plan.weights in ("register", "learn"):
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
    def __init__(self, plan: Plan, segs: tuple[SegmentSpec, ...], inh: Inhibition, ctx=None,
                 ow: int = 0):
        self.plan, self.segs, self.inh, self.ctx, self.ow = plan, segs, inh, ctx, ow
        members = self._members(plan)
        members["t"] = Out(plan.B + ow)  # the earliest segment's key (its time when ow = 0)
        members["won"] = Out(len(segs))  # segments surviving the segment inhibition
        super().__init__(members)

    def elaborate(self, platform):
        p = self.plan
        m = Module()
        ow = self.ow
        zs = []
        for s, spec in enumerate(self.segs):
            seg = Segment(p, spec, self.ctx, ow)
            self._attach(m, f"s{s}", seg)
            zs.append(overshoot_key(m, seg.z, seg.o if ow else None, ow, p.NONE, f"key{s}"))
        m.d.comb += self.t.eq(tree(zs, vmin))
        if len(zs) > 1:
            keeps = key_inhibit(m, zs, self.inh, ow, p.NONE, "won")
            m.d.comb += self.won.eq(Cat(*keeps))
        else:
            m.d.comb += self.won.eq(key_time(zs[0], ow) != p.NONE)
        return m


class Neuron(_SegmentHost):
    def __init__(self, plan: Plan, spec: NeuronSpec, col: ColumnSpec, ctx=None):
        self.plan, self.spec, self.colspec, self.ctx = plan, spec, col, ctx
        members = self._members(plan)
        members["en"] = In(1)  # enable mode: the neuron's proximal line
        self.ow = col.overshoot_bits(plan.weights)
        members["t"] = Out(plan.B + self.ow)  # the neuron's key (its time when ow = 0)
        super().__init__(members)

    def elaborate(self, platform):
        p = self.plan
        col = self.colspec.col
        m = Module()
        ds = []
        lrn = self.ctx.col.get(self.colspec.path) if self.ctx is not None else None
        ow = self.ow
        knone = (1 << (p.B + ow)) - 1
        for d, segs in enumerate(self.spec.dendrites):
            den = Dendrite(p, segs, col.segment_inhibition, self.ctx, ow)
            self._attach(m, f"d{d}", den)
            ds.append(den.t)
            if lrn is not None:  # the column's credit logic reads the dendrite's decisions
                key = (self.spec.index, d)
                m.d.comb += [lrn.dt[key].eq(den.t), lrn.dwon[key].eq(den.won)]
        td = Signal(p.B + ow, name="t_dend")
        m.d.comb += td.eq(tree(ds, vmin))
        mode = col.proximal_mode
        if mode == "enable":
            m.d.comb += self.t.eq(Mux(self.en, td, knone))
        elif mode == "gate":
            assert self.spec.prox is not None and not ow  # the IR check refuses it
            prox = Segment(p, self.spec.prox, self.ctx)
            self._attach(m, "prox", prox)
            if lrn is not None:
                m.d.comb += lrn.pz[self.spec.index].eq(prox.z)
            m.d.comb += self.t.eq(Mux(prox.z > td, prox.z, td))
        else:
            m.d.comb += self.t.eq(td)
        return m


class Column(_SegmentHost):
    def __init__(self, plan: Plan, spec: ColumnSpec, ctx=None, rule: LearningRule | None = None):
        self.plan, self.spec, self.ctx = plan, spec, ctx
        self.rule = rule if plan.weights == "learn" else None
        q = spec.col.neurons
        members = self._members(plan)
        members["en"] = In(q)
        for i in range(q):  # neuron i's time after inhibition, all ones = NONE
            members[f"t{i}"] = Out(plan.B)
        if self.rule is not None:
            members["lrn"] = In(1)  # this slot's wave learns in this layer
            members["lwe"] = In(1)  # learn-pass write cycle of a learning wave
            if self.rule.kind == "rstdp":
                members["label"] = In(max(1, plan.learn.LBW))
            if plan.learn.MSB:
                members["mus"] = In(plan.learn.MSB)  # M4: this wave's mu shift
        super().__init__(members)

    def elaborate(self, platform):
        p, spec = self.plan, self.spec
        m = Module()
        lrn = None
        if self.rule is not None:
            lrn = ColumnLearn(p, spec, self.rule, self.lwe)
            self.ctx.col[spec.path] = lrn
            lrn.register_segments(self.ctx)
        ow = spec.overshoot_bits(p.weights)
        nks = []
        for i, nspec in enumerate(spec.neurons):
            n = Neuron(p, nspec, spec, self.ctx)
            self._attach(m, f"n{i}", n)
            m.d.comb += n.en.eq(self.en[i])
            r = Signal(p.B + ow, name=f"t_n{i}", reset_less=True)  # stage 1 (key)
            m.d.sync += r.eq(n.t)
            nks.append(r)
        keeps = key_inhibit(m, nks, spec.col.column_inhibition, ow, p.NONE, "keep")
        nts = [key_time(k, ow) for k in nks]
        for i, (k, t) in enumerate(zip(keeps, nts, strict=True)):
            m.d.comb += getattr(self, f"t{i}").eq(Mux(k, t, p.NONE))
        if lrn is not None:
            lrn.elaborate_into(m, self, nts, keeps)
        return m


@dataclass
class SegmentLearn:
    """What a learning segment's update stage reads (see :mod:`neutnngen.hdl.segment`)."""

    zf: Signal  # registered: the segment counts as fired for STDP (credit policy)
    gen: Rng  # its generator (shared by the column with sharing = column)
    lwe: Value  # the layer's learn-pass write enable
    kind: str  # stdp | rstdp | targeted
    rz: Value  # R-STDP: nothing fired in the column (reward 0)
    rp: Value  # R-STDP: the column's winner is the label (reward +1)
    tmax: int = 7  # targeted (M3): the network's t_max_in, for the target tau(x)
    rule: LearningRule | None = None  # the layer's rule (M2 / M5 thresholds)
    h: Value | None = None  # M5: the win-rate counter H of the segment's neuron (signed)
    distal: bool = True  # a distal segment (a gate-mode proximal segment keeps its theta)

    @property
    def dynamic(self) -> bool:
        """The segment's threshold moves while it learns (M2 relative thresholds, M5
        win-rate counters; docs/model.md §5): :func:`~neutnngen.hdl.segment.dynamic_theta`."""
        r = self.rule
        return self.distal and r is not None and (r.theta == "relative"
                                                  or r.homeostasis == "winrate")


class ColumnLearn:
    """Learning logic of one column: its generators, the credited firing flag of every
    segment (``winner``: the segment survived its dendrite's inhibition, its dendrite was
    the neuron's earliest and the neuron is in the column's output volley; ``dendrite``:
    the segment survived its dendrite's inhibition; gate-mode proximal segments: the neuron
    is in the output volley / the proximal segment fired) and, for R-STDP, the reward."""

    def __init__(self, plan: Plan, spec: ColumnSpec, rule: LearningRule, lwe: Value,
                 stream_levels: bool = False):
        self.plan, self.spec, self.rule, self.lwe = plan, spec, rule, lwe
        col = spec.col
        q, D, S = col.neurons, col.dendrites, col.segments
        B = plan.B
        self.ow = spec.overshoot_bits(plan.weights)
        # each dendrite's key (its time when ow = 0): the neuron's earliest dendrite by key
        self.dt = {(i, d): Signal(B + self.ow, name=f"dt_n{i}_d{d}") for i in range(q)
                   for d in range(D)}
        self.dwon = {(i, d): Signal(S, name=f"won_n{i}_d{d}") for i in range(q)
                     for d in range(D)}
        self.pz = {i: Signal(B, name=f"pz_n{i}") for i in range(q)} \
            if col.proximal_mode == "gate" else {}
        self.rz = Signal(name="r_zero")
        self.rp = Signal(name="r_plus")
        rs = col.random
        assert rs is not None
        self.gens = [Rng(plan, rs, int(rs.seeds[g]), col.w_max, rule, stream_levels)
                     for g in range(col.n_generators())]
        # segments in generator order: row-major (neuron, dendrite, segment), then the
        # proximal segments of gate mode
        self.order: list[SegmentSpec] = [seg for n in spec.neurons for dd in n.dendrites
                                         for seg in dd]
        self.neuron_of = [n.index for n in spec.neurons for dd in n.dendrites for _ in dd]
        self.order += [n.prox for n in spec.neurons if n.prox is not None]
        self.zf = {seg.path: Signal(name=f"zf_{i}") for i, seg in enumerate(self.order)}
        # M5: one saturating win-rate counter per neuron (docs/model.md §5), 0 at reset
        self.H = [Signal(signed(H_BITS), name=f"hw_n{i}")
                  for i in range(q)] if rule.homeostasis == "winrate" else None

    def gen_of(self, k: int) -> Rng:
        return self.gens[0] if len(self.gens) == 1 else self.gens[k]

    def register_segments(self, ctx) -> None:
        for k, seg in enumerate(self.order):
            distal = k < len(self.neuron_of)
            h = self.H[self.neuron_of[k]] if distal and self.H is not None else None
            ctx.seg[seg.path] = SegmentLearn(self.zf[seg.path], self.gen_of(k), self.lwe,
                                             self.rule.kind, self.rz, self.rp,
                                             int(self.plan.net.time.t_max_in), self.rule,
                                             h, distal)
        for g, gen in enumerate(self.gens):
            ctx.rng[f"{self.spec.path}/g{g}"] = gen

    def elaborate_into(self, m: Module, colc, nts: list[Value], keeps: list[Value],
                       ctl=None, comb: bool = False) -> None:
        """The generators and the credit logic into the column's module ``m``. ``ctl``
        carries the random phase (``rstep``, ``rdraw``, ``rdone``, ``rdk``; the column's
        schedule bus by default); ``comb``: the credited flags and the reward follow
        ``keeps`` in the same cycle (the ``parallel`` architecture updates in its decision
        cycle) instead of one cycle later."""
        p, spec, rule = self.plan, self.spec, self.rule
        lp = p.learn
        col = spec.col
        D = col.dendrites
        NONE = p.NONE
        dcol = 5 + col.w_max + 1
        ctl = colc.sched if ctl is None else ctl
        dom = m.d.comb if comb else m.d.sync
        # generators: step while the random phase is on and this wave learns
        step = Signal(name="rng_step")
        done = Signal(name="rng_done")
        m.d.comb += step.eq(ctl.rstep & colc.lrn
                            & ((ctl.rdraw < dcol) if dcol < lp.D else 1))
        m.d.comb += done.eq(ctl.rdone & colc.lrn)
        done_oh = Signal(dcol, name="rng_done_k")
        for k in range(dcol):
            m.d.comb += done_oh[k].eq(done & (ctl.rdk == k))
        # the thresholds u of each draw (two comparisons per level draw: Fup, Fdown)
        ua = Signal(11, name="rng_ua")
        ub = Signal(11, name="rng_ub")
        u_up, u_down = stabilisation_table(col.w_max)
        mus = getattr(colc, "mus", None) if lp.MSB else None  # M4: mu >> the wave's shift
        with m.Switch(ctl.rdk):
            for k in range(dcol):
                with m.Case(k):
                    if k < 4 and mus is not None:
                        m.d.comb += [ua.eq(Const(rule.mus()[k], 11) >> mus), ub.eq(0)]
                    elif k < 5:
                        m.d.comb += [ua.eq(rule.mus()[k]), ub.eq(0)]
                    else:
                        m.d.comb += [ua.eq(int(u_up[k - 5])), ub.eq(int(u_down[k - 5]))]
        for g, gen in enumerate(self.gens):
            m.submodules[f"g{g}"] = gen
            m.d.comb += [gen.step.eq(step), gen.done.eq(done_oh), gen.ua.eq(ua),
                         gen.ub.eq(ub)]

        # credited firing flags
        for i, nspec in enumerate(spec.neurons):
            dsel = [Const(1, 1)] * D
            if rule.credit == "winner" and D > 1:
                dsel = []
                for d in range(D):
                    t = self.dt[(i, d)]
                    c = t != (1 << len(t)) - 1
                    for e in range(D):
                        if e < d:
                            c = c & (t < self.dt[(i, e)])
                        elif e > d:
                            c = c & (t <= self.dt[(i, e)])
                    sd = Signal(name=f"dsel_n{i}_d{d}")
                    m.d.comb += sd.eq(c)
                    dsel.append(sd)
            for d, segs in enumerate(nspec.dendrites):
                for s, seg in enumerate(segs):
                    won = self.dwon[(i, d)][s]
                    if rule.credit == "winner":
                        dom += self.zf[seg.path].eq(keeps[i] & dsel[d] & won)
                    else:
                        dom += self.zf[seg.path].eq(won)
            if nspec.prox is not None:
                fired = self.pz[i] != NONE
                if rule.credit == "winner":
                    fired = fired & keeps[i]
                dom += self.zf[nspec.prox.path].eq(fired)

        if self.H is not None:
            self._winrate(m, keeps, comb, getattr(ctl, "lw_norm", None))

        # R-STDP reward: the column's earliest output neuron (lowest index on ties)
        if rule.kind == "rstdp":
            outs = [Mux(k, t, NONE) for k, t in zip(keeps, nts, strict=True)]
            win = inhibit(m, outs, Inhibition("wta1"), NONE, "rwin")
            hit = Const(0, 1)
            for i, wi in enumerate(win):
                hit = hit | (wi & (colc.label == i))
            dom += [self.rp.eq(hit), self.rz.eq(~Cat(*keeps).any())]


    def _winrate(self, m: Module, keeps: list[Value], comb: bool,
                 nrm: Value | None) -> None:
        """M5: once per learning wave, ``H_i -= a`` for every neuron and ``H_i += q * a``
        for each neuron in the column's output volley, saturated to ``+-2**20``. The step
        is the wave's learn-write cycle (``comb``, parallel) or the first cycle of its
        learn-pass writes (serial, not again in an M8 norm pass ``nrm``), where ``keeps``
        hold the wave's decision."""
        a, q = self.rule.h_step, self.spec.col.neurons
        step = Signal(name="hw_step")
        if comb:
            m.d.comb += step.eq(self.lwe)
        else:
            prev = Signal(name="hw_lwe_d")
            m.d.sync += prev.eq(self.lwe)
            first = self.lwe & ~prev
            m.d.comb += step.eq(first if nrm is None else first & ~nrm)
        up, down = Const((q - 1) * a), Const(-a, signed(max(2, a.bit_length() + 1)))
        width = max(len(self.H[0]), len(up) + 1) + 1
        for i, h in enumerate(self.H):
            nxt = Signal(signed(width), name=f"hw_next{i}")
            m.d.comb += nxt.eq(h + Mux(keeps[i], up, down))
            with m.If(step):
                m.d.sync += h.eq(Mux(nxt > H_LIMIT, H_LIMIT,
                                     Mux(nxt < -H_LIMIT, -H_LIMIT, nxt)))


class Rng(wiring.Component):
    """One generator of the IR's :class:`~neutnngen.ir.nodes.RandomSource`: a Fibonacci
    LFSR (``state``, reset to its seed; ``U`` steps per cycle while ``step``) and the
    Bernoulli bits of the last learning wave, latched when draw ``k`` completes
    (``done[k]``) by comparing its 10 low bits with the thresholds ``ua`` / ``ub``:

    * ``bc, bm, bs, bb, bmin``: ``B(mu)`` of draws 0..4 (capture, minus, search, backoff,
      min);
    * per weight level ``w`` (draw ``5 + w``), precombined for the update stage:
      ``cu[w] = bc & (bmin | Fup(w))`` (``w < w_max``), ``dm[w] = bm & (bmin | Fdown(w))``,
      ``db[w] = bb & (bmin | Fdown(w))`` and (R-STDP) ``dc[w] = bc & (bmin | Fdown(w))``
      (``w > 0``); the other bits are 0 (the clamp);
    * targeted rule (M3): ``bc``, ``bm``, ``bb`` themselves (no ``Fup``/``Fdown``/``mu_min``;
      the level draws are still made, so the draw schedule is the same).

    ``stream_levels`` (the ``parallel`` architecture, where every synapse looks up its
    level at once) replaces the latched level vectors by the level draws as they complete:
    ``lv`` (a level draw completes this cycle), ``lk`` (its level ``w``), ``fu = bmin |
    Fup(w)`` (0 at ``w_max``) and ``fd = bmin | Fdown(w)`` (0 at 0) of that draw, with
    ``bc``, ``bm``, ``bb``; each synapse latches the pair of its own level (so ``cu[w] = bc
    & fu``, ``dm[w] = bm & fd``, ``db[w] = bb & fd``, ``dc[w] = bc & fd``).
    """

    def __init__(self, plan: Plan, rs: RandomSource, seed: int, w_max: int,
                 rule: LearningRule, stream_levels: bool = False):
        self.plan, self.rs, self.seed, self.w_max, self.rule = plan, rs, seed, w_max, rule
        n = w_max + 1
        self.stream_levels = stream_levels and rule.kind != "targeted"
        raw = {"bc": Out(1), "bm": Out(1), "bb": Out(1)} \
            if rule.kind == "targeted" or self.stream_levels else {}
        if self.stream_levels:
            levels = {"lv": Out(1), "lk": Out(range(n)), "fu": Out(1), "fd": Out(1)}
        else:
            levels = {"cu": Out(n), "dm": Out(n), "db": Out(n), "dc": Out(n)}
        super().__init__({
            "step": In(1), "done": In(5 + n), "ua": In(11), "ub": In(11),
            "bs": Out(1), **levels, **raw,
        })

    def elaborate(self, platform):
        rs = self.rs
        lp = self.plan.learn
        m = Module()
        width = rs.width
        state = self.state = Signal(width, init=self.seed, name="state")
        rows = lfsr_matrix(width, rs.tapmask, lp.U)
        nxt = Cat(*[_parity(state, rows[i]) for i in range(width)])
        with m.If(self.step):
            m.d.sync += state.eq(nxt)
        draw = state[:rs.draw_bits]
        lta = Signal(name="lt_a")
        ltb = Signal(name="lt_b")
        m.d.comb += [lta.eq(draw < self.ua), ltb.eq(draw < self.ub)]
        mu = {}
        for k, name in enumerate(("bc", "bm", "bs_r", "bb", "bmin")):
            r = Signal(name=name, reset_less=True)
            with m.If(self.done[k]):
                m.d.sync += r.eq(lta)
            mu[name] = r
        m.d.comb += self.bs.eq(mu["bs_r"])
        if self.rule.kind == "targeted" or self.stream_levels:
            m.d.comb += [self.bc.eq(mu["bc"]), self.bm.eq(mu["bm"]), self.bb.eq(mu["bb"])]
        bmin = mu["bmin"]
        wm = self.w_max
        if self.stream_levels:
            lvl = self.done[5:]
            m.d.comb += [
                self.lv.eq(lvl.any()),
                self.lk.eq(Cat(*[Cat(*[lvl[w] for w in range(wm + 1) if (w >> b) & 1]).any()
                                 for b in range(len(self.lk))])),
                self.fu.eq((bmin | lta) & ~lvl[wm]),
                self.fd.eq((bmin | ltb) & ~lvl[0]),
            ]
            return m
        for w in range(wm + 1 if self.rule.kind != "targeted" else 0):
            k = 5 + w
            vecs = [("cu", mu["bc"], lta, w < wm), ("dm", mu["bm"], ltb, w > 0),
                    ("db", mu["bb"], ltb, w > 0)]
            if self.rule.kind == "rstdp":
                vecs.append(("dc", mu["bc"], ltb, w > 0))
            for name, b, lt, used in vecs:
                if not used:
                    continue
                r = Signal(name=f"{name}{w}", reset_less=True)
                with m.If(self.done[k]):
                    m.d.sync += r.eq(b & (bmin | lt))
                m.d.comb += getattr(self, name)[w].eq(r)
        return m


def lfsr_matrix(width: int, tapmask: int, steps: int) -> list[int]:
    """Row ``i``: the mask of state bits whose parity is bit ``i`` after ``steps`` Fibonacci
    steps (``fb = parity(state & tapmask)``, ``state = (state << 1) | fb``)."""
    rows = [1 << i for i in range(width)]  # identity: bit i = state bit i
    for _ in range(steps):
        fb = 0
        for t in range(width):
            if (tapmask >> t) & 1:
                fb ^= rows[t]
        rows = [fb] + rows[:-1]
    return rows


def _parity(v: Value, mask: int) -> Value:
    bits = [v[i] for i in range(len(v)) if (mask >> i) & 1]
    if not bits:
        return Const(0, 1)
    return Cat(*bits).xor()
