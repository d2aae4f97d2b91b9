"""The static plan of a generated design: everything the HDL components need, derived once
from a verified IR, in plain Python (no Amaranth here).

Microarchitecture (see ``docs`` in :mod:`neutnngen.hdl`): every segment finds its first
crossing time ``z = min{t : V(t) >= theta}`` by *successive approximation* over ``B``
passes (``B = T_max.bit_length()``). Pass ``b`` evaluates ``V(p)`` at one probe time ``p``
(``p + 1 = z_hi | 2**b``) by streaming the column's lines one per cycle through a shared,
pipelined line multiplexer and adding each synapse's response ``r_j(p)`` into a small
accumulator that starts at ``-theta``; the carry out says ``V(p) >= theta``. ``V`` is
monotone in ``t``, so ``B`` passes give the exact first-crossing time, and the all-ones
value ``2**B - 1`` (never a valid time, since ``2**B > T_max``) means NONE.

With ``lanes = G`` (option, default 1) a column streams ``G`` lines per cycle (line ``j`` in
lane ``j % G`` at step ``j // G``): every segment then has ``G`` response units and an adder
of their ``G`` responses; a pass takes ``JS = ceil(J / G)`` steps.

With more than one lane, each lane's response is registered before the lanes are added
(``RD = 2`` cycles from the response stage to the accumulator instead of 1).

Pass length ``PL = JS + RD + 1`` cycles (``J`` = most lines of any column), then
``E = Lm + 2`` cycles to settle the last pass and the inhibition stages, so a layer stage
spends ``SLOT = B * PL + E`` cycles on a wave (``learn`` mode adds the wait and learn-pass
cycles, :class:`LearnPlan`).

The stages (one per IR stage, lowered by the kind registry :mod:`neutnngen.hdl.kinds`) each
run their own sequencer with these parameters and are joined by valid/ready streams; the
top's ``WAVE_CYCLES`` and ``LATENCY`` are computed from the stages' timings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import ConfigError
from ..ir import check
from ..ir.kinds import kind_of
from ..ir.nodes import Network
from .specs import (  # noqa: F401 (re-exported: the plan's records)
    ColumnSpec,
    LayerSpec,
    NeuronSpec,
    PlanContext,
    SegmentSpec,
    StageSpec,
    SynapseSpec,
)
from .stream import Beat

MU_SHIFT_MAX_BITS = 4
"""Widest ``mu_shift`` port (M4): shifts up to 15, past the 11 bits of a ``mu``."""

WEIGHT_MODES = ("hardwired", "register", "learn")
"""Weight modes this generator builds: ``hardwired`` (constants), ``register`` (loadable
registers) and ``learn`` (registers updated on chip by STDP after every learning wave: a
read-modify-write pass over the same line schedule, see :class:`LearnPlan`)."""

PLANNED_WEIGHT_MODES: tuple[str, ...] = ()

ARCHITECTURES = ("serial", "parallel", "pipelined")
"""How a layer stage computes a wave: ``serial`` (one input line per cycle, a
successive-approximation search over the time bits; smallest), ``parallel`` (every
synapse every time step, one step per cycle: ``T + 4`` cycles a wave) or ``pipelined``
(every step of every synapse at once: a new wave every cycle); ``parallel`` builds all
three weight modes (``learn``: ``T + 2`` cycles, every synapse updated at once at the wave's
end), ``pipelined`` hardwired and register weights."""

WEIGHT_STORE_CHOICES = ("registers", "memory", "auto")
"""Where a ``serial`` design keeps its ``register`` / ``learn`` weights: ``registers`` (one
register per present synapse, a multiplexer tree reads the streamed line), ``memory`` (one
1-read/1-write memory per segment, address = line, initialised with the trained weights:
maps to block RAM) or ``auto`` (``memory`` from :data:`AUTO_MEMORY_SYNAPSES` present
synapses in the design, else ``registers``). Hardwired weights ignore it."""

AUTO_MEMORY_SYNAPSES = 4096
"""``weight_store = "auto"`` picks ``memory`` for designs with at least this many present
synapses (below it the register store elaborates in seconds and needs no block RAM)."""

PARALLEL_ADD_STAGES = 2


def parallel_add_stages(weights: str) -> int:
    """Pipeline registers in a ``parallel`` segment's increment adder: :data:`PARALLEL_ADD_STAGES`
    (group sums, total), none in ``learn`` mode, whose wave must fit ``T + 2`` cycles
    (the adder then feeds the accumulator in the cycle of its step)."""
    return 0 if weights == "learn" else PARALLEL_ADD_STAGES


def prefix_levels(steps: int) -> int:
    """Register levels of the ``pipelined`` architecture's Kogge-Stone prefix sum over
    ``steps`` time steps."""
    return max(0, (steps - 1).bit_length())


def pipelined_counts(plan) -> bool:
    """Whether the ``pipelined`` segments of ``plan`` count arrivals per weight class
    (hardwired ``rnl`` weights only): ``2**TB_IN`` counted bits per synapse plus, per step,
    two class counts per weight class, against one ramp term per (step, synapse) summed
    directly. Decided for the whole design (every segment then has the same levels) by the
    adder input bits of both ways, summed over its segments: trained STDP weights that sit at
    0 and ``w_max`` (one class) count; random weights of many classes sum."""
    if plan.weights != "hardwired" or plan.net.time.response != "rnl":
        return False
    n_x = 1 << plan.TB_IN
    counted = summed = 0
    for ls in plan.layers:
        T = ls.steps
        for c in ls.columns:
            for n in c.neurons:
                for seg in [s for d in n.dendrites for s in d] + ([n.prox] if n.prox else []):
                    ws = [s.weight for s in seg.synapses if s.weight]
                    summed += sum(min(T, n_x - 1 + w) for w in ws)
                    classes = {w: ws.count(w) for w in set(ws)}
                    counted += n_x * len(ws) + sum(
                        (1 + (t >= w)) * max(1, cnt.bit_length())
                        for t in range(T) for w, cnt in classes.items())
    return counted < summed


def pipelined_add_stages(plan) -> int:
    """Levels of a ``pipelined`` segment before its prefix sum: the grouped increment sums and
    their totals (:data:`PARALLEL_ADD_STAGES`), or, where :func:`pipelined_counts`, the
    comparisons ``x_j <= k``, their grouped counts per weight class, the totals
    ``#{j : x_j <= k}`` and the increments computed from them (4)."""
    return 4 if pipelined_counts(plan) else PARALLEL_ADD_STAGES


def pipelined_latency(steps: int, add_stages: int = PARALLEL_ADD_STAGES) -> int:
    """Pipeline levels of a ``pipelined`` layer: ``add_stages``
    (:func:`pipelined_add_stages`), the prefix sum, the first crossing, the neuron keys, the
    decision with the output register."""
    return add_stages + prefix_levels(steps) + 3
"""``parallel``: pipeline registers in a segment's increment adder (group sums, total)."""

DEFAULT_MUX_LEVELS = 5
"""2:1 multiplexer levels between pipeline registers in a line multiplexer (iCE40 Fmax)."""


def check_weights_mode(weights: object) -> str:
    if weights in WEIGHT_MODES:
        return str(weights)
    if weights in PLANNED_WEIGHT_MODES:
        raise ConfigError(
            f"weights={weights!r} is not implemented yet; accepted: {', '.join(WEIGHT_MODES)}"
        )
    raise ConfigError(f"unknown weights={weights!r}; accepted: {', '.join(WEIGHT_MODES)}")


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise ConfigError(
            f"bad top-level name {name!r}: expected a Verilog identifier "
            "(letters, digits, '_', not starting with a digit or '_')"
        )
    return name


@dataclass(frozen=True)
class LearnPlan:
    """Timing of on-chip learning (``weights = "learn"``).

    A learning slot adds, after the ``B`` search passes and the ``E`` decision cycles, ``W``
    wait cycles (only when the random phase would not be done otherwise) and one *learn
    pass* of ``LL = JS + Lm + 1`` cycles: line ``j`` is selected at learn cycle ``j``, its
    input time and weight reach the update stage ``Lm`` cycles later, the increment /
    decrement bits are registered and the new weight is written one cycle after that.

    The random phase runs from cycle 1 of every slot: each generator makes ``D`` draws of
    ``SPD`` LFSR steps, ``U`` steps per clock cycle (``CPD = SPD / U`` cycles per draw,
    ``NR = D * CPD`` cycles), and latches its Bernoulli bits at the end of each draw.
    """

    U: int  # LFSR steps per clock cycle
    SPD: int  # LFSR steps per draw (RandomSource.steps_per_draw, one value per design)
    CPD: int  # cycles per draw
    D: int  # draws per learning wave (largest of any learning column: 5 + w_max + 1)
    NR: int  # cycles of the random phase
    W: int  # wait cycles between the decision and the learn pass
    LL: int  # learn pass cycles
    LBW: int  # bits of the label port (0: no label ports)
    label_layers: tuple[int, ...]  # layers that read the label (R-STDP or enable gating)
    RS: int  # pipeline stages of the read-out segment multiplexer
    RL: int  # wread latency (cycles from wread_addr to wread_data)
    MSB: int = 0  # bits of the mu_shift port (M4 schedule; 0: no port, the mu as in the IR)
    NORM: bool = False  # a second (norm) pass of LL cycles after the learn pass (M8 budget)

    @property
    def SWEEP(self) -> int:
        """Cycles of the ``parallel`` architecture's weight-budget level sweep (M8) after a
        learning wave's update: one to latch the sums, one per level ``1 .. w_max``."""
        return self.D - 5


@dataclass(frozen=True)
class Plan:
    net: Network
    weights: str
    name: str
    T: int  # longest wave of any column
    B: int  # SAR passes = bits of a segment time register (all ones = NONE)
    TB_IN: int
    TB_OUT: int
    J: int  # most lines of any column
    G: int  # lanes: lines streamed per cycle
    JS: int  # steps per pass = ceil(J / G)
    SW: int  # bits of the step counter
    R: int  # mux levels per pipeline stage
    Lm: int  # mux latency (cycles)
    RD: int  # cycles from the response stage to the accumulator (1; 2 with lanes)
    PL: int  # pass length
    E: int  # decision cycles after the last pass
    layers: tuple[LayerSpec, ...]
    N_PROX: int
    LBA: int  # address bits of the line field (register mode)
    SBA: int  # address bits of the segment field (register mode)
    WB: int  # wload_data bits
    segments: tuple[SegmentSpec, ...] = field(default=())
    learn: LearnPlan | None = None  # weights == "learn" only
    stages: tuple[StageSpec, ...] = field(default=())  # every IR stage, in order
    architecture: str = "serial"  # of the layer stages (ARCHITECTURES)
    weight_store: str = "registers"  # registers | memory (resolved, WEIGHT_STORE_CHOICES)

    @property
    def NONE(self) -> int:
        return (1 << self.B) - 1

    @property
    def SLOT(self) -> int:
        """Cycles a layer stage spends on one wave (search passes, decision and, in
        ``learn`` mode, the wait and learn-pass cycles)."""
        if self.learn is not None:
            lp = self.learn
            return self.B * self.PL + self.E + lp.W + lp.LL * (2 if lp.NORM else 1)
        return self.B * self.PL + self.E

    @property
    def built(self) -> tuple[StageSpec, ...]:
        """The stages that are components of the top, in stream order."""
        return tuple(st for st in self.stages if st.rtl is not None)

    def _timings(self) -> list[tuple[int, int]]:
        from .kinds import hdl_kind

        return [hdl_kind(st.kind).timing(self, st.spec) for st in self.built]

    @property
    def WAVE_CYCLES(self) -> int:
        """Initiation interval at full rate: the slowest stage's."""
        return max(ii for ii, _ in self._timings())

    @property
    def L(self) -> int:
        return len(self.layers)

    @property
    def proximal_enable(self) -> tuple[bool, ...]:
        """Per line of the top's proximal port (``N_PROX``, layer by layer from each
        layer's ``prox_offset``, its columns in order): whether it carries an ``enable``
        bit (the spike bit is the enable, the time is ignored) rather than a spike time."""
        out = [False] * self.N_PROX
        for ls in self.layers:
            off = ls.prox_offset
            for c in ls.columns:
                P = c.col.proximal_inputs
                if c.col.proximal_mode == "enable":
                    out[off:off + P] = [True] * P
                off += P
        return tuple(out)

    @property
    def LATENCY(self) -> int:
        """Cycles from the first cycle of ``in_valid`` on an idle design to ``out_valid``
        (``out_ready`` high): the sum of the stages' latencies."""
        return sum(lat for _, lat in self._timings())

    @property
    def A(self) -> int:
        return self.SBA + self.LBA

    def memory_store(self, seg: SegmentSpec) -> bool:
        """Whether segment ``seg`` keeps its weights in a memory: ``weight_store ==
        "memory"`` and all its synapses have the same weight bits (a memory word has one
        width; a segment mixing banks of different ``wres`` keeps registers)."""
        if self.weight_store != "memory" or not seg.synapses:
            return False
        wb = seg.wbits
        return all(s.bits == wb for s in seg.synapses)

    def address(self, seg: SegmentSpec, syn: SynapseSpec) -> int:
        return (seg.seg_id << self.LBA) | syn.j

    def info(self) -> dict:
        net = self.net
        d = {
            "name": self.name,
            "N_IN": net.inputs,
            "TB_IN": self.TB_IN,
            "N_OUT": net.outputs,
            "TB_OUT": self.TB_OUT,
            "N_PROX": self.N_PROX,
            "TB_PROX": self.TB_IN,
            "L": self.L,
            "WAVE_CYCLES": self.WAVE_CYCLES,
            "LATENCY": self.LATENCY,
            "weights": self.weights,
        }
        if self.weights in ("register", "learn"):
            d["A"] = self.A
            d["WRES"] = self.WB
            if self.weight_store == "memory":
                d["weight_store"] = "memory"
        if self.learn is not None:
            lp = self.learn
            d["LABEL_BITS"] = lp.LBW
            d["WREAD_LATENCY"] = lp.RL
            d["learn"] = {
                "layers": [ls.index for ls in self.layers if ls.layer.learning is not None],
                "label_layers": list(lp.label_layers),
                "draws_per_wave": lp.D,
                "lfsr_steps_per_draw": lp.SPD,
                "lfsr_steps_per_cycle": lp.U,
                "random_cycles": lp.NR,
                "wait_cycles": lp.W,
                "learn_pass_cycles": lp.LL,
            }
            if lp.NORM:  # parallel: the level sweep of a budgeted layer stage
                d["learn"]["norm_pass_cycles"] = lp.LL if self.architecture == "serial" \
                    else lp.SWEEP
            ports = {"wload_en": ["in", 1], "wload_addr": ["in", self.A],
                     "wload_data": ["in", self.WB], "learn_en": ["in", 1]}
            if lp.LBW:
                ports.update({"label": ["in", lp.LBW], "label_valid": ["in", 1]})
            if lp.MSB:
                ports["mu_shift"] = ["in", lp.MSB]
            ports.update({"wread_addr": ["in", self.A], "wread_data": ["out", self.WB],
                          "wread_valid": ["out", 1]})
            d["ports"] = ports
        if self.architecture == "parallel":
            d["arch"] = {"kind": "parallel", "T": self.T,
                         "steps": max(ls.steps for ls in self.layers),
                         "adder_stages": parallel_add_stages(self.weights),
                         "decision_cycles": 2}
            return d
        if self.architecture == "pipelined":
            steps = max(ls.steps for ls in self.layers)
            add = pipelined_add_stages(self)
            d["arch"] = {"kind": "pipelined", "T": self.T, "steps": steps,
                         "adder_stages": add,
                         "prefix_levels": prefix_levels(steps),
                         "layer_latency": pipelined_latency(steps, add), "waves_per_cycle": 1}
            return d
        d["arch"] = {
            "kind": "sar-serial",
            "T": self.T,
            "passes": self.B,
            "lines_per_pass": self.J,
            "lanes": self.G,
            "steps_per_pass": self.JS,
            "pass_cycles": self.PL,
            "mux_latency": self.Lm,
            "decision_cycles": self.E,
        }
        return d


def _bits(n: int) -> int:
    """Bits to hold ``0 .. n`` (at least 1)."""
    return max(1, int(n).bit_length())


def make_plan(net: Network, weights: str = "hardwired", name: str = "neutnngen_top",
              mux_levels: int = DEFAULT_MUX_LEVELS, lanes: int = 1,
              architecture: str = "serial", weight_store: str = "auto",
              mu_shift_bits: int = 0) -> Plan:
    from .kinds import hdl_kind, stage_kind

    weights = check_weights_mode(weights)
    if architecture not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture={architecture!r}; accepted: "
                          f"{', '.join(ARCHITECTURES)}")
    if architecture == "pipelined" and weights == "learn":
        raise ConfigError(f"architecture={architecture!r} builds hardwired and register "
                          "weights; on-chip learning (weights='learn') needs "
                          "architecture='serial' or 'parallel'")
    if architecture != "serial" and lanes != 1:
        raise ConfigError(f"lanes={lanes!r} is a knob of the serial architecture; the "
                          f"{architecture} one reads every line every cycle (leave lanes at 1)")
    if weight_store not in WEIGHT_STORE_CHOICES:
        raise ConfigError(f"unknown weight_store={weight_store!r}; accepted: "
                          f"{', '.join(WEIGHT_STORE_CHOICES)}")
    name = check_name(name)
    if not isinstance(mux_levels, int) or isinstance(mux_levels, bool) or mux_levels < 1:
        raise ConfigError(f"mux_levels={mux_levels!r}; expected an integer >= 1")
    if not isinstance(lanes, int) or isinstance(lanes, bool) or lanes < 1:
        raise ConfigError(f"lanes={lanes!r}; expected an integer >= 1")
    if not isinstance(mu_shift_bits, int) or isinstance(mu_shift_bits, bool) or \
            not 0 <= mu_shift_bits <= MU_SHIFT_MAX_BITS:
        raise ConfigError(f"mu_shift_bits={mu_shift_bits!r}; expected an integer 0.."
                          f"{MU_SHIFT_MAX_BITS} (the width of the M4 mu_shift port)")
    if mu_shift_bits and weights != "learn":
        raise ConfigError(f"mu_shift_bits={mu_shift_bits} is a port of on-chip learning; "
                          f"weights={weights!r} has no learning (use 0)")
    check(net)
    ts = net.time

    # Every stage through its kind's planner (an unknown kind is a ConfigError).
    ctx = PlanContext(net, weights)
    raw: list[StageSpec] = []
    for pos, st in enumerate(net.stages):
        kind = stage_kind(st)
        raw.append(StageSpec(kind, st.name, pos, hdl_kind(kind).plan(st, ctx)))
    layer_pos = [i for i, st in enumerate(raw) if isinstance(st.spec, LayerSpec)]
    if not layer_pos:  # pragma: no cover - the IR check rejects it
        raise ConfigError("the network has no layer")

    T = max(c.wave for i in layer_pos for c in raw[i].spec.columns)
    B = _bits(T)  # 2**B > T: all ones is never a valid time
    TB_IN = ts.timeres
    TB_OUT = _bits(T - 1)

    # Placement: a stage after the last layer changes no output (the interpreter's outputs
    # are the last layer's volley) and is not built; other stages without a transform are
    # stream stages of their own; a transform after a stage is fused into that stage's
    # output conversion, one before the first stage is a combinational stream stage.
    stages: list[StageSpec] = []
    owner: int | None = None  # index in `stages` of the last built stage
    n_pre = 0
    for st in raw:
        hk = hdl_kind(st.kind)
        if not isinstance(st.spec, LayerSpec) and st.position > layer_pos[-1]:
            stages.append(st)
        elif hk.transform is None:
            stages.append(replace(st, rtl=st.spec.rtl if isinstance(st.spec, LayerSpec)
                                  else f"{st.kind}{st.position}"))
            owner = len(stages) - 1
        elif owner is None:
            stages.append(replace(st, rtl=f"pre{n_pre}"))
            n_pre += 1
        else:
            host = stages[owner]
            stages.append(replace(st, fused_into=host.rtl))
            stages[owner] = replace(host, spec=replace(host.spec, post=host.spec.post + (st,)))
    # Largest time each IR stage can emit: a stream carries TB_IN-bit times when what it
    # carries fits a layer's input (always between two layers), else enough bits for it
    # (e.g. a layer feeding a stage that saturates, like the toy ``delay`` kind of the tests).
    out_max, mt = [], ts.t_max_in
    for st in net.stages:
        mt = kind_of(st).max_time(st, ts, mt)
        out_max.append(mt)
    last_layer = max(i for i, st in enumerate(stages) if isinstance(st.spec, LayerSpec))
    for i, st in enumerate(stages):
        if isinstance(st.spec, LayerSpec):
            lastp = i == last_layer
            m_out = out_max[st.spec.post[-1].position if st.spec.post else st.position]
            stages[i] = replace(st, spec=replace(st.spec, last=lastp, out_bits=TB_OUT if lastp
                                                 else _stream_bits(m_out, ts.t_max_in)))
    layer_specs = [st.spec for st in stages if isinstance(st.spec, LayerSpec)]

    J = max(len(c.lines) for ls in layer_specs for c in ls.columns)
    G = min(lanes, J)
    JS = -(-J // G)
    RD = 1 if G == 1 else 2
    # Step counter: counts 0 .. PL-1 in passes and 0 .. E-1 in the decision phase.
    learn = weights == "learn"
    if learn and G != 1:
        raise ConfigError(f"weights='learn' streams one line per cycle; lanes={lanes} is not "
                          "supported with on-chip learning (use lanes=1)")
    SW = _bits(JS + RD)
    while True:
        Lm = max(1, -(-SW // mux_levels))
        E = Lm + 2
        # learn mode: the step counter also runs the learn pass (0 .. JS + Lm)
        sw = _bits(max(JS + RD, E - 1, JS + Lm if learn else 0))
        if sw == SW:
            break
        SW = sw
    segs = ctx.segments
    LBA = _bits(J - 1)
    SBA = _bits(ctx.seg_id - 1)
    WB = max(s.bits for s in (syn for sp in segs for syn in sp.synapses)) if any(
        sp.synapses for sp in segs) else 1
    PL = JS + RD + 1
    norm = any(getattr(ls.layer.learning, "w_norm", 0) for ls in layer_specs
               if ls.layer.learning is not None)
    lp = replace(_learn_plan(layer_specs, B * PL + E, Lm, JS, SBA, mux_levels, architecture),
                 MSB=mu_shift_bits, NORM=norm) if learn else None
    stages = _beats(stages, net, TB_IN, lp, out_max)
    layer_specs = [st.spec for st in stages if isinstance(st.spec, LayerSpec)]
    store = "registers"
    if weights in ("register", "learn") and architecture == "serial":
        nsyn = sum(len(sp.synapses) for sp in segs)
        if weight_store == "memory" or (weight_store == "auto"
                                        and nsyn >= AUTO_MEMORY_SYNAPSES):
            store = "memory"
    return Plan(net, weights, name, T, B, TB_IN, TB_OUT, J, G, JS, SW, mux_levels, Lm, RD,
                PL, E, tuple(layer_specs), ctx.prox_offset, LBA, SBA, WB, tuple(segs), lp,
                tuple(stages), architecture, store)


def _stream_bits(max_time: int, t_max_in: int) -> int:
    """Bits of a time on a stream between stages: a layer input's ``timeres`` bits when the
    times fit one, else enough for ``max_time``."""
    return _bits(t_max_in) if max_time <= t_max_in else _bits(max_time)


def _beats(stages: list[StageSpec], net: Network, tb: int, lp: LearnPlan | None,
           out_max: list[int]) -> list[StageSpec]:
    """Payloads of the streams between the built stages: a stage's output carries the
    proximal lines and learning sidebands of the layers after it."""
    learning = {ls.spec.index for ls in stages
                if isinstance(ls.spec, LayerSpec) and ls.spec.layer.learning is not None}
    labels = set(lp.label_layers) if lp is not None else set()
    lbw = lp.LBW if lp is not None else 0
    prox_from = {}  # proximal lines of layers >= k
    tot = 0
    for st in reversed(stages):
        if isinstance(st.spec, LayerSpec):
            tot += st.spec.prox_lines
            prox_from[st.spec.index] = tot

    def carried(k: int) -> Beat:
        """Sidebands for the layers from index ``k`` on."""
        lrn = lp is not None and any(i >= k for i in learning)
        return Beat(0, tb, prox_from.get(k, 0), tb if prox_from.get(k, 0) else 0, lrn,
                    lbw if any(i >= k for i in labels) else 0, lp.MSB if lrn else 0)

    cur = replace(carried(0), lines=net.inputs)
    out = []
    for st in stages:
        if st.rtl is None:
            out.append(st)
            continue
        b_in = cur
        if isinstance(st.spec, LayerSpec):
            ls = st.spec
            cur = replace(carried(ls.index + 1), lines=ls.outputs, tb=ls.out_bits)
        else:
            node = net.stages[st.position]  # a stage may change the width (``lut``)
            cur = replace(cur, lines=kind_of(node).outputs(node, cur.lines),
                          tb=_stream_bits(out_max[st.position], net.time.t_max_in))
        out.append(replace(st, beat_in=b_in, beat_out=cur))
    return out


def _learn_plan(layers: list[LayerSpec], search_cycles: int, Lm: int, JS: int, SBA: int,
                R: int, architecture: str = "serial") -> LearnPlan:
    """Timing of the random phase and the learn pass (see :class:`LearnPlan`); raises
    ``ConfigError`` for learning columns this generator cannot build. The ``parallel``
    architecture makes one whole draw per cycle from the wave's first cycle and updates
    every synapse at once in its last (no learn pass: ``W = LL = 0``)."""
    spds: set[int] = set()
    D = 0
    label_layers: list[int] = []
    qmax = 1
    for ls in layers:
        rule = ls.layer.learning
        if rule is None:
            continue
        needs_label = rule.kind == "rstdp"
        for c in ls.columns:
            col = c.col
            path = f"layer{ls.index}/col{c.index}"
            if col.random is None:  # pragma: no cover - the IR check rejects it
                raise ConfigError(f"{path}: the layer learns but the column has no RandomSource")
            if col.proximal is not None and col.proximal.wres != col.distal.wres:
                raise ConfigError(
                    f"{path}: on-chip learning needs the proximal bank's wres "
                    f"({col.proximal.wres}) to equal the distal wres ({col.distal.wres})")
            spds.add(int(col.random.steps_per_draw))
            D = max(D, 5 + col.w_max + 1)
            if col.proximal_mode == "enable":
                needs_label = True
        if needs_label:
            label_layers.append(ls.index)
            qmax = max([qmax] + [c.col.neurons for c in ls.columns])
    if not spds:
        raise ConfigError("weights='learn' needs at least one layer with a learning rule")
    if len(spds) > 1:
        raise ConfigError(f"on-chip learning needs one steps_per_draw for every learning column; "
                          f"got {sorted(spds)}")
    spd = spds.pop()
    # LFSR steps per cycle: the fewest (a divisor of steps_per_draw) that finish the random
    # phase before the first update stage of the learn pass; else one draw per cycle and wait.
    divisors = [u for u in range(1, spd + 1) if spd % u == 0]
    first_update = search_cycles + Lm  # learn pass starts right after the decision
    U = divisors[-1]
    for u in divisors if architecture == "serial" else ():
        if D * (spd // u) + 2 <= first_update:
            U = u
            break
    CPD = spd // U
    NR = D * CPD
    W = max(0, NR + 2 - first_update)
    LL = JS + Lm + 1
    if architecture != "serial":
        W = LL = 0
    LBW = _bits(qmax - 1) if label_layers else 0
    RS = max(1, -(-SBA // R))
    return LearnPlan(U, spd, CPD, D, NR, W, LL, LBW, tuple(label_layers), RS, Lm + 1 + RS)
