"""The cocotb bench of a generated SNN design (``sim/snn_bench.py``), checked against the
interpreter like :func:`neutnngen.verify.snn.verify_snn` (the plain Verilog bench).

:func:`verify_snn_cocotb` writes the bench config (the input words, seeded source gaps and
``out_ready`` stalls, the ``register`` weight writes), builds the design with Icarus or
Verilator through ``cocotb_tools.runner`` (cached like the TNN cocotb bench,
:mod:`neutnngen.verify.simulators`) and runs the bench, which records every segment's trace
records and every output beat, and checks the output handshake (``out_*`` stable while
``out_valid & ~out_ready``). The host then compares *every layer's membrane, spike and
synaptic current at every time step* of every sample, and the output beats (spike count,
first spike step, final membrane), in bulk with the same helpers as the Verilog bench
(:func:`~neutnngen.verify.snn.expected_rows`, :func:`~neutnngen.verify.snn.compare_trace`);
the first divergence names the sample, the time step, the layer, the neuron and the field.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ToolchainError
from ..ir.snn_plan import SnnPlan, plan_snn
from .snn import (
    UNKNOWN,
    _signed_cols,
    activity,
    compare_beats,
    compare_trace,
    describe,
    design_info,
    expected_rows,
    reference,
    register_writes,
    rtl_spike_trains,
)

BENCH_MODULE = "snn_bench"
# Verilator make variables of long runs: the model at -Os. cocotb's Verilator costs ~5-10 us
# a cycle (every signal public, VPI per clock edge); the -O0 model of the TNN bench builds
# in ~10 s, the -Os one in ~45 s but runs ~1.7x faster (measured: 5 MNIST-sized samples,
# 1.15M cycles, 10-15 s at -O0, 6-9 s at -Os on a loaded 2-core machine). Worth it from
# about OPTIMIZE_CYCLES simulated cycles on.
MAKE_OPT = {"OPT_FAST": "-Os"}
OPTIMIZE_CYCLES = 10_000_000
GAP_SHARE = 1 / 8  # input beats preceded by 1 .. 3 idle cycles (with backpressure)
STALL_SHARE = 1 / 2  # output beats that wait 1 .. 4 cycles with out_ready low


def stream_behaviour(n_inputs: int, n_beats: int, backpressure: bool,
                     seed: int) -> tuple[list[int], list[int]]:
    """Seeded idle cycles before every input beat and ``out_ready``-low cycles before every
    output beat (all 0 without ``backpressure``)."""
    if not backpressure:
        return [0] * n_inputs, [0] * n_beats
    rng = np.random.default_rng(seed)
    idle = np.where(rng.random(n_inputs) < GAP_SHARE, rng.integers(1, 4, n_inputs), 0)
    stall = np.where(rng.random(n_beats) < STALL_SHARE, rng.integers(1, 5, n_beats), 0)
    return idle.tolist(), stall.tolist()


def trace_rows(plan: SnnPlan, traces: list[list]) -> np.ndarray:
    """The bench's trace records (per segment ``[idx, n, v, s, i]`` raw port words, ``None``
    for X/Z) as rows ``(segment, neuron, V, s, I)`` (two's complement values; an X/Z value
    is :data:`~neutnngen.verify.snn.UNKNOWN`), one per lane holding a neuron, each
    segment's rows in the order it wrote them (each segment has its own lanes)."""
    parts = []
    for sg, recs in zip(plan.segments, traces, strict=True):
        if not recs:
            continue
        P, mb = sg.lanes, sg.lif.mem_bits
        mask = (1 << mb) - 1
        idx, n, v, s, i = (list(c) for c in zip(*recs, strict=True))

        def lane(col: list, shift: int, m: int) -> np.ndarray:
            return np.array([-1 if w is None else (w >> shift) & m for w in col], np.int64)

        cols = []
        for ln in range(P):  # [records, 5] per lane
            cols.append(np.stack([
                np.full(len(recs), sg.index, np.int64),
                np.array([UNKNOWN if w is None else w + ln for w in idx], np.int64),
                lane(v, ln * mb, mask), lane(s, ln, 1), lane(i, ln * mb, mask)], axis=1))
        rows = np.stack(cols, axis=1)  # [records, lanes, 5]: record order, then lane
        held = np.array([0 if w is None else min(w, P) for w in n], np.int64)
        rows = rows[np.arange(P)[None, :] < held[:, None]]
        s_col = rows[:, 3].copy()
        rows = _signed_cols(rows, (2, 4), mb)  # -1 (X/Z) is out of range: UNKNOWN
        rows[:, 3] = np.where(s_col < 0, UNKNOWN, s_col)
        parts.append(rows)
    return np.concatenate(parts) if parts else np.zeros((0, 5), np.int64)


def verify_snn_cocotb(net, verilog: Path, X: np.ndarray, *, weights: str | None = None,
                      lanes: Any = None, name: str | None = None,
                      architecture: str | None = None, simulator: str | None = None,
                      workdir: Path, y: np.ndarray | None = None, backpressure: bool = True,
                      writes: list[tuple[int, int]] | None = None, timeout: float = 3600.0,
                      seed: int = 1, waves: bool = False, build_dir: Path | None = None,
                      optimize: bool | None = None) -> dict[str, Any]:
    """Simulate ``verilog`` (written by :func:`neutnngen.hdl.snn.emit_snn` for ``net``) in the
    cocotb bench on the input integers ``X`` and compare every layer, step and neuron, and
    every output beat, with the interpreter. The design's name, weights mode, lanes (one
    number, or one per ``lif`` stage) and architecture come from the ``names.json`` next to ``verilog`` unless given. Returns a
    JSON-able dict like :func:`~neutnngen.verify.snn.verify_snn` (``bench: "cocotb"``,
    ``mismatches``, ``output_mismatches``, ``first_mismatch``, ``message``, ``trace_rows``,
    ``cycles``, ``sim_s``, ``build_s``, ``protocol_error``, ``rtl_accuracy`` when ``y`` is
    given, ...). ``optimize``: build a Verilator model at -Os (:data:`MAKE_OPT`; default:
    when the run is expected to take :data:`OPTIMIZE_CYCLES` cycles or more)."""
    from ..flows.sim import find_simulator, simulator_version
    from ..ir.snn_plan import split_mixed
    from .simulators import (
        available_simulators,
        build_design,
        run_bench,
        runner_environment,
        timed_runner,
    )

    if split_mixed(net) is not None:
        raise ConfigError(f"the cocotb SNN bench takes SNN designs only; {net.name!r} mixes TNN "
                          "and SNN stages: verify it with the Verilog SNN bench (verify_snn)")
    X = np.asarray(X, dtype=np.int64)
    if X.ndim != 2 or X.shape[1] != net.inputs:
        raise ConfigError(f"stimulus of shape {X.shape}; expected [samples, {net.inputs}]")
    verilog = Path(verilog).resolve()
    if not verilog.is_file():
        raise ConfigError(f"no Verilog at {verilog}", path=str(verilog))
    if timeout <= 0:
        raise ConfigError(f"timeout {timeout}; expected seconds > 0", path="timeout")
    info = design_info(verilog)
    top = name or str(info.get("name", verilog.stem))
    plan = plan_snn(net, weights=weights or info.get("weights", "hardwired"), name=top,
                    lanes=lanes or info.get("lanes", 1),
                    architecture=architecture or str(info.get("architecture", "serial")))
    stim = X.copy()
    if plan.encoder.mode == "times":
        stim = np.where(stim < 0, (1 << plan.in_width) - 1, stim)
    bad = (stim < 0) | (stim >= 1 << plan.in_width)
    if bad.any():
        b, j = (int(a[0]) for a in np.nonzero(bad))
        raise ConfigError(f"stimulus value {int(X[b, j])} (sample {b}, line {j}) does not fit "
                          f"the {plan.in_width}-bit in_data of the {plan.encoder.mode} encoder")
    if simulator is None:  # these designs run ~10**5 cycles a sample: Verilator if present
        simulator = "verilator" if "verilator" in available_simulators() else None
    sim = find_simulator(simulator)
    version = simulator_version(sim)
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    B = len(X)
    if plan.weights == "register" and writes is None:
        writes = register_writes(plan)
    writes = list(writes or [])
    idle, stalls = stream_behaviour(B * plan.n_in, B * plan.n_out, backpressure, seed)
    per = plan.cycles_per_sample + 2 * plan.n_in + 4 * plan.n_out + 8
    max_cycles = 3 * (per * B + len(writes)) + 1000 + sum(idle) + sum(stalls)
    if optimize is None:
        optimize = per * B + len(writes) >= OPTIMIZE_CYCLES
    result_file = work / f"snn-results-{sim}.json"
    bench = work / "snn_bench.json"
    bench.write_text(json.dumps({
        "inputs": stim.reshape(-1).tolist(), "idle": idle, "stalls": stalls,
        "wload": [[int(a), int(d)] for a, d in writes], "beats": B * plan.n_out,
        "segments": len(plan.segments), "max_cycles": int(max_cycles),
        "tail": 4 * plan.n_out + 16, "result": str(result_file)}))
    bdir = (Path(build_dir).resolve() if build_dir is not None else work / "sim_build") / sim
    build_s = 0.0
    with runner_environment():
        runner = timed_runner(sim, deadline)
        t0 = time.monotonic()
        if build_design(runner, sim, verilog, top, bdir, version, work / f"build-{sim}.log",
                        deadline, make_opt=MAKE_OPT if optimize else None):
            build_s = time.monotonic() - t0
        t1 = time.monotonic()
        raw, wave_file, log = run_bench(runner, sim, top, bdir, work, bench, result_file,
                                        waves, deadline, module=BENCH_MODULE)
        sim_s = time.monotonic() - t1
    if len(raw["traces"]) != len(plan.segments):
        raise ToolchainError(f"the SNN cocotb bench recorded {len(raw['traces'])} segments; the "
                             f"design has {len(plan.segments)}; log {log}", path=sim)

    ref = reference(net, X)
    exp = expected_rows(plan, ref)
    got = trace_rows(plan, raw["traces"])
    mism, first = compare_trace(plan, got, exp)
    beats = [[UNKNOWN if w is None else w for w in b[1:]] for b in raw["beats"]]
    outs = _signed_cols(np.array(beats, np.int64).reshape(-1, 5), (3,),
                        plan.segments[-1].lif.mem_bits)
    nl = plan.n_out
    ob = compare_beats(plan, ref, outs, B, y)
    out_mism = ob.pop("output_mismatches")
    mism += out_mism
    out_first = ob.pop("first_mismatch")
    first = first or out_first
    perr = raw.get("protocol_error")
    if perr:
        mism += 1  # a handshake violation is a mismatch even where the words end up equal
        if first is None:
            nb = len(raw["beats"])
            first = {"sample": nb // nl, "neuron": nb % nl, "field": "protocol",
                     "signal": raw.get("protocol_signal"),
                     "expected": "out_* stable while out_valid & ~out_ready", "got": perr}
    res: dict[str, Any] = {
        "samples": B, "simulator": sim, "simulator_version": version, "bench": "cocotb",
        "weights": plan.weights, "architecture": plan.architecture,
        "lanes": list(plan.lanes) if isinstance(plan.lanes, tuple) else plan.lanes,
        "cycles": int(raw["cycles"]),
        "saturations": [sg["saturations"] for sg in ref["segments"]],
        "cycles_per_sample": plan.cycles_per_sample, "build_s": round(build_s, 2),
        "optimized_build": bool(optimize and sim == "verilator"),
        "sim_s": round(sim_s, 2), "samples_per_s": round(B / max(sim_s, 1e-9), 2),
        "trace_rows": int(len(got)), "trace_rows_expected": int(sum(map(len, exp))),
        "backpressure": {"stalled_output_cycles": int(raw["stalled_cycles"]),
                         "input_wait_cycles": int(raw["input_wait_cycles"]),
                         "input_gap_cycles": int(sum(idle))},
        "timed_out": bool(raw["timed_out"]), "protocol_error": perr,
        "output_mismatches": out_mism, "mismatches": mism, "first_mismatch": first,
        "log": str(log), "waveform": str(wave_file) if wave_file else None,
    }
    res["activity"] = activity(plan, net, X, ref)
    spikes = rtl_spike_trains(plan, got, exp, B)
    if spikes is not None:
        res["rtl_spikes"] = spikes
    res.update(ob)  # rtl_predictions, rtl_accuracy
    msg = describe(first, mism, B) if first else ""
    if perr and first and first.get("field") != "protocol":
        msg = f"{perr}; {msg}"
    if raw.get("no_progress"):
        msg = f"{raw['no_progress']}; {msg}"
    res["message"] = msg
    return res
