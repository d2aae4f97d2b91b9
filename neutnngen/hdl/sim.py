"""Fast verification tier: drive the RTL contract's stimulus protocol with Amaranth's own
simulator and return the output volleys, to compare with ``Interpreter(net).forward(X)``."""

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
    out = []
    for ls in plan.layers:
        f = np.zeros(ls.prox_lines, dtype=bool)
        off = 0
        for c in ls.columns:
            P = c.col.proximal_inputs
            f[off:off + P] = c.col.proximal_mode == "enable"
            off += P
        out.append(f)
    return out


def _proximal_arrays(plan, N: int, prox) -> list[np.ndarray]:
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


def simulate(net: Network, X, weights: str = "hardwired", prox=None, *,
             loads: Iterable[tuple[int, int]] | None = None,
             bubbles: Iterable[int] | None = None, reset_after_loads: bool = False,
             seed: int = 0, top=None, learn=True, labels=None,
             trace: bool = False):
    """Output volleys ``[N, outputs]`` (NONE = -1) of the generated design for input volleys
    ``X[N, inputs]``, simulated cycle by cycle with :class:`amaranth.sim.Simulator`.

    ``learn`` weight mode (on-chip STDP):

    * ``learn``: ``learn_en`` of every wave (a bool, or one per wave; default on);
    * ``labels``: one label per wave (``label_valid`` set; a negative label clears it), or
      ``None`` (no labels);
    * ``trace``: return a :class:`LearnTrace` (outputs, the weights and LFSR states after
      every wave, the final weights read through ``wread``) instead of the outputs.

    * ``prox``: proximal lines, either ``[N, N_PROX]`` (the top-level port order) or
      ``{layer: [N, lines]}`` as :meth:`Interpreter.forward` takes them; default: enable
      lines set, other proximal lines silent.
    * ``loads``: ``(addr, data)`` weight writes (``register`` mode) done before wave 0.
    * ``bubbles``: wave indices before which an idle slot (``in_valid = 0``, garbage on the
      inputs) is inserted.
    * ``reset_after_loads``: pulse ``rst`` after the loads (the weights return to the
      trained values). ``rst`` is always pulsed once at the start.

    Checks the protocol on the way: ``in_ready`` exactly at slot starts, ``out_valid`` a
    one-cycle pulse ``LATENCY`` cycles after each acceptance.
    """
    from amaranth.hdl import ClockDomain, Module
    from amaranth.sim import Simulator

    from . import build_top

    X = np.asarray(X, dtype=np.int64)
    if X.ndim != 2 or X.shape[1] != net.inputs:
        raise ConfigError(f"X: expected shape [N, {net.inputs}], got {X.shape}")
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
    samples: list[tuple[dict, dict]] = []  # state after each slot
    tbi, tbo = plan.TB_IN, plan.TB_OUT
    Q = net.outputs
    L = plan.L
    WC = plan.WAVE_CYCLES
    pxs = _proximal_arrays(plan, N, prox)
    pen = _enable_flags(plan)
    rng = np.random.default_rng(seed)

    gaps = set(int(b) for b in (bubbles or ()))
    schedule: list[int | None] = []
    for n in range(N):
        if n in gaps:
            schedule.append(None)
        schedule.append(n)
    total = len(schedule) + L
    results: list[tuple[int, int, int]] = []  # (slot, time bits, spike bits)
    accepted: list[int] = []

    def garbage(n_lines: int, tb: int) -> tuple[int, int]:
        t = int(rng.integers(0, 1 << 62)) & ((1 << (n_lines * tb)) - 1) if n_lines else 0
        return t, int(rng.integers(0, 1 << 62)) & ((1 << n_lines) - 1)

    async def pulse_reset(ctx):
        ctx.set(cd.rst, 1)
        await ctx.tick()
        ctx.set(cd.rst, 0)

    async def bench(ctx):
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
        guard = 0
        while not ctx.get(top.in_ready):
            await ctx.tick()
            guard += 1
            if guard > WC:
                raise VerificationMismatch("in_ready never rose", {"cycle": guard})
        cycle = 0
        for slot in range(total):
            if not ctx.get(top.in_ready):
                raise VerificationMismatch(f"in_ready low at the start of slot {slot}",
                                           {"slot": slot})
            if ctx.get(top.out_valid):
                results.append((slot, ctx.get(top.out_time), ctx.get(top.out_spike)))
            if trace and slot > 0:
                samples.append(({p: {n: ctx.get(r) for n, r in syn.items()}
                                 for p, syn in dctx.regs.items()},
                                {g: ctx.get(r.state) for g, r in dctx.rng.items()}))
            n = schedule[slot] if slot < len(schedule) else None
            if n is not None:
                t, s = _pack(X[n], tbi)
                ctx.set(top.in_valid, 1)
                accepted.append(slot)
            else:
                t, s = garbage(net.inputs, tbi)
                ctx.set(top.in_valid, 0)
            if lp is not None:
                ctx.set(top.learn_en, int(n is not None and learn_v[n]))
                if lp.LBW:
                    lab = -1 if (n is None or labels_v is None) else int(labels_v[n])
                    ctx.set(top.label_valid, int(lab >= 0))
                    ctx.set(top.label, max(lab, 0))
            ctx.set(top.in_time, t)
            ctx.set(top.in_spike, s)
            if plan.N_PROX:
                pt, ps = 0, 0
                for k, ls in enumerate(plan.layers):
                    if not ls.prox_lines:
                        continue
                    sl = slot - k
                    wn = schedule[sl] if 0 <= sl < len(schedule) else None
                    if wn is not None:
                        a, b = _pack(pxs[k][wn], tbi, pen[k])
                    else:
                        a, b = garbage(ls.prox_lines, tbi)
                    pt |= a << (ls.prox_offset * tbi)
                    ps |= b << ls.prox_offset
                ctx.set(top.prox_time, pt)
                ctx.set(top.prox_spike, ps)
            await ctx.tick()
            cycle += 1
            if WC > 1:
                if ctx.get(top.in_ready):
                    raise VerificationMismatch(f"in_ready high one cycle into slot {slot}",
                                               {"slot": slot})
                if ctx.get(top.out_valid):
                    raise VerificationMismatch(f"out_valid longer than one cycle in slot {slot}",
                                               {"slot": slot})
                await ctx.tick().repeat(WC - 1)
        if trace:  # idle now: read every weight back through the wread port
            for path, syn in dctx.regs.items():
                seg = seg_by_path[path]
                vals = {}
                for name in syn:
                    j = next(s.j for s in seg.synapses if s.name == name)
                    ctx.set(top.wread_addr, (seg.seg_id << plan.LBA) | j)
                    for _ in range(4):  # a read issued in a slot's last cycle is not served
                        await ctx.tick().repeat(lp.RL)
                        if ctx.get(top.wread_valid):
                            break
                    vals[name] = ctx.get(top.wread_data)
                readback[path] = vals

    seg_by_path = {s.path: s for s in plan.segments}
    readback: dict[str, dict[str, int]] = {}
    wrap = Module()
    wrap.domains.sync = cd = ClockDomain("sync")
    wrap.submodules.dut = top
    sim = Simulator(wrap)
    dctx = top.ctx
    sim.add_clock(1e-8, domain="sync")
    sim.add_testbench(bench)
    sim.run()

    if len(results) != N:
        raise VerificationMismatch(f"{len(results)} output volleys for {N} waves",
                                   {"outputs": len(results), "waves": N})
    out = np.full((N, Q), NONE, dtype=np.int64)
    mask_t = (1 << tbo) - 1
    for n, (slot, t, s) in enumerate(results):
        if slot - accepted[n] != L:
            raise VerificationMismatch(
                f"wave {n}: out_valid {slot - accepted[n]} slots after acceptance, expected {L}",
                {"wave": n})
        for i in range(Q):
            if (s >> i) & 1:
                out[n, i] = (t >> (i * tbo)) & mask_t
    if not trace:
        return out
    pos = {n: i for i, n in enumerate(schedule) if n is not None}
    wts, rngs = [], []
    for n in range(N):
        wl, rl = [], []
        for k, layer in enumerate(net.layers):
            regs, states = samples[pos[n] + k]
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
