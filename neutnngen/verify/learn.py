"""Cycle-accurate verification of on-chip learning (``learn`` weight mode, docs/model.md §5, §9).

:func:`run_learning_verification` streams input volleys into a generated ``learn``-mode
design with ``learn_en`` (and labels) and, after EVERY wave, compares the output volley and
every weight register and LFSR state with :meth:`neutnngen.ir.Interpreter.step` in
bit-exact mode (``learn=True``).

How the weights are observed: the cocotb toplevel is a small wrapper module (written next
to the bench, ``<top>_lw.v``) that instantiates the design as ``dut`` and concatenates every
observable register of every stage (the verification adapters of
:mod:`neutnngen.verify.stages`: for a layer the weights and LFSR states named in
``names.json``) into one ``dbg`` output, and every layer stage's ``done`` pulse into
``dbg_done``, through hierarchical references. A stage's update of a wave is complete when
it latches the wave's result (``done``), and its registers do not change again before its
next wave's learn pass, so the bench reads ``dbg`` once in the cycle after each ``done``:
the ``n``-th such sample holds that stage's registers after wave ``n`` (with or without
backpressure and gaps in the input). The design itself is unchanged. After the last wave
every weight is also read back through the ``wread`` port and compared with the registers.

The expected per-wave weights are computed in Python before the simulation (the
interpreter, wave by wave); the comparison is done here, after the simulation.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ToolchainError, VerificationMismatch
from ..ir.interp import Interpreter, credited, label_proximal, reward
from ..ir.nodes import NONE, Network
from .protocol import TopInfo, compare, describe
from .run import (
    VerifyResult,
    _beats,
    _build,
    _check_interface,
    _proximal,
    _runner_environment,
    _simulate,
    _timed_runner,
    default_simulator,
    find_simulator,
    simulator_version,
    stream_options,
)
from .stages import Entry, observe
from .stages import value as stage_value


@dataclass(frozen=True)
class LearnVerifyResult(VerifyResult):
    """:class:`VerifyResult` of a learning run. ``mismatches`` counts output volleys as
    before; the weights add:

    * ``weight_mismatches``: wrong weights summed over waves (every (wave, synapse) pair
      whose register differs from the interpreter after that wave counts once);
      ``weight_mismatch_waves``: waves with at least one wrong weight;
    * ``rng_mismatches``: (wave, generator) pairs whose LFSR state differs;
    * ``readout_mismatches``: weights read back through ``wread`` at the end that differ from
      the registers (or were not served);
    * ``first_weight_mismatch``: ``{"wave", "layer", "synapse"`` (IR path, e.g.
      ``layer0/col0/n1/d0/s0/w17``), ``"case"`` (capture, minus, search, backoff, none,
      frozen), ``"x"``, ``"z"``, ``"reward"``, ``"before"``, ``"expected"``, ``"got"}`` (for
      an LFSR state: ``"generator"`` instead of ``"synapse"``, no case);
    * ``final_weights[k][c]``: ``{"distal": nested list [q][D][S][p], "proximal": nested list
      or None}``, the chip's weights after the last wave; ``final_rng[k][c]``: its LFSR
      states (``None`` for a column that does not learn); ``final_weights_path``: the same
      as an ``.npz`` (keys ``layerK/colC/distal``, ``.../proximal``, ``.../rng``).
      :func:`trained_network` builds the chip-trained IR from them.
    """

    weight_mismatches: int = 0
    weight_mismatch_waves: int = 0
    rng_mismatches: int = 0
    readout_mismatches: int = 0
    first_weight_mismatch: dict[str, Any] | None = None
    final_weights: list | None = None
    final_rng: list | None = None
    final_weights_path: str | None = None

    @property
    def passed(self) -> bool:
        return not (self.mismatches or self.weight_mismatches or self.rng_mismatches
                    or self.readout_mismatches)


# --------------------------------------------------------------------------- layout
_Entry = Entry  # an observable register (weights, then LFSR states; names.json order)


def _state_vector(entries: list[Entry], it: Interpreter) -> np.ndarray:
    v = np.empty(len(entries), dtype=np.int64)
    for n, e in enumerate(entries):
        v[n] = stage_value(e, it)
    return v


def _check_layout(net: Network, entries: list[_Entry]) -> None:
    it = Interpreter(net)
    try:
        _state_vector(entries, it)
    except (IndexError, TypeError) as exc:
        raise VerificationMismatch(
            f"names.json lists weights or generators that the network does not have ({exc}); "
            "the Verilog was not generated from a network of this structure",
            first={"signal": "weights"}) from None


# --------------------------------------------------------------------------- reference
@dataclass
class _WaveArgs:
    learn: bool
    label: int | None
    proximal: dict[int, np.ndarray] | None
    layers: set[int] | None


def _wave_args(net: Network, n: int, learn: np.ndarray, labels: np.ndarray | None,
               prox: Mapping[int, np.ndarray]) -> _WaveArgs:
    """The interpreter call that models what the chip does in wave ``n``: learning layers
    learn when ``learn_en``, R-STDP layers only with a valid label; a labelled learning wave
    drives an enable layer's proximal lines from the label (the chip ignores its
    ``prox_*`` lines then)."""
    lab = None
    if labels is not None and int(labels[n]) >= 0:
        lab = int(labels[n])
    on = bool(learn[n])
    layers: set[int] | None = None
    if on:
        layers = {k for k, ly in enumerate(net.layers) if ly.learning is not None
                  and (ly.learning.kind != "rstdp" or lab is not None)}
        on = bool(layers)
    P: dict[int, np.ndarray] = {}
    if on and lab is not None:
        P.update(label_proximal(net, np.array([lab]), layers))
    for k, v in prox.items():
        if k not in P:
            P[k] = np.asarray(v)[n:n + 1]
    return _WaveArgs(on, lab, P or None, layers if on else None)


def expected_learning(net: Network, X: np.ndarray, entries: list[_Entry], learn: np.ndarray,
                      labels: np.ndarray | None, prox: Mapping[int, np.ndarray]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(outputs [N, Q], state after every wave [N, entries], initial state [entries])``."""
    it = Interpreter(net)
    N = X.shape[0]
    outs = np.empty((N, net.outputs), dtype=np.int64)
    states = np.empty((N, len(entries)), dtype=np.int64)
    init = _state_vector(entries, it)
    for n in range(N):
        a = _wave_args(net, n, learn, labels, prox)
        res = it.step(X[n], learn=a.learn, label=a.label, proximal=a.proximal, layers=a.layers)
        outs[n] = res.outputs[-1][0]
        states[n] = _state_vector(entries, it)
    return outs, states, init


def _case(net: Network, X: np.ndarray, learn, labels, prox, wave: int, e: _Entry) -> dict:
    """STDP case of synapse ``e`` in ``wave`` (re-runs the interpreter up to that wave)."""
    it = Interpreter(net)
    for n in range(wave):
        a = _wave_args(net, n, learn, labels, prox)
        it.step(X[n], learn=a.learn, label=a.label, proximal=a.proximal, layers=a.layers)
    a = _wave_args(net, wave, learn, labels, prox)
    res = it.step(X[wave], learn=False, label=a.label, proximal=a.proximal)
    layer = net.layers[e.layer]
    rule = layer.learning
    if not a.learn or rule is None or (a.layers is not None and e.layer not in a.layers):
        return {"case": "frozen", "x": None, "z": None, "reward": None}
    col = layer.columns[e.column]
    tr = res.traces[e.layer][e.column]
    zs, zp = credited(tr, rule, col.proximal_mode)
    if e.kind == "w":
        x = int(res.inputs[e.layer][0, layer.column_inputs(e.column)][e.index[3]])
    else:
        pofs = sum(c.proximal_inputs for c in layer.columns[:e.column])
        pv = None if a.proximal is None else a.proximal.get(e.layer)
        x = NONE if pv is None else int(pv[0, pofs + e.index[-1]])
    z = int(zs[0][e.index[:3]]) if len(e.index) == 4 else int(zp[0][e.index[0]])
    r = reward(tr.out[0], a.label) if rule.kind == "rstdp" else None
    if x >= 0 and z >= 0:
        case = "capture" if x <= z else "minus"
    elif x >= 0:
        case = "search"
    elif z >= 0:
        case = "backoff"
    else:
        case = "none"
    if r == 0 and case != "search":
        case = "none"
    elif r is not None and r != 0 and case == "search":
        case = "none"
    return {"case": case, "x": x, "z": z, "reward": r}


# --------------------------------------------------------------------------- bench files
def learn_wrapper(verilog_text: str, top: str, entries: list[Entry],
                  taps: list[str] | None = None) -> tuple[str, str, int]:
    """``(Verilog, module name, dbg width)`` of the bench's toplevel: ``top`` as ``dut``,
    every port passed through, plus ``dbg`` (entry 0 at the least significant bits) and
    ``dbg_done`` (bit ``i``: the ``done`` pulse ``taps[i]`` of a stage)."""
    from ..flows.harness import parse_ports

    name = f"{top}_lw"
    taps = list(taps or [])
    ports = parse_ports(verilog_text, top)
    width = sum(e.bits for e in entries)
    decl, conn = [], []
    for p in ports:
        rng = f"[{p.width - 1}:0] " if p.width > 1 else ""
        decl.append(f"  {p.direction} {rng}{p.name};")
        conn.append(f"    .{p.name}({p.name})")
    parts = [f"dut.{e.signal}" for e in reversed(entries)]
    body = ",\n    ".join(parts) if parts else "1'b0"
    done = ", ".join(f"dut.{t}" for t in reversed(taps)) if taps else "1'b0"
    text = "\n".join([
        "// bench wrapper written by neutnngen.verify.learn: the design as `dut`, plus `dbg`,",
        "// every weight register and LFSR state (names.json order), and `dbg_done`, every",
        "// stage's done pulse, by hierarchical reference",
        f"module {name}({', '.join([p.name for p in ports] + ['dbg', 'dbg_done'])});",
        *decl,
        f"  output [{max(width, 1) - 1}:0] dbg;",
        f"  output [{max(len(taps), 1) - 1}:0] dbg_done;",
        f"  {top} dut (",
        ",\n".join(conn),
        "  );",
        f"  assign dbg = {{\n    {body}\n  }};",
        f"  assign dbg_done = {{{done}}};",
        "endmodule",
        "",
    ])
    return text, name, width


def _learn_beats(info: TopInfo, X: np.ndarray, prox: dict[int, np.ndarray],
                 enable: list[np.ndarray], learn: np.ndarray, labels: np.ndarray | None
                 ) -> list[list[Any]]:
    """Per wave: ``[in_time, in_spike, prox_time, prox_spike, learn_en, label,
    label_valid]``."""
    out = []
    for n, b in enumerate(_beats(info, X, prox, enable)):
        lab, lv = 0, 0
        if labels is not None and int(labels[n]) >= 0:
            lab, lv = int(labels[n]), 1
        out.append(b + [int(learn[n]), lab, lv])
    return out


# --------------------------------------------------------------------------- analysis
def _decode(samples: list[str | None], entries: list[_Entry]) -> tuple[np.ndarray, np.ndarray]:
    """``(values [S, entries], known [S])`` from the ``dbg`` words (hex)."""
    width = sum(e.bits for e in entries)
    nbytes = max(1, (width + 7) // 8)
    S = len(samples)
    bits = np.zeros((S, nbytes * 8), dtype=np.int64)
    known = np.zeros(S, dtype=bool)
    for s, h in enumerate(samples):
        if h is None:
            continue
        b = np.frombuffer(int(h, 16).to_bytes(nbytes, "little"), dtype=np.uint8)
        bits[s] = np.unpackbits(b, bitorder="little")
        known[s] = True
    vals = np.zeros((S, len(entries)), dtype=np.int64)
    off = 0
    for n, e in enumerate(entries):
        vals[:, n] = bits[:, off:off + e.bits] @ (1 << np.arange(e.bits, dtype=np.int64))
        off += e.bits
    return vals, known


def _final(net: Network, entries: list[_Entry], vals: np.ndarray) -> tuple[list, list]:
    weights: list = []
    rng: list = []
    for layer in net.layers:
        wl, rl = [], []
        for col in layer.columns:
            dw = np.zeros(col.distal.weights.shape, dtype=np.int64)
            pw = None if col.proximal is None else np.zeros(col.proximal.weights.shape,
                                                              dtype=np.int64)
            g = None if layer.learning is None or col.random is None else \
                np.array(col.random.seeds, dtype=np.int64)
            wl.append([dw, pw])
            rl.append(g)
        weights.append(wl)
        rng.append(rl)
    for n, e in enumerate(entries):
        v = int(vals[n])
        if e.kind == "w":
            weights[e.layer][e.column][0][e.index] = v
        elif e.kind == "p":
            weights[e.layer][e.column][1][e.index] = v
        elif rng[e.layer][e.column] is not None:
            rng[e.layer][e.column][e.index[0]] = v
    return weights, rng


def trained_network(net: Network, final_weights, final_rng=None) -> Network:
    """The IR with the chip's weights (``LearnVerifyResult.final_weights``, nested lists or
    arrays) and, when given, its LFSR states as the generators' seeds (training continues
    bit-exactly from it)."""
    for k, layer in enumerate(net.layers):
        cols = []
        for c, col in enumerate(layer.columns):
            fw = final_weights[k][c]
            d = fw["distal"] if isinstance(fw, Mapping) else fw[0]
            p = fw["proximal"] if isinstance(fw, Mapping) else fw[1]
            nc = col.with_weights(np.asarray(d), None if p is None else np.asarray(p))
            if final_rng is not None and final_rng[k][c] is not None and nc.random is not None:
                nc = replace(nc, random=replace(nc.random, seeds=np.asarray(final_rng[k][c])))
            cols.append(nc)
        net = net.replace_layer(k, replace(layer, columns=tuple(cols)))
    return net


def describe_weight(first: Mapping[str, Any], count: int, waves: int) -> str:
    """One-paragraph description of the first weight (or LFSR state) mismatch."""
    if first.get("generator"):
        what = f"LFSR state of generator {first['generator']}"
    else:
        what = f"weight {first.get('synapse')} (STDP case {first.get('case')}"
        if first.get("x") is not None:
            what += f", x={first['x']}, z={first['z']}"
        if first.get("reward") is not None:
            what += f", reward {first['reward']}"
        what += f", weight before the wave {first.get('before')})"
    got = "X" if first.get("got") is None else first.get("got")
    return (f"on-chip learning differs from the reference interpreter after wave "
            f"{first.get('wave')}, layer {first.get('layer')}: {what}: expected "
            f"{first.get('expected')}, got {got}; {count} wrong value(s) over {waves} wave(s)")


# --------------------------------------------------------------------------- entry point
def run_learning_verification(
    net: Network,
    verilog_path: str | os.PathLike[str],
    names_path: str | os.PathLike[str],
    X: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    learn: bool | np.ndarray = True,
    prox: Mapping[int, np.ndarray] | None = None,
    simulator: str | None = None,
    workdir: str | os.PathLike[str],
    waves: bool = False,
    timeout: float = 600,
    raise_on_mismatch: bool = False,
    build_dir: str | os.PathLike[str] | None = None,
    check_latency: bool = True,
    readout: bool = True,
    backpressure: float = 0.0,
    gaps: float = 0.0,
    seed: int = 0,
) -> LearnVerifyResult:
    """Simulate a ``learn``-mode design on ``X[N, inputs]`` with ``learn_en`` (``learn``: a
    bool or one per wave) and compare, after every wave, the output volley and every weight
    and LFSR state with the interpreter (:class:`LearnVerifyResult`).

    * ``labels``: one label per wave for the layers that read labels (R-STDP, enable-mode
      proximal labels; a negative entry = ``label_valid`` low). An R-STDP layer does not
      learn in a wave without a label.
    * ``prox``: proximal volleys per layer ``{k: [N, P_k]}`` (default: enable lines set,
      other lines NONE); in a labelled learning wave the chip derives an enable layer's lines
      from the label instead (:func:`neutnngen.ir.interp.label_proximal`).
    * ``readout``: also read every weight back through ``wread`` after the last wave.
    * ``waves``, ``timeout``, ``build_dir``, ``check_latency``, ``simulator``,
      ``backpressure``, ``gaps``, ``seed``: as for
      :func:`neutnngen.verify.run_verification`; a failing run is repeated once with a
      waveform.
    * ``raise_on_mismatch``: raise :class:`VerificationMismatch` naming the first output or
      weight mismatch instead of returning.
    """
    t0 = time.monotonic()
    deadline = t0 + timeout
    verilog = Path(verilog_path).resolve()
    names_file = Path(names_path).resolve()
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not verilog.is_file():
        raise FileNotFoundError(f"Verilog file {verilog} does not exist")
    try:
        names = json.loads(names_file.read_text())
        info = TopInfo.from_names(names)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ToolchainError(f"cannot read the design's names file {names_file}: {exc!r}",
                             path=str(names_file)) from None
    if info.weights != "learn":
        raise ToolchainError(f"{names_file}: a {info.weights!r}-weight design has no on-chip "
                             "learning; emit it with weights='learn' (or use run_verification)",
                             path=str(names_file))
    _check_interface(net, info, names_file)
    top_doc = names["top"]
    label_bits = int(top_doc.get("LABEL_BITS", 0))
    rl = int(top_doc.get("WREAD_LATENCY", 1))

    X = np.asarray(X, dtype=np.int64)
    if X.ndim != 2 or X.shape[1] != net.inputs:
        raise ValueError(f"X must be [waves, {net.inputs}], got shape {X.shape}")
    N = X.shape[0]
    learn_v = np.array(np.broadcast_to(np.asarray(learn, dtype=bool), (N,)))
    labels_v = None
    if labels is not None:
        labels_v = np.asarray(labels, dtype=np.int64).reshape(-1)
        if labels_v.shape != (N,):
            raise ValueError(f"labels: expected {N} labels, got {labels_v.shape[0]}")
        if label_bits == 0:
            raise ValueError("labels given but the design has no label port (no learning "
                             "layer uses labels)")
        if (labels_v >= (1 << label_bits)).any():
            raise ValueError(f"labels must fit LABEL_BITS={label_bits} bits")
    prox_full, enable = _proximal(net, N, prox)
    entries, taps = observe(names)
    _check_layout(net, entries)
    exp_out, exp_state, init_state = expected_learning(net, X, entries, learn_v, labels_v,
                                                       prox_full)

    sim = default_simulator() if simulator is None else find_simulator(simulator)
    version = simulator_version(sim)
    text = verilog.read_text()
    wtext, wname, _ = learn_wrapper(text, info.name, entries, taps)
    wrapper = work / f"{wname}.v"
    if not wrapper.is_file() or wrapper.read_text() != wtext:
        wrapper.write_text(wtext)
    result_file = work / f"results-learn-{sim}.json"
    bench = work / "bench-learn.json"
    addrs = [e.addr for e in entries if e.kind != "g"] if readout else []
    idle, runs, extra = stream_options(info, N, backpressure, seed, gaps)
    max_cycles = 8 + 16 + (N + info.layers + 8) * info.wave_cycles + info.latency + extra
    bench.write_text(json.dumps({
        "wload": [], "top": info.to_dict(),
        "beats": _learn_beats(info, X, prox_full, enable, learn_v, labels_v), "idle": idle,
        "ready_runs": runs, "expected": exp_out.tolist(),
        "result": str(result_file), "max_cycles": int(max_cycles),
        "check_latency": bool(check_latency and not backpressure),
        "learn": {"label_bits": label_bits, "readout": addrs, "wread_latency": rl},
    }))

    bdir = (Path(build_dir).resolve() if build_dir is not None else work / "sim_build") / \
        f"{sim}-learn"
    build_s = 0.0
    with _runner_environment():
        runner = _timed_runner(sim, deadline)
        tb = time.monotonic()
        if _build(runner, sim, [verilog, wrapper], wname, bdir, version,
                  work / f"build-learn-{sim}.log", deadline):
            build_s = time.monotonic() - tb
        res, wave_file, log = _simulate(runner, sim, wname, bdir, work, bench, result_file,
                                        waves, deadline)
        ana = _analyse(net, X, entries, taps, res, exp_state, init_state, learn_v, labels_v,
                       prox_full, readout)
        if (res["mismatches"] or ana["bad"]) and not waves:
            res_w, wave_file, _ = _simulate(runner, sim, wname, bdir, work, bench, result_file,
                                            True, deadline)
            ana_w = _analyse(net, X, entries, taps, res_w, exp_state, init_state, learn_v,
                             labels_v, prox_full, readout)
            if (res_w["mismatches"], ana_w["bad"]) != (res["mismatches"], ana["bad"]):
                raise ToolchainError(
                    "the run with waveform dumping disagrees with the run without; "
                    f"log {log}", path=sim)
            res, ana = res_w, ana_w
    if res.get("protocol_error") and not res["mismatches"]:
        raise VerificationMismatch(f"{sim}: {res['protocol_error']}",
                                   first={"signal": res.get("protocol_signal", "in_ready")})
    # outputs again on the host (the bench's own comparison counts the same)
    from .protocol import Pulse

    pulses = [Pulse(int(c), None if t is None else int(t, 16), None if s is None else int(s, 16))
              for c, t, s in res["pulses"]]
    mism, first = compare(exp_out, pulses, res["offers"], info,
                          check_latency=check_latency and not backpressure)
    fw, fr = ana["final"]
    npz = work / "final_weights.npz"
    arrays = {}
    for k, layer in enumerate(net.layers):
        for c in range(len(layer.columns)):
            arrays[f"layer{k}/col{c}/distal"] = fw[k][c][0]
            if fw[k][c][1] is not None:
                arrays[f"layer{k}/col{c}/proximal"] = fw[k][c][1]
            if fr[k][c] is not None:
                arrays[f"layer{k}/col{c}/rng"] = fr[k][c]
    np.savez(npz, **arrays)
    out = LearnVerifyResult(
        simulator=sim, simulator_version=version, waves=N, mismatches=int(mism),
        first_mismatch=first, waveform=str(wave_file) if wave_file else None,
        cycles=int(res["cycles"]), wall_s=round(time.monotonic() - t0, 3), log=str(log),
        build_s=round(build_s, 3),
        weight_mismatches=ana["weights"], weight_mismatch_waves=ana["weight_waves"],
        rng_mismatches=ana["rng"], readout_mismatches=ana["readout"],
        first_weight_mismatch=ana["first"],
        final_weights=[[{"distal": d.tolist(), "proximal": None if p is None else p.tolist()}
                        for d, p in layer] for layer in fw],
        final_rng=[[None if g is None else g.tolist() for g in layer] for layer in fr],
        final_weights_path=str(npz),
    )
    if raise_on_mismatch and not out.passed:
        fw_ = out.first_weight_mismatch
        fo_ = out.first_mismatch
        # the earlier of the two (a wrong weight after wave n shows in the outputs later)
        if fo_ is not None and (fw_ is None or (fo_.get("wave") or 0) < fw_["wave"]):
            msg = describe(fo_, out.mismatches, out.waves)
            firstd = fo_
        elif fw_ is not None:
            msg = describe_weight(out.first_weight_mismatch,
                                  out.weight_mismatches + out.rng_mismatches, out.waves)
            firstd = out.first_weight_mismatch
        else:
            msg = f"{out.readout_mismatches} weight(s) read back through wread differ"
            firstd = {"signal": "wread_data"}
        msg += f" ({sim}; waveform {out.waveform}; log {out.log})"
        raise VerificationMismatch(msg, first=firstd)
    return out


def _analyse(net: Network, X: np.ndarray, entries: list[Entry], taps: list[str],
             res: Mapping[str, Any], exp_state: np.ndarray, init_state: np.ndarray, learn,
             labels, prox, readout: bool) -> dict[str, Any]:
    """Compare the sampled states with the expected ones: the ``n``-th sample taken after a
    stage's ``done`` holds that stage's registers after wave ``n``."""
    N = exp_state.shape[0]
    raw = list(res.get("samples") or [])
    per_tap: list[list[str | None]] = [[] for _ in taps]
    for d, h in raw:
        for t in range(len(taps)):
            if d is not None and (int(d) >> t) & 1:
                per_tap[t].append(h)
    wrong = np.zeros((N, len(entries)), dtype=bool)
    got = np.full((N, len(entries)), -1, dtype=np.int64)
    tap_of = np.array([-1 if e.tap is None else e.tap for e in entries], dtype=np.int64)
    is_rng = np.array([e.kind == "g" for e in entries], dtype=bool)
    last = np.zeros(len(entries), dtype=np.int64)
    for t in range(len(taps)):
        cols = np.flatnonzero(tap_of == t)
        if not len(cols):
            continue
        smp = per_tap[t][:N] + [None] * max(0, N - len(per_tap[t]))
        vals, known = _decode(smp, entries)
        g = vals[:, cols]
        ok = known[:, None]
        wrong[:, cols] = ~ok | (g != exp_state[:, cols])
        got[:, cols] = np.where(ok, g, -1)
        if N:
            last[cols] = vals[N - 1, cols]
    wrong[:, tap_of < 0] = True  # a register without a done tap cannot be observed
    w_wrong = wrong[:, ~is_rng]
    r_wrong = wrong[:, is_rng]
    first = None
    bad_waves = np.flatnonzero(wrong.any(axis=1))
    if len(bad_waves):
        n = int(bad_waves[0])
        i = int(np.flatnonzero(wrong[n])[0])
        e = entries[i]
        before = init_state[i] if n == 0 else exp_state[n - 1, i]
        first = {"wave": n, "layer": e.layer, "column": e.column,
                 "expected": int(exp_state[n, i]),
                 "got": None if got[n, i] < 0 else int(got[n, i]), "before": int(before),
                 "signal": e.signal}
        if e.kind == "g":
            first["generator"] = e.path
        else:
            first["synapse"] = e.path
            first.update(_case(net, X, learn, labels, prox, n, e))
    final = _final(net, entries, last)
    rb = list(res.get("readout") or [])
    regs = [int(v) for v, e in zip(last, entries, strict=True) if e.kind != "g"]
    n_read = 0
    if readout:
        n_read = sum(1 for a, b in zip(rb, regs, strict=False) if a is None or int(a) != b)
        n_read += max(0, len(regs) - len(rb))
    return {
        "weights": int(w_wrong.sum()), "weight_waves": int(w_wrong.any(axis=1).sum()),
        "rng": int(r_wrong.sum()), "readout": int(n_read), "first": first,
        "bad": int(wrong.sum() + n_read), "final": final,
    }
