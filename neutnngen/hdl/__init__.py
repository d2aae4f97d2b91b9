"""HDL generator: a verified IR -> Amaranth components -> Verilog / RTLIL + names.json.

Public API (used by the driver and the verifier):

* :func:`build_top` -> :class:`Top` (an Amaranth ``wiring.Component``; ``Top.info`` is the
  ``"top"`` entry of ``names.json``, with ``WAVE_CYCLES`` and ``LATENCY``);
* :func:`emit` -> :class:`EmitResult` (``NAME.v``, ``NAME.il``, ``names.json``, written
  atomically and deterministically);
* :func:`simulate` -> output volleys ``[N, outputs]`` from Amaranth's simulator (``learn``
  mode: ``trace=True`` also returns the weights and LFSR states after every wave).

The port map and timing are ``docs/rtl-contract.md``.

Structure: one *stage* per IR stage, lowered through the stage-kind registry
(:mod:`neutnngen.hdl.kinds`: kind name -> planner, stream component, ``names.json``
contribution), joined by valid/ready streams (:mod:`neutnngen.hdl.stream`); the top level
is itself a stream (``in_valid/in_ready/in_*``, ``out_valid/out_ready/out_*``). A column
layer (:mod:`neutnngen.hdl.stages.layer`) runs its own sequencer: it starts a wave when its
input is valid, holds nothing but its result (the producer keeps its payload until
``ready``), and latches the result into its output register when that is free;
``retime`` is a combinational transform fused into the producing layer's output.

Microarchitecture of a layer (details in :mod:`neutnngen.hdl.plan`): serial over lines,
successive approximation over time. Each column streams its lines (distal inputs, then
proximal lines) one per cycle through a pipelined multiplexer shared by its segments; every
segment adds the streamed synapse's response at a probe time ``p`` into an accumulator
started at ``-theta`` and, after ``B = T_max.bit_length()`` passes, holds the exact first
time with ``V >= theta`` (all ones = NONE). Dendrite/neuron/column decisions and lateral
inhibition work on these registered times at the end of the wave. A layer spends
``SLOT = B * (J + 2) + Lm + 2`` cycles on a wave (``J`` = most lines of any column, ``Lm``
= multiplexer latency); at full rate ``WAVE_CYCLES = SLOT`` and ``LATENCY = L * SLOT``.

Module map: ``plan`` (static plan from the IR; records in ``specs``), ``kinds``
(stage-kind registry), ``stream`` (stream payloads), ``stages/layer`` and
``stages/retime`` (the two kinds), ``sched`` (per-stage sequencer, schedule bus),
``mux`` (pipelined multiplexers), ``segment`` (segment + weight stores), ``column``
(dendrite, neuron, column, inhibition), ``top``, ``emit``, ``sim``, ``regen`` (reference
RTL in ``rtl/``), ``axis`` (the AXI4-Stream top, ``interface="axis"``), ``uart`` (UART
bridge and the board top of ``neutnngen synth --board``).

``learn`` weight mode: every wave of a layer adds a learn pass after the decision (line
``j``'s input time and weight reach each segment's update stage through the same multiplexers; the new
weight is written two cycles later), one LFSR per generator steps during the search passes
and latches its Bernoulli bits (``column.Rng``), the column computes every segment's
credited firing flag and the R-STDP reward (``column.ColumnLearn``), the weight store is
``segment.LearnStore``. Timing: :class:`neutnngen.hdl.plan.LearnPlan`.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..ir.nodes import Network
from .axis import INTERFACES, AxisTop
from .emit import EmitResult, emit, names_json
from .plan import WEIGHT_MODES, Plan, make_plan
from .sim import LearnTrace, simulate
from .top import Top

OPTIONS = ("mux_levels", "lanes", "architecture", "weight_store", "mu_shift_bits")


def build_top(net: Network, weights: str = "hardwired", name: str = "neutnngen_top",
              interface: str = "stream", axis_bytes: int = 1, axis_buffer: bool = False,
              **options):
    """The top-level component of ``net`` (verified first: raises ``IRValidationError``).
    ``weights``: ``hardwired`` | ``register`` | ``learn`` (on-chip STDP, bit-exact with
    ``Interpreter.step(learn=True)``; ports and timing in ``docs/rtl-contract.md``); an
    unsupported value raises ``ConfigError``.
    ``options``: ``architecture`` (``serial``, the default; ``parallel``: every synapse
    every time step, ``T + 4`` cycles a wave, all three weight modes (``learn``: ``T + 2``
    cycles, every synapse updated at once at the wave's end); ``pipelined``: every step of
    every synapse at once, a new wave every cycle, hardwired and register weights), ``lanes``
    (serial: lines streamed per cycle, default 1: more lanes cut ``WAVE_CYCLES`` about
    ``lanes`` times for more area), ``mux_levels`` (2:1 multiplexer levels per pipeline
    stage, default 5), ``weight_store`` (serial ``register``/``learn`` weights:
    ``registers``, ``memory`` or ``auto``, the default: memory from
    :data:`~neutnngen.hdl.plan.AUTO_MEMORY_SYNAPSES` synapses), ``mu_shift_bits``
    (``learn``: the width of a ``mu_shift`` input that travels with each wave, M4; 0, the
    default, builds no port and the IR's ``mu``).
    ``interface``: ``stream`` (default: the valid/ready :class:`Top`) or ``axis`` (the
    same core behind AXI4-Stream ports, :class:`neutnngen.hdl.axis.AxisTop`, of
    ``axis_bytes`` bytes a beat: 1, the default, ... 64; ``axis_buffer``: a second volley
    register, so the next packet comes in while the core runs its wave)."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"unknown HDL option(s) {', '.join(unknown)}; accepted: "
                          f"weights, name, {', '.join(OPTIONS)}")
    if interface not in INTERFACES:
        raise ConfigError(f"unknown HDL interface {interface!r}; accepted: "
                          f"{', '.join(INTERFACES)}", path="hdl.interface")
    if (axis_bytes != 1 or axis_buffer) and interface != "axis":
        what = f"axis_bytes={axis_bytes}" if axis_bytes != 1 else "axis_buffer"
        raise ConfigError(f"{what} sets up the AXI4-Stream top; the {interface!r} interface "
                          "has none", path="hdl.axis_bytes" if axis_bytes != 1
                          else "hdl.axis_buffer")
    plan = make_plan(net, weights=weights, name=name, **options)
    return AxisTop(plan, axis_bytes, axis_buffer) if interface == "axis" else Top(plan)


__all__ = ["INTERFACES", "WEIGHT_MODES", "AxisTop", "EmitResult", "LearnTrace", "Plan", "Top",
           "build_top", "emit",
           "names_json", "simulate"]
