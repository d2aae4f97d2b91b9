"""Fast verification tier: drive the RTL contract's stream protocol with Amaranth's own
simulator and return the output volleys, to compare with ``Interpreter(net).forward(X)``.

A driver presents one beat per wave (volley, proximal lines of every layer, learning
sidebands) and holds it until the ``in_valid & in_ready`` handshake; a monitor collects the
``out_valid & out_ready`` beats (and, with ``trace``, every stage's weights and LFSR states
in the cycle after the stage latched a wave); ``out_ready`` follows a seeded random pattern
when ``backpressure`` is set. The comparison is done in bulk at the end."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, VerificationMismatch
from ..ir.nodes import NONE, Network


def _pack(times: np.ndarray, tb: int, enable: np.ndarray | None = None) -> tuple[int, int]:
    """``(time bits, spike bits)`` of one volley (NONE -> spike 0, time 0). Lines flagged in
    ``enable`` are enable bits: spike = value != 0 (as the interpreter reads them)."""
    t = 0
    s = 0
    for j, v in enumerate(np.asarray(times).tolist()):
        if enable is not None and enable[j]:
            if v != 0:
                s |= 1 << j
        elif v >= 0:
            t |= int(v) << (j * tb)
            s |= 1 << j
    return t, s


def _enable_flags(plan) -> list[np.ndarray]:
    flat = np.asarray(plan.proximal_enable, dtype=bool)
    return [flat[ls.prox_offset:ls.prox_offset + ls.prox_lines] for ls in plan.layers]


def proximal_arrays(plan, N: int, prox) -> list[np.ndarray]:
    """Per layer, ``[N, prox lines]`` proximal values: spike times (sum, gate) or enable bits
    (enable, nonzero = set; as the interpreter, by default all set), NONE elsewhere."""
    out = []
    for ls in plan.layers:
        default = np.full((N, ls.prox_lines), NONE, dtype=np.int64)
        off = 0
        for c in ls.columns:
            P = c.col.proximal_inputs
            if c.col.proximal_mode == "enable":
                default[:, off:off + P] = 1
            off += P
        out.append(default)
    if prox is None:
        return out
    if isinstance(prox, Mapping):
        for k, arr in prox.items():
            a = np.asarray(arr, dtype=np.int64)
            if k < 0 or k >= len(out) or a.shape != out[k].shape:
                raise ConfigError(f"prox[{k}]: expected shape {out[k].shape if 0 <= k < len(out) else '?'}, "
                                  f"got {a.shape}")
            out[k] = a.copy()
        return out
    a = np.asarray(prox, dtype=np.int64)
    if a.shape != (N, plan.N_PROX):
        raise ConfigError(f"prox: expected shape {(N, plan.N_PROX)} (N_PROX lines), got {a.shape}")
    for k, ls in enumerate(plan.layers):
        out[k] = a[:, ls.prox_offset:ls.prox_offset + ls.prox_lines].copy()
    return out


@dataclass
class LearnTrace:
    """What :func:`simulate` returns with ``trace=True`` (``learn`` weight mode).

    * ``outputs``: output volleys ``[N, outputs]``;
    * ``weights[n][k][c]``: ``(distal, proximal)`` weights of layer ``k``, column ``c`` on
      the chip after wave ``n`` (shaped like the IR's banks; ``proximal`` is ``None``
      without a proximal bank), read from the weight registers;
    * ``rng[n][k][c]``: the column's LFSR states after wave ``n`` (``None`` for a column
      that does not learn);
    * ``readout[k][c]``: the final weights read back through the ``wread`` port.
    """

    outputs: np.ndarray
    weights: list
    rng: list
    readout: list


def _weight_arrays(net: Network, values: Mapping[str, Mapping[str, int]]) -> list:
    """Per layer and column ``(distal, proximal)`` from ``{segment path: {synapse: value}}``
    (absent synapses 0)."""
    out = []
    for k, layer in enumerate(net.layers):
        cols = []
        for c, col in enumerate(layer.columns):
            dw = np.zeros(col.distal.weights.shape, dtype=np.int64)
            pw = None if col.proximal is None else np.zeros(col.proximal.weights.shape,
                                                              dtype=np.int64)
            base = f"layer{k}/col{c}/"
            for path, syns in values.items():
                if not path.startswith(base):
                    continue
                parts = path[len(base):].split("/")
                i = int(parts[0][1:])
                for name, v in syns.items():
                    j = int(name[1:])
                    if parts[1] == "prox":
                        pw[i, j] = v
                    elif name[0] == "w":
                        dw[i, int(parts[1][1:]), int(parts[2][1:]), j] = v
                    else:
                        pw[i, int(parts[1][1:]), int(parts[2][1:]), j] = v
            cols.append((dw, pw))
        out.append(cols)
    return out


PERIOD = 1e-8


class _Stalled(Exception):
    pass


def _runs(rng: np.random.Generator, p: float, wave: int, n: int) -> list[tuple[int, int]]:
    """``n`` (ready-high cycles, ready-low cycles) pairs with about a fraction ``p`` of low
    cycles; low runs of 1 .. 2 * ``wave`` cycles (short stalls and stalls longer than a
    wave)."""
    lows = rng.integers(1, 2 * wave + 1, size=n)
    mean_high = max(1.0, (wave + 0.5) * (1 - p) / p)
    highs = rng.integers(1, int(2 * mean_high) + 1, size=n)
    return list(zip(highs.tolist(), lows.tolist(), strict=True))


def mu_shift_schedule(plan, N: int, mu_shift) -> np.ndarray:
    """The M4 shift of each of ``N`` waves (``mu_shift``: None, an int or one per wave),
    checked against the design's ``mu_shift`` port (``ConfigError`` naming the value)."""
    from ..ir.common import mu_shift_per_wave

    lp = plan.learn
    if mu_shift is None:
        return np.zeros(N, dtype=np.int64)
    if lp is None or not lp.MSB:
        raise ConfigError("mu_shift given but the design has no mu_shift port (build it "
                          "with weights='learn' and mu_shift_bits > 0)")
    try:
        return mu_shift_per_wave(mu_shift, N, lp.MSB)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def simulate(net: Network, X, weights: str = "hardwired", prox=None, *,
             loads: Iterable[tuple[int, int]] | None = None,
             bubbles: Iterable[int] | None = None, reset_after_loads: bool = False,
             seed: int = 0, top=None, learn=True, labels=None, mu_shift=None,
             trace: bool = False, backpressure: float = 0.0):
    """Output volleys ``[N, outputs]`` (NONE = -1) of the generated design for input volleys
    ``X[N, inputs]``, simulated cycle by cycle with :class:`amaranth.sim.Simulator`.

    ``learn`` weight mode (on-chip STDP):

    * ``learn``: ``learn_en`` of every wave (a bool, or one per wave; default on);
    * ``labels``: one label per wave (``label_valid`` set; a negative label clears it), or
      ``None`` (no labels);
    * ``mu_shift``: the M4 shift of every wave (an int, or one per wave; the design needs
      a ``mu_shift`` port, ``mu_shift_bits > 0``), or ``None`` (0 where the port exists);
    * ``trace``: return a :class:`LearnTrace` (outputs, the weights and LFSR states after
      every wave, the final weights read through ``wread``) instead of the outputs.

    * ``prox``: proximal lines, either ``[N, N_PROX]`` (the top-level port order) or
      ``{layer: [N, lines]}`` as :meth:`Interpreter.forward` takes them; default: enable
      lines set, other proximal lines silent.
    * ``loads``: ``(addr, data)`` weight writes (``register`` mode) done before wave 0.
    * ``bubbles``: wave indices before which the source idles (``in_valid = 0``, garbage on
      the inputs) for a random 1 .. 2 * ``WAVE_CYCLES`` cycles.
    * ``backpressure``: fraction (0 .. 1) of cycles with ``out_ready`` low, in random runs
      of up to two waves (seeded by ``seed``); 0 holds ``out_ready`` high.
    * ``reset_after_loads``: pulse ``rst`` after the loads (the weights return to the
      trained values). ``rst`` is always pulsed once at the start.

    Checks the protocol on the way (:class:`VerificationMismatch`): ``out_*`` hold while
    ``out_valid & ~out_ready``; without backpressure every output beat comes ``LATENCY``
    cycles after its wave was first offered or, when that is earlier, ``WAVE_CYCLES``
    after the previous beat (a later stage is the slowest), and without bubbles the beats
    come every ``WAVE_CYCLES`` cycles; the design never stalls.
    """
    from amaranth.hdl import ClockDomain, Module, Signal
    from amaranth.sim import Simulator

    from . import build_top
    from .stages.layer import LayerStage
    from .stages.parallel import ParallelLayerStage

    X = np.asarray(X, dtype=np.int64)
    if X.ndim != 2 or X.shape[1] != net.inputs:
        raise ConfigError(f"X: expected shape [N, {net.inputs}], got {X.shape}")
    if not 0 <= backpressure < 1:
        raise ConfigError(f"backpressure={backpressure!r}; expected 0 <= backpressure < 1")
    if top is None:
        top = build_top(net, weights=weights)
    plan = top.plan
    loads = list(loads or [])
    if loads and plan.weights not in ("register", "learn"):
        raise ConfigError(f"loads need weights='register' or 'learn', not {plan.weights!r}")
    N = X.shape[0]
    lp = plan.learn
    if trace and lp is None:
        raise ConfigError("trace=True needs weights='learn'")
    learn_v = np.broadcast_to(np.asarray(learn, dtype=bool), (N,))
    labels_v = None if labels is None else np.asarray(labels, dtype=np.int64).reshape(-1)
    if labels_v is not None and labels_v.shape != (N,):
        raise ConfigError(f"labels: expected {N} labels, got {labels_v.shape[0]}")
    if lp is not None and labels_v is not None and lp.LBW == 0:
        raise ConfigError("labels given but no learning layer reads labels "
                          "(R-STDP or an enable-mode proximal input)")
    mus_v = mu_shift_schedule(plan, N, mu_shift)
    tbi, tbo = plan.TB_IN, plan.TB_OUT
    Q = net.outputs
    WC = plan.WAVE_CYCLES
    pxs = proximal_arrays(plan, N, prox)
    pen = _enable_flags(plan)
    rng = np.random.default_rng(seed)
    gaps = {int(b): int(rng.integers(1, 2 * WC + 1)) for b in sorted(set(bubbles or ()))}
    runs = _runs(rng, backpressure, WC, 4 * N + 8) if backpressure else []
    budget = (8 + len(loads) + sum(gaps.values()) + sum(lo for _, lo in runs)
              + (N + plan.L + 4) * WC + plan.LATENCY)
    if trace:
        budget += 8 * len(plan.segments) * max((len(sg.synapses) for sg in plan.segments),
                                               default=1) * lp.RL

    beats = []  # per wave: (in_time, in_spike, prox_time, prox_spike)
    for n in range(N):
        t, s = _pack(X[n], tbi)
        pt = ps = 0
        for k, ls in enumerate(plan.layers):
            if ls.prox_lines:
                a, b = _pack(pxs[k][n], tbi, pen[k])
                pt |= a << (ls.prox_offset * tbi)
                ps |= b << ls.prox_offset
        beats.append((t, s, pt, ps))

    def garbage(n_lines: int, tb: int) -> tuple[int, int]:
        t = int(rng.integers(0, 1 << 62)) & ((1 << (n_lines * tb)) - 1) if n_lines else 0
        return t, int(rng.integers(0, 1 << 62)) & ((1 << n_lines) - 1)

    wrap = Module()
    wrap.domains.sync = cd = ClockDomain("sync")
    wrap.submodules.dut = top
    cyc = Signal(32, name="cycle")
    wrap.d.sync += cyc.eq(cyc + 1)
    sim = Simulator(wrap)
    dctx = top.ctx
    layer_stages = [st for st in top.stages if isinstance(st, (LayerStage, ParallelLayerStage))]
    offers: list[int] = []
    results: list[tuple[int, int, int]] = []  # (cycle, time bits, spike bits)
    samples: list[list] = [[] for _ in layer_stages]  # per layer stage, after each wave
    readback: dict[str, dict[str, int]] = {}
    state = {"finished": False, "error": None}
    seg_by_path = {sg.path: sg for sg in plan.segments}

    async def pulse_reset(ctx):
        ctx.set(cd.rst, 1)
        await ctx.tick()
        ctx.set(cd.rst, 0)

    async def driver(ctx):
        if plan.weights in ("register", "learn"):
            ctx.set(top.wload_en, 0)
        if lp is not None:
            ctx.set(top.wread_en, 0)
        ctx.set(top.out_ready, 1)
        await pulse_reset(ctx)
        for addr, data in loads:
            ctx.set(top.wload_en, 1)
            ctx.set(top.wload_addr, int(addr))
            ctx.set(top.wload_data, int(data))
            await ctx.tick()
        if plan.weights in ("register", "learn"):
            ctx.set(top.wload_en, 0)
        if reset_after_loads:
            await pulse_reset(ctx)
        for n in range(N):
            if n in gaps:
                ctx.set(top.in_valid, 0)
                t, s = garbage(net.inputs, tbi)
                ctx.set(top.in_time, t)
                ctx.set(top.in_spike, s)
                await ctx.tick().repeat(gaps[n])
            t, s, pt, ps = beats[n]
            ctx.set(top.in_time, t)
            ctx.set(top.in_spike, s)
            if plan.N_PROX:
                ctx.set(top.prox_time, pt)
                ctx.set(top.prox_spike, ps)
            if lp is not None:
                ctx.set(top.learn_en, int(learn_v[n]))
                if lp.LBW:
                    lab = -1 if labels_v is None else int(labels_v[n])
                    ctx.set(top.label_valid, int(lab >= 0))
                    ctx.set(top.label, max(lab, 0))
                if lp.MSB:
                    ctx.set(top.mu_shift, int(mus_v[n]))
            ctx.set(top.in_valid, 1)
            offers.append(ctx.get(cyc))
            await ctx.tick().until(top.in_ready)
        ctx.set(top.in_valid, 0)
        # wait for the last beat, then a little longer for a spurious extra one
        while len(results) < N:
            await ctx.tick()
        await ctx.tick().repeat(WC + 2)
        if trace:  # idle now: read every weight back through the wread port
            ctx.set(top.wread_en, 1)
            for path, syn in dctx.regs.items():
                seg = seg_by_path[path]
                vals = {}
                for name in syn:
                    j = next(sy.j for sy in seg.synapses if sy.name == name)
                    ctx.set(top.wread_addr, (seg.seg_id << plan.LBA) | j)
                    await ctx.tick().repeat(lp.RL)
                    if not ctx.get(top.wread_valid):
                        state["error"] = f"wread of {path}/{name} not served on an idle design"
                    vals[name] = ctx.get(top.wread_data)
                readback[path] = vals
            ctx.set(top.wread_en, 0)
        state["finished"] = True

    async def monitor(ctx):
        done_sigs = [st.i.ready for st in layer_stages]
        held = None
        async for _, _, ov, ordy, ot, osp, c, *dn in ctx.tick().sample(
                top.out_valid, top.out_ready, top.out_time, top.out_spike, cyc, *done_sigs):
            if trace and any(dn):
                regs = {p: {nm: ctx.get(r) for nm, r in syn.items()}
                        for p, syn in dctx.regs.items()}
                gens = {g: ctx.get(r.state) for g, r in dctx.rng.items()}
                for k, d in enumerate(dn):
                    if d:
                        samples[k].append((regs, gens))
            if ov:
                if held is not None and held != (ot, osp) and state["error"] is None:
                    state["error"] = (f"out_time/out_spike changed in cycle {c} while "
                                      "out_valid was high and out_ready low")
                held = None if ordy else (ot, osp)
                if ordy:
                    results.append((c, ot, osp))
            elif held is not None and state["error"] is None:
                state["error"] = f"out_valid dropped in cycle {c} before out_ready"
                held = None

    # The background processes count time, not clock edges (a clock edge wait would stop at
    # the reset pulses); they act between edges (edges at half periods).
    async def ready_driver(ctx):
        for hi, lo in runs:
            ctx.set(top.out_ready, 1)
            await ctx.delay(hi * PERIOD)
            ctx.set(top.out_ready, 0)
            await ctx.delay(lo * PERIOD)
        ctx.set(top.out_ready, 1)

    async def watchdog(ctx):
        await ctx.delay(budget * PERIOD)
        raise _Stalled()

    sim.add_clock(PERIOD, phase=PERIOD / 2, domain="sync")
    sim.add_testbench(driver)
    sim.add_testbench(monitor, background=True)
    if runs:
        sim.add_testbench(ready_driver, background=True)
    sim.add_testbench(watchdog, background=True)
    try:
        sim.run()
    except _Stalled:
        raise VerificationMismatch(
            f"the design stalled: {len(offers)} waves offered, {len(results)} of {N} output "
            f"beats after {budget} cycles", {"signal": "in_ready"}) from None
    if state["error"]:
        raise VerificationMismatch(state["error"], {"signal": "out_valid"})
    if len(results) != N:
        raise VerificationMismatch(f"{len(results)} output volleys for {N} waves",
                                   {"outputs": len(results), "waves": N})
    cycles = np.array([c for c, _, _ in results], dtype=np.int64)
    if not backpressure:
        # LATENCY after the offer, or WAVE_CYCLES after the previous beat when a later
        # stage is the slowest (docs/rtl-contract.md stream rule 8;
        # verify.protocol.expected_beat)
        off = np.asarray(offers, dtype=np.int64)
        due = off + plan.LATENCY
        for n in range(1, len(due)):
            due[n] = max(due[n], due[n - 1] + WC)
        bad = np.flatnonzero(cycles != due)
        if len(bad):
            n = int(bad[0])
            raise VerificationMismatch(
                f"wave {n}: out_valid {int(cycles[n] - off[n])} cycles after it was offered, "
                f"expected {int(due[n] - off[n])} (LATENCY={plan.LATENCY}, or "
                f"WAVE_CYCLES={WC} after the previous beat)", {"wave": n, "signal": "latency"})
        if not gaps and N > 1 and (np.diff(cycles) != WC).any():
            n = int(np.flatnonzero(np.diff(cycles) != WC)[0]) + 1
            raise VerificationMismatch(
                f"wave {n}: output beat {int(cycles[n] - cycles[n - 1])} cycles after the "
                f"previous one at full rate, expected WAVE_CYCLES={WC}", {"wave": n})
    out = np.full((N, Q), NONE, dtype=np.int64)
    mask_t = (1 << tbo) - 1
    for n, (_, t, s) in enumerate(results):
        for i in range(Q):
            if (s >> i) & 1:
                out[n, i] = (t >> (i * tbo)) & mask_t
    if not trace:
        return out
    wts, rngs = [], []
    for n in range(N):
        wl, rl = [], []
        for k, layer in enumerate(net.layers):
            regs, states = samples[k][n]
            arrs = _weight_arrays(net, {p: v for p, v in regs.items()
                                        if p.startswith(f"layer{k}/")})[k]
            wl.append(arrs)
            rl.append([None if layer.learning is None else
                       np.array([states[f"layer{k}/col{c}/g{g}"]
                                 for g in range(col.n_generators())], dtype=np.int64)
                       for c, col in enumerate(layer.columns)])
        wts.append(wl)
        rngs.append(rl)
    return LearnTrace(out, wts, rngs, _weight_arrays(net, readback))
