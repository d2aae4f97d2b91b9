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
interpreter, wave by wave, :mod:`neutnngen.verify.learn_check`); the comparison is done there,
after the simulation.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ToolchainError, VerificationMismatch
from ..flows.sim import simulator_version
from ..ir.common import mu_shift_per_wave
from ..ir.nodes import Network
from .learn_check import (  # noqa: F401 (trained_network, expected_learning re-exported)
    WEIGHT_KINDS,
    analyse,
    check_layout,
    describe_weight,
    expected_learning,
    trained_network,
)
from .protocol import TopInfo, compare, describe
from .run import VerifyResult, _beats, _check_interface, _proximal, stream_options
from .simulators import (
    build_design,
    default_simulator,
    find_simulator,
    run_bench,
    runner_environment,
    timed_runner,
)
from .stages import Entry, observe


@dataclass(frozen=True)
class LearnVerifyResult(VerifyResult):
    """:class:`VerifyResult` of a learning run. ``mismatches`` counts output volleys as
    before; the weights add:

    * ``weight_mismatches``: wrong weights summed over waves (every (wave, synapse) pair
      whose register differs from the interpreter after that wave counts once);
      ``weight_mismatch_waves``: waves with at least one wrong weight;
    * ``rng_mismatches``: (wave, generator) pairs whose LFSR state differs;
      ``homeostasis_mismatches``: (wave, neuron) pairs whose M5 win-rate counter differs;
    * ``readout_mismatches``: weights read back through ``wread`` at the end that differ from
      the registers (or were not served);
    * ``first_weight_mismatch``: ``{"wave", "layer", "synapse"`` (IR path, e.g.
      ``layer0/col0/n1/d0/s0/w17``), ``"case"`` (capture, minus, search, backoff, none,
      frozen), ``"x"``, ``"z"``, ``"reward"``, ``"before"``, ``"expected"``, ``"got"}`` (for
      an LFSR state: ``"generator"`` instead of ``"synapse"``, no case);
    * ``final_weights[k][c]``: ``{"distal": nested list [q][D][S][p], "proximal": nested list
      or None}``, the chip's weights after the last wave; ``final_rng[k][c]``: its LFSR
      states (``None`` for a column that does not learn); ``final_h[k][c]``: its M5
      counters (``None`` without win-rate); ``final_weights_path``: the same as an
      ``.npz`` (keys ``layerK/colC/distal``, ``.../proximal``, ``.../rng``, ``.../h``).
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
    homeostasis_mismatches: int = 0
    final_h: list | None = None

    @property
    def passed(self) -> bool:
        return not (self.mismatches or self.weight_mismatches or self.rng_mismatches
                    or self.readout_mismatches or self.homeostasis_mismatches)


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
                 enable: list[np.ndarray], learn: np.ndarray, labels: np.ndarray | None,
                 mus: np.ndarray | None = None) -> list[list[Any]]:
    """Per wave: ``[in_time, in_spike, prox_time, prox_spike, learn_en, label,
    label_valid, mu_shift]``."""
    out = []
    for n, b in enumerate(_beats(info, X, prox, enable)):
        lab, lv = 0, 0
        if labels is not None and int(labels[n]) >= 0:
            lab, lv = int(labels[n]), 1
        out.append(b + [int(learn[n]), lab, lv, 0 if mus is None else int(mus[n])])
    return out


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
    mutsel: int | None = None,
    stop_on_mismatch: bool = False,
    mu_shift: int | np.ndarray | None = None,
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
    * ``mu_shift``: the M4 shift of every wave (an int or one per wave) for a design with a
      ``mu_shift`` port (``names.json`` ``top.ports``); the reference learns each wave with
      its rule's ``mu`` shifted alike. None: 0.
    * ``waves``, ``timeout``, ``build_dir``, ``check_latency``, ``simulator``,
      ``backpressure``, ``gaps``, ``seed``: as for
      :func:`neutnngen.verify.run_verification`; a failing run is repeated once with a
      waveform.
    * ``raise_on_mismatch``: raise :class:`VerificationMismatch` naming the first output or
      weight mismatch instead of returning.
    * ``mutsel``: the value written into the design's ``mutsel`` register (a mutant
      schemata, :func:`neutnngen.verify.mutate.schemata`; through the wrapper's ``dut``).
    * ``stop_on_mismatch``: no waveform rerun after a mismatch (mutation runs).
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
    mus_bits = int((top_doc.get("ports") or {}).get("mu_shift", ["in", 0])[1])
    mus_v = None
    if mu_shift is not None:
        if not mus_bits:
            raise ValueError("mu_shift given but the design has no mu_shift port (emit it "
                             "with mu_shift_bits > 0)")
        mus_v = mu_shift_per_wave(mu_shift, N, mus_bits)
    prox_full, enable = _proximal(net, N, prox)
    entries, taps = observe(names)
    check_layout(net, entries)
    exp_out, exp_state, init_state = expected_learning(net, X, entries, learn_v, labels_v,
                                                       prox_full, mus_v)

    sim = default_simulator() if simulator is None else find_simulator(simulator)
    version = simulator_version(sim)
    text = verilog.read_text()
    wtext, wname, _ = learn_wrapper(text, info.name, entries, taps)
    wrapper = work / f"{wname}.v"
    if not wrapper.is_file() or wrapper.read_text() != wtext:
        wrapper.write_text(wtext)
    result_file = work / f"results-learn-{sim}.json"
    bench = work / "bench-learn.json"
    addrs = [e.addr for e in entries if e.kind in WEIGHT_KINDS] if readout else []
    idle, runs, extra = stream_options(info, N, backpressure, seed, gaps)
    max_cycles = 8 + 16 + (N + info.layers + 8) * info.wave_cycles + info.latency + extra
    bench.write_text(json.dumps({
        "wload": [], "top": info.to_dict(),
        "beats": _learn_beats(info, X, prox_full, enable, learn_v, labels_v, mus_v),
        "idle": idle,
        "ready_runs": runs, "expected": exp_out.tolist(), "mutsel": mutsel,
        "result": str(result_file), "max_cycles": int(max_cycles),
        "check_latency": bool(check_latency and not backpressure),
        "learn": {"label_bits": label_bits, "readout": addrs, "wread_latency": rl},
    }))

    bdir = (Path(build_dir).resolve() if build_dir is not None else work / "sim_build") / \
        f"{sim}-learn"
    build_s = 0.0
    with runner_environment():
        runner = timed_runner(sim, deadline)
        tb = time.monotonic()
        if build_design(runner, sim, [verilog, wrapper], wname, bdir, version,
                  work / f"build-learn-{sim}.log", deadline):
            build_s = time.monotonic() - tb
        res, wave_file, log = run_bench(runner, sim, wname, bdir, work, bench, result_file,
                                        waves, deadline)
        ana = analyse(net, X, entries, taps, res, exp_state, init_state, learn_v, labels_v,
                       prox_full, readout, mus_v)
        if (res["mismatches"] or ana["bad"]) and not waves and not stop_on_mismatch:
            res_w, wave_file, _ = run_bench(runner, sim, wname, bdir, work, bench, result_file,
                                            True, deadline)
            ana_w = analyse(net, X, entries, taps, res_w, exp_state, init_state, learn_v,
                             labels_v, prox_full, readout, mus_v)
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
    fw, fr, fh = ana["final"]
    npz = work / "final_weights.npz"
    arrays = {}
    for k, layer in enumerate(net.layers):
        for c in range(len(layer.columns)):
            arrays[f"layer{k}/col{c}/distal"] = fw[k][c][0]
            if fw[k][c][1] is not None:
                arrays[f"layer{k}/col{c}/proximal"] = fw[k][c][1]
            if fr[k][c] is not None:
                arrays[f"layer{k}/col{c}/rng"] = fr[k][c]
            if fh[k][c] is not None:
                arrays[f"layer{k}/col{c}/h"] = fh[k][c]
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
        homeostasis_mismatches=ana["homeostasis"],
        final_h=[[None if h is None else h.tolist() for h in layer] for layer in fh],
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
