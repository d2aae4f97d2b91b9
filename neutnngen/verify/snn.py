"""Verification of a generated SNN design (:mod:`neutnngen.hdl.snn`) against the interpreter.

A plain Verilog testbench (built and cached like the streamed TNN bench,
:mod:`neutnngen.verify.stream`) loads every sample's input integers through the input
stream (with seeded source gaps), collects the output beats under seeded ``out_ready``
backpressure and writes every neuron update of the ``trace_*`` ports: segment, neuron,
membrane, spike, synaptic current, in the order sample, step, segment, neuron. The host
compares *every layer's membrane, spike and synaptic current at every time step* of every
sample with the interpreter (docs/model.md §11), and the output beats (spike count, first
spike step, final membrane) with its readout; the first divergence names the sample, the
time step, the layer (the ``lif`` stage), the neuron and the field.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ToolchainError
from ..ir.snn_plan import SnnPlan, plan_snn

FIELDS = ("v", "s", "i")


def reference(net, X: np.ndarray) -> dict[str, Any]:
    """Per ``lif`` stage (segment order): membranes, spikes and synaptic currents after
    every step ``[B, T, n]``, from the interpreter's kernels; and the last stage's counts,
    first-spike steps (-1: none) and final membranes."""
    from ..ir.kinds import kind_of
    from ..ir.stages.act import act_forward, act_saturations
    from ..ir.stages.snn import LIFTrace, lif_run

    x = np.asarray(X, dtype=np.int64)
    segs = []
    spikes = trace = None
    for st in net.stages:
        k = kind_of(st).name
        if k == "lif":
            spikes, trace = lif_run(x, st, record=True)
            segs.append({"name": st.name, "v": trace.v_steps, "s": spikes, "i": trace.i_steps,
                         "saturations": int(trace.saturations.sum()), "out": spikes})
            x = spikes
        elif k == "act":  # an ANN layer: its values, no spikes (the RTL's s and I are 0)
            y = act_forward(x, st)
            zero = np.zeros_like(y)
            spikes = zero
            trace = LIFTrace(y[:, -1], zero.sum(axis=1))
            segs.append({"name": st.name, "v": y, "s": zero, "i": zero,
                         "saturations": int(act_saturations(x, st).sum()), "out": y})
            x = y
        else:
            x, _ = kind_of(st).init_state(st, net.time).forward(x, None)
    assert spikes is not None and trace is not None
    fired = spikes.any(axis=1)
    first = np.where(fired, spikes.argmax(axis=1), -1)
    return {"segments": segs, "count": trace.counts, "first": first, "v": trace.v}


def testbench(plan: SnnPlan, depth: int, wdepth: int, front: dict | None = None,
              back: dict | None = None) -> str:
    """The Verilog bench of an SNN design; ``front``/``back``: the ``"top"`` infos of the TNN
    stages of a mixed design (a front: the input beats are volleys ``{in_spike, in_time}``
    and the bench logs the beats the SNN takes from it; a back: the output beats are its
    volleys, logged as ``out_spike out_time`` in hex)."""
    from .stream import TB_NAME

    i = plan.info()
    # every segment's trace ports; one unsigned wire per lane, printed as a plain number and
    # read back as two's complement by the host (Verilator 5.048 prints narrow signed wires
    # cut from a wider bus wrongly)
    decl, conn, rows = [], [], []
    for sg in plan.segments:
        k, vb, P = sg.index, sg.lif.mem_bits, sg.lanes
        nw_ = max(1, P.bit_length())
        idxw = max(1, (sg.groups * P - 1).bit_length())
        decl.append(f"  wire tr{k}_valid; wire [{idxw - 1}:0] tr{k}_idx; "
                    f"wire [{nw_ - 1}:0] tr{k}_n; wire [{P - 1}:0] tr{k}_s;\n"
                    f"  wire [{vb * P - 1}:0] tr{k}_v, tr{k}_i;")
        conn.append(", ".join(f".trace{k}_{f}(tr{k}_{f})"
                              for f in ("valid", "idx", "n", "v", "s", "i")))
        for ln in range(P):
            decl.append(f"  wire [{vb - 1}:0] tv{k}_{ln} = tr{k}_v[{ln * vb} +: {vb}];\n"
                        f"  wire [{vb - 1}:0] ti{k}_{ln} = tr{k}_i[{ln * vb} +: {vb}];")
        rows.append(f"    if (tr{k}_valid) begin\n" + "\n".join(
            f"      if (tr{k}_n > {ln}) $fwrite(ft, \"{k} %0d %0d %0d %0d\\n\", "
            f"tr{k}_idx + {ln}, tv{k}_{ln}, tr{k}_s[{ln}], ti{k}_{ln});" for ln in range(P))
            + "\n    end")
    trace_decl, trace_conn, lanes = "\n".join(decl), ",\n    ".join(conn), "\n".join(rows)
    reg = plan.weights == "register"
    wl = ""
    if reg:
        wl = (f"  reg wload_en; reg [{plan.wa - 1}:0] wload_addr; reg [{plan.wd - 1}:0] wload_data;\n"
              f"  reg [{plan.wa - 1}:0] waddr [0:{wdepth - 1}];\n"
              f"  reg [{plan.wd - 1}:0] wdata [0:{wdepth - 1}];\n")
    wports = ".wload_en(wload_en), .wload_addr(wload_addr), .wload_data(wload_data)," if reg else ""
    wdrive = ""
    if reg:
        wdrive = """
    wload_en <= 0;
    if (!rst && wi < nw) begin
      wload_en <= 1; wload_addr <= waddr[wi]; wload_data <= wdata[wi]; wi <= wi + 1;
    end"""
    if front:
        nt = front["N_IN"] * front["TB_IN"]
        sw = nt + front["N_IN"]
        in_decl = (f"  wire [{nt - 1}:0] in_time = stim[k][{nt - 1}:0];\n"
                   f"  wire [{front['N_IN'] - 1}:0] in_spike = stim[k][{sw - 1}:{nt}];\n"
                   f"  wire bridge_valid; wire [{i['in_width'] - 1}:0] bridge_data;")
        in_conn = (".in_time(in_time), .in_spike(in_spike), .bridge_valid(bridge_valid), "
                   ".bridge_data(bridge_data),")
        bridge = '    if (bridge_valid) $fwrite(fb, "%0d\\n", bridge_data);\n'
    else:
        sw = i["in_width"]
        in_decl = "  assign in_data = stim[k];"
        in_conn = ".in_data(in_data),"
        bridge = ""
    if back:
        nto = back["N_OUT"] * back["TB_OUT"]
        out_decl = (f"  wire out_valid; wire [{nto - 1}:0] out_time; "
                    f"wire [{back['N_OUT'] - 1}:0] out_spike;")
        out_conn = ".out_valid(out_valid), .out_ready(out_ready), .out_time(out_time), " \
                   ".out_spike(out_spike),"
        out_log = '$fwrite(fo, "%h %h\\n", out_spike, out_time);'
    else:
        out_decl = f"""  wire out_valid, out_last;
  wire [{plan.cb - 1}:0] out_count;
  wire [{plan.tb - 1}:0] out_first;
  wire [{plan.segments[-1].lif.mem_bits - 1}:0] out_mem;
  wire [{max(1, (plan.n_out - 1).bit_length()) - 1}:0] out_index;"""
        out_conn = """.out_valid(out_valid), .out_ready(out_ready), .out_count(out_count),
    .out_first(out_first), .out_mem(out_mem), .out_index(out_index), .out_last(out_last),"""
        out_log = """$fwrite(fo, "%0d %0d %0d %0d %0d\\n", out_index, out_count, out_first, out_mem,
              out_last);"""
    return f"""`timescale 1ns/1ps
module {TB_NAME};
  reg clk = 0;
  reg rst = 1;
  wire in_ready;
  wire [{i['in_width'] - 1}:0] in_data;
{out_decl}
{trace_decl}
  reg out_ready = 0;
  reg gap = 0;
{wl}  reg [{sw - 1}:0] stim [0:{depth - 1}];
  reg [31:0] cfg [0:7];
  reg [31:0] nwords, nout, nw, maxc, wi, k, got, cyc, stall, waits;
  reg [31:0] lf;
  integer ft, fo, fs, fb;
  reg hold = 0;  // an offered beat stays offered until it is taken
  wire in_valid = !rst && (wi >= nw) && (k < nwords) && (!gap || hold);
{in_decl}
  {plan.name} dut(.clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready),
    {in_conn} {out_conn}
    {wports}
    {trace_conn});
  always #5 clk = ~clk;
  initial begin
    $readmemh("snn_cfg.hex", cfg);
    $readmemh("snn_stim.hex", stim);
{'    $readmemh("snn_waddr.hex", waddr); $readmemh("snn_wdata.hex", wdata);' if reg else ''}
    nwords = cfg[0]; nout = cfg[1]; nw = cfg[2]; maxc = cfg[3]; lf = cfg[4] | 1;
    k = 0; got = 0; cyc = 0; wi = 0; stall = 0; waits = 0;
    ft = $fopen("snn_trace.txt", "w");
    fo = $fopen("snn_out.txt", "w");
    fb = $fopen("snn_bridge.txt", "w");
`ifdef NEUTNNGEN_DUMP
    if ($test$plusargs("dumpfile")) begin : dump
      reg [8*256-1:0] fn;
      if ($value$plusargs("dumpfile=%s", fn)) $dumpfile(fn);
      $dumpvars(0, {TB_NAME});
    end
`endif
  end
  always @(posedge clk) begin
    cyc <= cyc + 1;
    if (cyc == 3) rst <= 0;
    lf <= {{lf[30:0], lf[31] ^ lf[21] ^ lf[1] ^ lf[0]}};
    gap <= cfg[5] != 0 && lf[3:0] == 0;
    out_ready <= cfg[6] == 0 || lf[6];{wdrive}
    hold <= in_valid && !in_ready;
    if (in_valid && in_ready) k <= k + 1;
    if (in_valid && !in_ready) waits <= waits + 1;
    if (out_valid && !out_ready) stall <= stall + 1;
{bridge}{lanes}
    if (out_valid && out_ready) begin
      {out_log}
      got <= got + 1;
    end
    if (got == nout || cyc >= maxc) begin
      fs = $fopen("snn_summary.txt", "w");
      $fwrite(fs, "%0d %0d %0d %0d %0d\\n", got == nout ? 1 : 2, cyc, k, stall, waits);
      $fclose(fs); $fclose(ft); $fclose(fo); $fclose(fb);
      $finish;
    end
  end
endmodule
"""


UNKNOWN = np.iinfo(np.int64).min  # an x/z value printed by the simulator: never expected


def _signed_cols(a: np.ndarray, cols: tuple[int, ...], bits: int) -> np.ndarray:
    """Columns ``cols`` of ``a`` (printed as unsigned ``bits``-bit numbers) as two's
    complement values; a value outside ``0 .. 2**bits - 1`` becomes :data:`UNKNOWN`."""
    a = a.copy()
    for c in cols:
        v = a[:, c]
        bad = (v < 0) | (v >= 1 << bits)
        v = np.where(v >= 1 << (bits - 1), v - (1 << bits), v)
        a[:, c] = np.where(bad, UNKNOWN, v)
    return a


def _readints(path: Path, cols: int) -> np.ndarray:
    toks = path.read_text().split()
    try:
        a = np.array(toks, dtype=np.int64) if toks else np.zeros(0, np.int64)
    except ValueError:  # x or z digits in a value (Icarus prints them as 'x'/'z')
        a = np.array([int(t) if t.lstrip("-").isdigit() else UNKNOWN for t in toks],
                     dtype=np.int64)
    return a[:len(a) - len(a) % cols].reshape(-1, cols)


def expected_rows(plan: SnnPlan, ref: dict) -> list[np.ndarray]:
    """Per segment, its trace rows ``(segment, neuron, V, s, I)`` in the RTL's order
    (sample, step, neuron)."""
    parts = []
    for k, sg in enumerate(ref["segments"]):
        B, T, n = sg["v"].shape
        cols = [np.full((B, T, n), k), np.broadcast_to(np.arange(n), (B, T, n)), sg["v"], sg["s"],
                sg["i"] if plan.segments[k].lif.alpha_q >= 0 else np.zeros((B, T, n), np.int64)]
        parts.append(np.stack(cols, axis=-1).reshape(-1, 5))
    return parts


def compare_trace(plan: SnnPlan, got: np.ndarray,
                  exp: list[np.ndarray]) -> tuple[int, dict | None]:
    """Mismatching trace rows of every segment (each segment's rows in its own order; the
    segments may interleave in time) and the first divergence: the earliest sample and
    step, then the earliest layer, with its neuron and field."""
    mism = 0
    cands = []
    T = plan.steps
    for k, ek in enumerate(exp):
        gk = got[got[:, 0] == k]
        n_k = plan.segments[k].n_out
        n = min(len(gk), len(ek))
        diff = np.flatnonzero((gk[:n] != ek[:n]).any(axis=1))
        mism += int(diff.size) + abs(len(gk) - len(ek))
        if diff.size:
            r = int(diff[0])
            b, rem = divmod(r, T * n_k)
            t, neuron = divmod(rem, n_k)
            fld = next(f for c, f in zip((2, 3, 4), FIELDS, strict=True)
                       if gk[r, c] != ek[r, c]) if gk[r, 1] == ek[r, 1] else "order"
            col = {"v": 2, "s": 3, "i": 4}.get(fld)
            cands.append(((b, t, k), {
                "sample": int(b), "step": int(t), "layer": plan.segments[k].name,
                "segment": k, "neuron": neuron, "field": fld,
                "expected": int(ek[r, col]) if col else int(ek[r, 1]),
                "got": int(gk[r, col]) if col else int(gk[r, 1])}))
        elif len(gk) != len(ek):
            b, rem = divmod(n, T * n_k)
            cands.append(((b, rem // n_k, k), {
                "sample": int(b), "layer": plan.segments[k].name, "segment": k,
                "field": "trace rows", "expected": int(len(ek)), "got": int(len(gk))}))
    rows = got[~np.isin(got[:, 0], np.arange(len(exp)))]
    mism += len(rows)  # rows of no segment (a broken segment number)
    first = min(cands, key=lambda c: c[0])[1] if cands else None
    if first is None and len(rows):
        first = {"sample": 0, "field": "trace rows", "expected": "segments "
                 f"0..{len(exp) - 1}", "got": f"segment {int(rows[0, 0])}"}
    return mism, first


def register_writes(plan: SnnPlan) -> list[tuple[int, int]]:
    """The ``wload`` writes that load the IR's weights and biases into a register design."""
    out = []
    mask = (1 << plan.wd) - 1
    for s in plan.segments:
        for j, w in enumerate(s.w.reshape(-1)):  # entry j // lanes, lane j % lanes
            out.append((s.wbase + j, int(w) & mask))
        for j, b in enumerate(s.bias):
            out.append((s.bbase + j, int(b) & mask))
    return out


def verify_snn(net, verilog: Path, X: np.ndarray, *, weights: str | None = None,
               lanes: Any = None, name: str | None = None, simulator: str | None = None,
               workdir: Path, architecture: str | None = None,
               y: np.ndarray | None = None, backpressure: bool = True,
               writes: list[tuple[int, int]] | None = None, timeout: float = 3600.0,
               seed: int = 1, toggles: bool = False) -> dict[str, Any]:
    """Simulate ``verilog`` (written by :func:`neutnngen.hdl.snn.emit_snn` for ``net``) on
    the input integers ``X`` and compare every layer, step and neuron with the interpreter.
    Returns a JSON-able dict (``mismatches``, ``first_mismatch``, ``samples``, ``cycles``,
    ``rtl_accuracy`` when ``y`` is given, ...).

    A TNN front feeding the SNN (:class:`~neutnngen.hdl.snn.MixedTop`): ``X`` are the
    front's input volleys (-1: silent line); the SNN part is compared as above on the
    interpreter's volleys of the front, and every beat the SNN takes from the front (line
    ``j``'s time or -1) with those volleys.

    ``toggles``: a Verilator build with toggle coverage; ``toggles`` in the result holds
    the design's bit flips (every signal of the design, the clock apart) over the run, per
    sample, and the mean activity (flips per signal bit per cycle): the switching that an
    energy estimate multiplies by a capacitance per cell (``neutnngen twin``)."""
    from ..flows.sim import find_simulator, simulator_version
    from ..ir.snn_plan import split_mixed
    from .stream import MIN_DEPTH, _call, _hexfile, _pow2, build

    X = np.asarray(X, dtype=np.int64)
    if X.ndim != 2 or X.shape[1] != net.inputs:
        raise ConfigError(f"stimulus of shape {X.shape}; expected [samples, {net.inputs}]")
    verilog = Path(verilog)
    info = design_info(verilog)
    top = name or str(info.get("name", verilog.stem))
    mix = split_mixed(net)
    X_all, net_all = X, net
    front = back = None
    if mix:  # the SNN part runs on the front's output volleys
        from ..ir.interp import Interpreter

        if mix.front is not None:
            front = info.get("front") or _tnn_info_missing(top)
            X = np.asarray(Interpreter(mix.front).forward(X_all), dtype=np.int64)
        if mix.back is not None:
            back = info.get("back") or _tnn_info_missing(top)
        net = mix.snn
    plan = plan_snn(net, weights=weights or info.get("weights", "hardwired"), name=top,
                    lanes=lanes or info.get("lanes", 1),
                    architecture=architecture or str(info.get("architecture", "serial")))
    if toggles:
        simulator = "verilator"
    if simulator is None:  # these designs run ~10**5 cycles a sample: Verilator if present
        from .simulators import available_simulators

        simulator = "verilator" if "verilator" in available_simulators() else None
    sim = find_simulator(simulator)
    version = simulator_version(sim)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    B = len(X)
    words = B if front else B * plan.n_in
    depth = _pow2(words, MIN_DEPTH)  # as the TNN stream bench: one build serves every
    # stimulus up to that size
    if plan.weights == "register" and writes is None:
        writes = register_writes(plan)
    writes = writes or []
    wdepth = _pow2(len(writes), 1)
    tb = testbench(plan, depth, wdepth, front, back)
    bridge_exp = None
    if front:  # one volley word {in_spike, in_time} per sample
        tbi, n_in = int(front["TB_IN"]), int(front["N_IN"])
        on = X_all >= 0
        words_ = []
        for row, sp in zip(np.where(on, X_all, 0).tolist(), on.tolist(), strict=True):
            w_ = 0
            for j, (v_, s_) in enumerate(zip(row, sp, strict=True)):
                w_ |= (int(v_) << (j * tbi)) | (int(s_) << (n_in * tbi + j))
            words_.append(w_)
        _hexfile(workdir / "snn_stim.hex", words_, n_in * tbi + n_in)
        bridge_exp = np.where(X < 0, (1 << plan.in_width) - 1, X).reshape(-1)
    else:
        stim = X.copy()
        if plan.encoder.mode == "times":
            stim = np.where(stim < 0, (1 << plan.in_width) - 1, stim)
        _hexfile(workdir / "snn_stim.hex", stim.reshape(-1).tolist(), plan.in_width)
    if plan.weights == "register":
        _hexfile(workdir / "snn_waddr.hex", [a for a, _ in writes], plan.wa)
        _hexfile(workdir / "snn_wdata.hex", [d for _, d in writes], plan.wd)
    per = plan.cycles_per_sample + 2 * plan.n_in + 4 * plan.n_out + 8
    if front:
        per += int(front["LATENCY"]) + int(front["WAVE_CYCLES"])
    maxc = 3 * (per * B + len(writes)) + 1000
    if back:
        per += int(back["LATENCY"]) + int(back["WAVE_CYCLES"])
    _hexfile(workdir / "snn_cfg.hex", [words, B if back else B * plan.n_out, len(writes), maxc,
                                       seed * 2654435761 & 0xFFFFFFFF, int(backpressure),
                                       int(backpressure), 0], 32)
    t0 = time.monotonic()
    exe, built = build(sim, verilog, tb, workdir / f"build-{sim}", version,
                       workdir / f"build-{sim}.log", deadline, toggles=toggles)
    build_s = time.monotonic() - t0 if built else 0.0
    log = workdir / f"sim-{sim}.log"
    for f in ("snn_summary.txt", "snn_trace.txt", "snn_out.txt", "snn_bridge.txt",
              "coverage.dat"):
        (workdir / f).unlink(missing_ok=True)
    argv = [str(exe)] if sim != "icarus" else [_vvp(), "-n", str(exe)]
    t1 = time.monotonic()
    rc, late = _call(argv, workdir, log, deadline)
    sim_s = time.monotonic() - t1
    summ = workdir / "snn_summary.txt"
    if late or not summ.is_file():
        from .simulators import log_file_tail

        raise ToolchainError("the SNN bench " + ("timed out" if late else
                                                 f"wrote no summary (exit {rc})")
                             + f"; log {log}:\n{log_file_tail(log)}", path=sim)
    status, cycles, taken, stall, waits = (int(v) for v in summ.read_text().split())
    ref = reference(net, X)
    exp = expected_rows(plan, ref)
    raw = _readints(workdir / "snn_trace.txt", 5)
    got = raw.copy()
    for sg in plan.segments:  # every segment's membranes have its own width
        sel = raw[:, 0] == sg.index
        got[sel] = _signed_cols(raw[sel], (2, 4), sg.lif.mem_bits)
    res: dict[str, Any] = {
        "samples": B, "simulator": sim, "weights": plan.weights, "cycles": cycles,
        "saturations": [sg["saturations"] for sg in ref["segments"]],
        "cycles_per_sample": plan.cycles_per_sample, "build_s": round(build_s, 2),
        "sim_s": round(sim_s, 2), "samples_per_s": round(B / max(sim_s, 1e-9), 2),
        "trace_rows": int(len(got)), "trace_rows_expected": int(sum(map(len, exp))),
        "backpressure": {"stalled_output_cycles": stall, "input_wait_cycles": waits},
        "timed_out": status == 2, "log": str(log),
    }
    mism, first = compare_trace(plan, got, exp)
    if bridge_exp is not None:  # the beats the SNN took from the TNN front
        gb_ = _readints(workdir / "snn_bridge.txt", 1).reshape(-1)
        m_ = min(len(gb_), len(bridge_exp))
        bd = np.flatnonzero(gb_[:m_] != bridge_exp[:m_])
        res["bridge_mismatches"] = int(bd.size) + abs(len(gb_) - len(bridge_exp))
        mism += res["bridge_mismatches"]
        if res["bridge_mismatches"]:
            r_ = int(bd[0]) if bd.size else m_
            b_, j_ = divmod(r_, plan.n_in)
            if first is None or b_ <= first.get("sample", B):
                def val(a, r):
                    return (-1 if int(a[r]) == (1 << plan.in_width) - 1 else int(a[r])) \
                        if r < len(a) else None
                first = {"sample": b_, "layer": "TNN front", "line": j_,
                         "field": "front output time (-1: silent)",
                         "expected": val(bridge_exp, r_), "got": val(gb_, r_)}
    if back:  # the TNN back's output volleys, against the whole network's
        ob = _compare_back(workdir / "snn_out.txt", back, net_all, X_all)
        res["back"] = {"layers": int(back["L"]), "wave_cycles": int(back["WAVE_CYCLES"])}
    else:  # the SNN's output beats
        outs = _signed_cols(_readints(workdir / "snn_out.txt", 5), (3,),
                            plan.segments[-1].lif.mem_bits)
        ob = compare_beats(plan, ref, outs, B, y)
    res["output_mismatches"] = ob.pop("output_mismatches")
    mism += res["output_mismatches"]
    out_first = ob.pop("first_mismatch")
    first = first or out_first
    res["mismatches"] = mism
    res["first_mismatch"] = first
    res["activity"] = activity(plan, net, X, ref)
    if toggles:
        res["toggles"] = _toggle_summary(workdir / "coverage.dat", cycles, B)
    if front:
        res["front"] = {"layers": int(front["L"]), "wave_cycles": int(front["WAVE_CYCLES"])}
    spikes = rtl_spike_trains(plan, got, exp, B)
    if spikes is not None:
        res["rtl_spikes"] = spikes
    res.update(ob)  # rtl_predictions, rtl_accuracy
    res["message"] = describe(first, mism, B) if first else ""
    return res


def rtl_spike_trains(plan: SnnPlan, got: np.ndarray, exp: list[np.ndarray],
                     samples: int) -> list[np.ndarray] | None:
    """The RTL's spike trains, one ``[samples, steps, n]`` array per ``lif`` stage, from the
    trace rows (None when a segment's row count is off)."""
    per_seg = [got[got[:, 0] == k] for k in range(len(exp))]
    if not all(len(g_) == len(e_) for g_, e_ in zip(per_seg, exp, strict=True)):
        return None
    return [g_[:, 3].reshape(samples, plan.steps, -1) for g_ in per_seg]


def _toggle_summary(path: Path, cycles: int, samples: int) -> dict[str, Any]:
    from .stream import TB_NAME, toggle_counts

    if not path.is_file():
        raise ToolchainError(f"the toggle-coverage run wrote no {path.name}", path=str(path))
    per = toggle_counts(path, f"{TB_NAME}.dut")
    logic = {k: v for k, v in per.items() if k.rsplit(".", 1)[-1] != "clk"}
    flips = sum(f for f, _ in logic.values())
    bits = sum(b for _, b in logic.values())
    return {"flips": flips, "signal_bits": bits, "cycles": cycles,
            "flips_per_sample": flips / max(samples, 1),
            "activity": flips / max(bits * max(cycles, 1), 1),
            "clock_flips": sum(f for k, (f, _) in per.items() if k.rsplit(".", 1)[-1] == "clk")}


def compare_beats(plan: SnnPlan, ref: dict, outs: np.ndarray, samples: int,
                  y: np.ndarray | None = None) -> dict[str, Any]:
    """The output beats ``outs`` (rows ``index, count, first, membrane, last``; membranes
    two's complement) against the interpreter's readout ``ref``: ``output_mismatches``,
    ``first_mismatch`` (or None) and, when every beat came, the RTL's own
    ``rtl_predictions`` (and ``rtl_accuracy`` against ``y``)."""
    from ..ir.stages.snn import LIFTrace, predict

    B, nl = samples, plan.n_out
    eo = np.stack([np.tile(np.arange(nl), B), ref["count"].reshape(-1),
                   np.where(ref["first"] < 0, (1 << plan.tb) - 1, ref["first"]).reshape(-1),
                   ref["v"].reshape(-1), np.tile((np.arange(nl) == nl - 1).astype(int), B)], 1)
    m2 = min(len(outs), len(eo))
    od = np.flatnonzero((outs[:m2] != eo[:m2]).any(axis=1))
    res: dict[str, Any] = {"output_mismatches": int(od.size) + abs(len(outs) - len(eo)),
                           "first_mismatch": None}
    if res["output_mismatches"]:
        r = int(od[0]) if od.size else m2
        res["first_mismatch"] = {"sample": r // nl, "neuron": r % nl, "field": "output beat",
                                 "expected": eo[r].tolist() if r < len(eo) else None,
                                 "got": outs[r].tolist() if r < len(outs) else None}
    if len(outs) == len(eo):
        mode = plan.segments[-1].lif.output
        o3 = outs.reshape(B, nl, 5)
        tr = LIFTrace(o3[:, :, 3], o3[:, :, 1])
        key = {"count": o3[:, :, 1], "membrane": o3[:, :, 3],
               "first": np.where(o3[:, :, 2] == (1 << plan.tb) - 1, -1, o3[:, :, 2])}
        pred = predict(key.get(mode, o3[:, :, 1]), tr, mode if mode in key else "count")
        res["rtl_predictions"] = pred.tolist()
        if y is not None:
            res["rtl_accuracy"] = float((pred == np.asarray(y)).mean())
    return res


def _compare_back(path: Path, back: dict, net_all, X_all: np.ndarray) -> dict[str, Any]:
    """The output volleys a TNN back wrote against the whole network's interpreter output:
    ``output_mismatches`` and ``first_mismatch`` (or None), as :func:`compare_beats`."""
    from ..ir.interp import Interpreter

    ev = np.asarray(Interpreter(net_all).forward(X_all), dtype=np.int64)
    gv = _volleys(path, int(back["N_OUT"]), int(back["TB_OUT"]))
    m2 = min(len(gv), len(ev))
    od = np.flatnonzero((gv[:m2] != ev[:m2]).any(axis=1))
    res: dict[str, Any] = {"output_mismatches": int(od.size) + abs(len(gv) - len(ev)),
                           "first_mismatch": None}
    if res["output_mismatches"]:
        r = int(od[0]) if od.size else m2
        res["first_mismatch"] = {"sample": r, "layer": "TNN back",
                                 "field": "output volley (-1: silent)",
                                 "expected": ev[r].tolist() if r < len(ev) else None,
                                 "got": gv[r].tolist() if r < len(gv) else None}
    return res


def _volleys(path: Path, n: int, tb: int) -> np.ndarray:
    """The output volleys a TNN back wrote (``out_spike out_time`` in hex per line) as
    ``[volleys, n]`` times, -1 for a silent line, :data:`UNKNOWN` for x/z."""
    rows = []
    for line in path.read_text().splitlines():
        try:
            sp, tm = (int(v, 16) for v in line.split())
        except ValueError:  # x or z digits
            rows.append([UNKNOWN] * n)
            continue
        rows.append([(tm >> (j * tb)) & ((1 << tb) - 1) if (sp >> j) & 1 else -1
                     for j in range(n)])
    return np.asarray(rows, dtype=np.int64).reshape(-1, n)


def _tnn_info_missing(top: str) -> dict:
    """The ``"top"`` info of the TNN part of a mixed design: it is in the names.json that
    compile writes next to the design; without it the bench cannot pack the volleys."""
    raise ConfigError(f"no names.json with the TNN stages' parameters next to the design "
                      f"{top!r}; verify the folder written by compile")


def describe(first: dict, mism: int, samples: int) -> str:
    if "line" in first:
        return (f"{mism} mismatches; first at sample {first['sample']}, TNN front output "
                f"line {first['line']}: expected {first['expected']}, got {first['got']}")
    if "step" in first:
        return (f"{mism} mismatching rows; first at sample {first['sample']}, step "
                f"{first['step']}, layer {first['layer']!r} neuron {first['neuron']}: "
                f"{first['field']} expected {first['expected']}, got {first['got']}")
    return (f"{mism} mismatches over {samples} samples; first at sample {first.get('sample')}: "
            f"{first['field']} expected {first['expected']}, got {first['got']}")


def _vvp() -> str:
    from ..flows.tools import find_tool

    return find_tool("vvp")


def design_info(verilog: Path) -> dict:
    """The ``"top"`` entry of the ``names.json`` next to the Verilog (empty if none)."""
    import json

    try:
        top = json.loads((verilog.parent / "names.json").read_text())["top"]
        return top if isinstance(top, dict) and top.get("kind") == "snn" else {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def activity(plan: SnnPlan, net, X: np.ndarray, ref: dict | None = None) -> dict[str, float]:
    """Per-sample activity of the design on ``X`` (means over the samples), an energy proxy
    that needs no cell library: ``cycles``; ``entry_reads`` (synapse entry words read, each
    with its input value); ``macs`` (multiply-accumulates with a nonzero input and a nonzero
    weight: the adds that toggle the accumulators); ``neuron_updates``; ``spikes``; and
    ``state_accesses`` (neuron state reads + writes). Exact for the RTL, which equals the
    interpreter, so it is computed from the interpreter's values of every step (``ref``:
    :func:`reference` of ``X`` when already at hand)."""
    from ..ir.kinds import kind_of

    X = np.asarray(X, dtype=np.int64)
    B = len(X)
    ref = ref if ref is not None else reference(net, X)
    x = X
    inputs = []  # the input train [B, T, n_in] of every segment
    for st in net.stages:
        k = kind_of(st).name
        if k == "encoder":
            x, _ = kind_of(st).init_state(st, net.time).forward(x, None)
            inputs.append(x)
        elif k in ("lif", "act"):
            x = ref["segments"][len(inputs) - 1]["out"]
            inputs.append(x)
    macs = 0
    for seg, xin in zip(plan.segments, inputs, strict=False):
        nz = (xin != 0).sum(axis=(0, 1))  # per input line: samples x steps with a nonzero value
        wnz = (seg.w != 0).sum(axis=1)  # per entry: lanes with a nonzero weight
        macs += int((nz[seg.idx] * wnz).sum())
    T = plan.steps
    updates = sum(s.n_out for s in plan.segments) * T
    return {
        "cycles": float(plan.cycles_per_sample + plan.n_in + 2 * plan.n_out),
        "entry_reads": float(sum(s.entries for s in plan.segments) * T),
        "macs": macs / max(B, 1),
        "neuron_updates": float(updates),
        "state_accesses": float(2 * sum(s.groups for s in plan.segments) * T),
        "spikes": float(sum(int(sg["s"].sum()) for sg in ref["segments"]) / max(B, 1)),
    }


def rom_names(plan: SnnPlan) -> tuple[str, ...]:
    """Memories of the design whose initial words are read as they are (its ROMs): the
    entry indices and group ends, and in ``hardwired`` mode the weights and biases (in
    ``register`` mode the bench loads those), and the ``rate`` encoder's seeds. Every other
    memory is written before it is read: a changed initial word there is no bug."""
    names = ["seeds"]
    for s in plan.segments:
        names += [f"seg{s.index}_index", f"seg{s.index}_ends"]
        if plan.weights == "hardwired":
            names += [f"seg{s.index}_weights", f"seg{s.index}_bias"]
    return tuple(names)


def mutation_campaign(net, verilog: Path, X: np.ndarray, *, n: int, seed: int = 0,
                      simulator: str | None = None, workdir: Path, timeout: float = 600,
                      weights: str | None = None, lanes: Any = None):
    """Seeded mutants of an SNN design (:func:`neutnngen.verify.mutate.run_mutants`: one
    small change to the Verilog each, memory words of the ROMs included), each run through
    :func:`verify_snn` on ``X``: caught when any layer, step, neuron or output beat differs
    or the design stops making progress. Returns the
    :class:`~neutnngen.verify.mutate.MutationReport`; ``workdir/report.json`` has every
    mutant."""
    import json

    from .mutate import run_mutants

    verilog = Path(verilog)
    info = design_info(verilog)
    weights = weights or info.get("weights", "hardwired")
    lanes = lanes or info.get("lanes", 1)
    top = str(info.get("name", verilog.stem))
    arch = str(info.get("architecture", "serial"))
    plan = plan_snn(net, weights=weights, name=top, lanes=lanes, architecture=arch)
    roms = rom_names(plan)

    def accept(site, line: str) -> bool:
        if site.kind != "rom":
            return True
        return line.strip().split("[", 1)[0] in roms

    def check(path: Path, mdir: Path) -> bool:
        try:
            r = verify_snn(net, path, X, weights=weights, lanes=lanes, name=top,
                           simulator=simulator, workdir=mdir, timeout=timeout,
                           architecture=arch)
        except ToolchainError as exc:
            if "timed out" in str(exc) or "wrote no summary" in str(exc):
                return True  # the mutant hangs or kills the simulation: the bench notices
            raise
        return r["mismatches"] > 0 or r["timed_out"]

    work = Path(workdir)
    rep = run_mutants(verilog, n, seed, check, work, accept=accept)
    (work / "report.json").write_text(json.dumps(rep.to_dict(), indent=1))
    return rep


def corner_inputs(net, n: int, seed: int = 0, real: np.ndarray | None = None) -> tuple[
        np.ndarray, dict[str, Any]]:
    """Up to ``n`` seeded adversarial input samples for an SNN design (the share of each
    kind is in the returned dict): every line at its largest value (drives membranes into
    saturation where the weights allow), every line silent, one line at a time at its
    largest value (a single synapse column), random values over the whole input range
    (real data rarely uses it), and real samples scaled up to the largest value (when
    ``real`` is given). ``times`` encoders get spikes at the first and the last step and
    no spike."""
    if n < 0:
        raise ConfigError(f"--corner {n}; expected a number of samples >= 0")
    enc = net.stages[0]
    rng = np.random.default_rng(seed)
    n_in = net.inputs
    if enc.mode == "times":
        hi, lo, none = enc.steps - 1, 0, -1
        pool = [np.full(n_in, hi), np.full(n_in, lo), np.full(n_in, none)]
        kinds = ["last step", "first step", "no spike"]
        rand = lambda: rng.integers(-1, enc.steps, n_in)  # noqa: E731
    else:
        hi = (1 << enc.in_bits) - 1
        pool = [np.full(n_in, hi), np.zeros(n_in, np.int64)]
        kinds = ["all max", "all silent"]
        rand = lambda: rng.integers(0, hi + 1, n_in)  # noqa: E731
    order = rng.permutation(n_in)
    for j in order[:max(0, n // 4)]:
        v = np.zeros(n_in, np.int64) if enc.mode != "times" else np.full(n_in, -1)
        v[j] = hi
        pool.append(v)
        kinds.append("one line")
    if real is not None and len(real) and enc.mode != "times":
        R = np.asarray(real, dtype=np.int64)
        for i in rng.choice(len(R), size=min(len(R), max(1, n // 4)), replace=False):
            m = max(int(R[i].max()), 1)
            pool.append(np.minimum(R[i] * hi // m, hi))
            kinds.append("real scaled to max")
    while len(pool) < n:
        pool.append(rand())
        kinds.append("random full range")
    X = np.stack(pool[:n]).astype(np.int64) if n else np.zeros((0, n_in), np.int64)
    share: dict[str, int] = {}
    for k in kinds[:n]:
        share[k] = share.get(k, 0) + 1
    return X, {"seed": seed, "samples": int(len(X)), "kinds": share}
