"""Verification of a convolutional STDP design (:mod:`neutnngen.hdl.convstdp`) against the
interpreter (docs/model.md §14): every line of every stage (its first spike step) and the
decided class of every sample, on a streamed Verilog bench (the SNN bench's conventions:
pixel beats with seeded source gaps, ``out_ready`` stalls, a cycle limit)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ToolchainError


def testbench(info: dict, depth: int, name: str, lb: int, sbits: int) -> str:
    from .stream import TB_NAME

    ib = int(info["in_bits"])
    tb = max(1, int(info["steps"]).bit_length())
    cb = max(1, (int(info["classes"]) - 1).bit_length())
    return f"""`timescale 1ns/1ps
module {TB_NAME};
  reg clk = 0;
  reg rst = 1;
  wire in_ready, out_valid, out_none, trace_valid;
  wire [{ib - 1}:0] in_data;
  wire [{cb - 1}:0] out_class;
  wire [{sbits - 1}:0] trace_stage;
  wire [{lb - 1}:0] trace_line;
  wire [{tb - 1}:0] trace_t;
  reg out_ready = 0;
  reg gap = 0;
  reg hold = 0;
  reg [{ib - 1}:0] pix [0:{depth - 1}];
  reg [31:0] cfg [0:7];
  reg [31:0] nwords, nout, maxc, k, got, cyc, lf;
  integer ft, fo, fs;
  wire in_valid = !rst && (k < nwords) && (!gap || hold);
  assign in_data = pix[k];
  {name} dut(.clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready),
    .in_data(in_data), .out_valid(out_valid), .out_ready(out_ready), .out_class(out_class),
    .out_none(out_none), .trace_valid(trace_valid), .trace_stage(trace_stage),
    .trace_line(trace_line), .trace_t(trace_t));
  always #5 clk = ~clk;
  initial begin
    $readmemh("cs_cfg.hex", cfg);
    $readmemh("cs_pix.hex", pix);
    nwords = cfg[0]; nout = cfg[1]; maxc = cfg[2]; lf = cfg[3] | 1;
    k = 0; got = 0; cyc = 0;
    ft = $fopen("cs_trace.txt", "w");
    fo = $fopen("cs_out.txt", "w");
  end
  always @(posedge clk) begin
    cyc <= cyc + 1;
    if (cyc == 3) rst <= 0;
    lf <= {{lf[30:0], lf[31] ^ lf[21] ^ lf[1] ^ lf[0]}};
    gap <= cfg[4] != 0 && lf[3:0] == 0;
    out_ready <= cfg[4] == 0 || lf[6];
    hold <= in_valid && !in_ready;
    if (in_valid && in_ready) k <= k + 1;
    if (trace_valid) $fwrite(ft, "%0d %0d %0d %0d\\n", got, trace_stage, trace_line, trace_t);
    if (out_valid && out_ready) begin
      $fwrite(fo, "%0d %0d %0d\\n", out_class, out_none, cyc);
      got <= got + 1;
    end
    if (got == nout || cyc >= maxc) begin
      fs = $fopen("cs_summary.txt", "w");
      $fwrite(fs, "%0d %0d\\n", got == nout ? 1 : 2, cyc);
      $fclose(fs); $fclose(ft); $fclose(fo);
      $finish;
    end
  end
endmodule
"""


def expected(net, X: np.ndarray) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """The interpreter's first spike step of every line of every stage but the last
    (``{stage: [B, lines]}``, NONE coded as ``steps``) and the decided classes ``[B]``
    (NONE = -1), stage by stage as :class:`neutnngen.ir.interp.Interpreter` runs them."""
    from ..ir.kinds import kind_of
    from ..ir.stages.convstdp import first_times

    steps = int(net.stages[0].steps)
    h = np.asarray(X, dtype=np.int64)
    out: dict[int, np.ndarray] = {}
    for k, st in enumerate(net.stages):
        h, _ = kind_of(st).init_state(st, net.time).forward(h, None)
        if k < len(net.stages) - 1:
            t = first_times(h)
            out[k] = np.where(t < 0, steps, t)
    return out, np.asarray(h, np.int64).reshape(-1)


def verify_convstdp(net, verilog: Path, X: np.ndarray, *, workdir: Path,
                    simulator: str | None = None, backpressure: bool = True, seed: int = 1,
                    timeout: float = 3600.0) -> dict[str, Any]:
    """Simulate ``verilog`` (:func:`neutnngen.hdl.convstdp.emit_convstdp` of ``net``) on the
    pixels ``X[samples, H*W]``; compare every stage's lines and the decided class with the
    interpreter; a JSON-able dict (``mismatches``, ``first_mismatch``, ``cycles``, ...)."""
    import json

    from ..flows.sim import find_simulator, simulator_version
    from .snn import _readints, _vvp
    from .stream import MIN_DEPTH, _call, _hexfile, _pow2, build

    verilog = Path(verilog).resolve()  # the simulators run in the work folder
    try:
        info = json.loads((verilog.parent / "names.json").read_text())["top"]
        assert info["kind"] == "convstdp"
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        raise ConfigError(f"{verilog}: no names.json of a convolutional STDP design next to "
                          f"it (write it with neutnngen compile)") from None
    X = np.asarray(X, dtype=np.int64)
    HW = int(info["height"]) * int(info["width"])
    if X.ndim != 2 or X.shape[1] != HW:
        raise ConfigError(f"pixels of shape {X.shape}; expected [samples, {HW}]")
    top = (1 << int(info["in_bits"])) - 1
    if X.size and (X.min() < 0 or X.max() > top):
        raise ConfigError(f"pixel values {int(X.min())}..{int(X.max())}; the design takes "
                          f"0..{top} ({info['in_bits']}-bit in_data)")
    if simulator is None:
        from .simulators import available_simulators

        simulator = "verilator" if "verilator" in available_simulators() else None
    sim = find_simulator(simulator)
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    B = len(X)
    depth = _pow2(B * HW, MIN_DEPTH)
    _hexfile(workdir / "cs_pix.hex", X.reshape(-1).tolist(), int(info["in_bits"]))
    per = int(info["cycles_per_sample_bound"])
    _hexfile(workdir / "cs_cfg.hex", [B * HW, B, min(3 * per * B + 1000, (1 << 32) - 1),
                                      seed * 2654435761 & 0xFFFFFFFF, int(backpressure),
                                      0, 0, 0], 32)
    lines = max([s["lines"] for s in info["stages"]] + [HW])
    lb = max(1, (lines - 1).bit_length())
    sbits = max(1, len(info["stages"]).bit_length())
    name = str(info["name"])
    exe, _ = build(sim, Path(verilog), testbench(info, depth, name, lb, sbits),
                   workdir / f"build-{sim}", simulator_version(sim), workdir / f"build-{sim}.log",
                   deadline)
    for f in ("cs_summary.txt", "cs_trace.txt", "cs_out.txt"):
        (workdir / f).unlink(missing_ok=True)
    log = workdir / f"sim-{sim}.log"
    t1 = time.monotonic()
    rc, late = _call([str(exe)] if sim != "icarus" else [_vvp(), "-n", str(exe)], workdir, log,
                     deadline)
    sim_s = time.monotonic() - t1
    summ = workdir / "cs_summary.txt"
    if late or not summ.is_file():
        from .simulators import log_file_tail

        raise ToolchainError("the convolutional STDP bench " + ("timed out" if late else
                             f"wrote no summary (exit {rc})") + f"; log {log}:\n"
                             f"{log_file_tail(log)}", path=sim)
    status, cycles = (int(v) for v in summ.read_text().split())
    exp, decided = expected(net, X)
    tr = _readints(workdir / "cs_trace.txt", 4)
    names = {s["index"]: s["name"] for s in info["stages"]}
    steps = int(info["steps"])
    mism = 0
    first = None
    per_stage: dict[str, int] = {}
    for k, e in exp.items():
        got = np.full(e.shape, -1, np.int64)  # -1: never written in that sample
        sel = tr[tr[:, 1] == k] if len(tr) else tr
        ok = sel[:, 0] < B
        sel = sel[ok]
        # the last write of a line in a sample is its value (writes come in time order)
        key = sel[::-1, 0] * e.shape[1] + sel[::-1, 2]
        _, last = np.unique(key, return_index=True)
        got[sel[::-1][last, 0], sel[::-1][last, 2]] = sel[::-1][last, 3]
        bad = np.argwhere(got != e)
        per_stage[names[k]] = int(len(bad))
        mism += int(len(bad))
        if len(bad) and first is None:
            b, ln = (int(v) for v in bad[0])

            def show(v):
                return "never written" if v < 0 else ("NONE" if v == steps else int(v))
            first = {"sample": b, "stage": names[k], "line": ln,
                     "expected": show(int(e[b, ln])), "got": show(int(got[b, ln]))}
    outs = _readints(workdir / "cs_out.txt", 3)
    got_cls = np.where(outs[:, 1] == 1, -1, outs[:, 0]) if len(outs) else np.zeros(0, np.int64)
    k2 = min(len(got_cls), B)
    bad = np.flatnonzero(got_cls[:k2] != decided[:k2])
    ob = int(bad.size) + abs(len(got_cls) - B)
    if ob and first is None:
        b = int(bad[0]) if bad.size else k2
        first = {"sample": b, "stage": names[max(names)], "field": "decided class",
                 "expected": int(decided[b]) if b < B else None,
                 "got": int(got_cls[b]) if b < len(got_cls) else None}
    ends = outs[:, 2] if len(outs) else np.zeros(0, np.int64)
    return {"samples": B, "simulator": sim, "cycles": cycles, "timed_out": status == 2,
            "cycles_per_sample": round(cycles / max(B, 1), 1),
            "cycles_per_sample_bound": per, "mismatches": mism + ob,
            "line_mismatches": per_stage, "output_mismatches": ob,
            "first_mismatch": first, "sim_s": round(sim_s, 2),
            "decided": got_cls.tolist(), "silent": int(np.sum(decided == -1)),
            "answer_cycles": ends.tolist(), "log": str(log)}
