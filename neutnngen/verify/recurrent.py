"""Verification of a ``recurrent`` design (:mod:`neutnngen.hdl.recurrent`) against the
interpreter (docs/model.md §13): every neuron's membrane, spike and synaptic current at
every step, and the output beats (spike count, final membrane), on a streamed Verilog bench
(the SNN bench's conventions: ``in_*`` beats with seeded source gaps, ``out_ready`` stalls,
a cycle limit)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ToolchainError


def testbench(info: dict, depth: int, name: str) -> str:
    from .stream import TB_NAME

    n, M, sb = info["neurons"], info["mem_bits"], info["stim_bits"]
    nbits = max(1, (n - 1).bit_length())
    cb = max(1, int(info["steps"]).bit_length())
    return f"""`timescale 1ns/1ps
module {TB_NAME};
  reg clk = 0;
  reg rst = 1;
  wire in_ready, out_valid, out_last, trace_valid, trace_s;
  wire [{sb - 1}:0] in_data;
  wire [{cb - 1}:0] out_count;
  wire [{M - 1}:0] out_mem, trace_v, trace_i;
  wire [{nbits - 1}:0] out_index, trace_idx;
  reg out_ready = 0;
  reg gap = 0;
  reg hold = 0;
  reg [{sb - 1}:0] stim [0:{depth - 1}];
  reg [31:0] cfg [0:7];
  reg [31:0] nwords, nout, maxc, k, got, cyc, lf;
  integer ft, fo, fs;
  wire in_valid = !rst && (k < nwords) && (!gap || hold);
  assign in_data = stim[k];
  {name} dut(.clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready),
    .in_data(in_data), .out_valid(out_valid), .out_ready(out_ready), .out_count(out_count),
    .out_mem(out_mem), .out_index(out_index), .out_last(out_last),
    .trace_valid(trace_valid), .trace_idx(trace_idx), .trace_v(trace_v), .trace_s(trace_s),
    .trace_i(trace_i));
  always #5 clk = ~clk;
  initial begin
    $readmemh("rec_cfg.hex", cfg);
    $readmemh("rec_stim.hex", stim);
    nwords = cfg[0]; nout = cfg[1]; maxc = cfg[2]; lf = cfg[3] | 1;
    k = 0; got = 0; cyc = 0;
    ft = $fopen("rec_trace.txt", "w");
    fo = $fopen("rec_out.txt", "w");
  end
  always @(posedge clk) begin
    cyc <= cyc + 1;
    if (cyc == 3) rst <= 0;
    lf <= {{lf[30:0], lf[31] ^ lf[21] ^ lf[1] ^ lf[0]}};
    gap <= cfg[4] != 0 && lf[3:0] == 0;
    out_ready <= cfg[4] == 0 || lf[6];
    hold <= in_valid && !in_ready;
    if (in_valid && in_ready) k <= k + 1;
    if (trace_valid) $fwrite(ft, "%0d %0d %0d %0d\\n", trace_idx, trace_v, trace_s, trace_i);
    if (out_valid && out_ready) begin
      $fwrite(fo, "%0d %0d %0d %0d\\n", out_index, out_count, out_mem, out_last);
      got <= got + 1;
    end
    if (got == nout || cyc >= maxc) begin
      fs = $fopen("rec_summary.txt", "w");
      $fwrite(fs, "%0d %0d\\n", got == nout ? 1 : 2, cyc);
      $fclose(fs); $fclose(ft); $fclose(fo);
      $finish;
    end
  end
endmodule
"""


def verify_recurrent(net, verilog: Path, X: np.ndarray, *, workdir: Path,
                     simulator: str | None = None, backpressure: bool = True, seed: int = 1,
                     timeout: float = 3600.0) -> dict[str, Any]:
    """Simulate ``verilog`` (:func:`neutnngen.hdl.recurrent.emit_recurrent` of ``net``) on the
    stimulus currents ``X[samples, n]`` and compare every neuron, step and field with the
    interpreter; a JSON-able dict (``mismatches``, ``first_mismatch``, ``cycles``, ...)."""
    import json

    from ..flows.sim import find_simulator, simulator_version
    from ..ir.stages.recurrent import recurrent_run
    from .snn import _readints, _signed_cols, _vvp
    from .stream import MIN_DEPTH, _call, _hexfile, _pow2, build

    try:
        info = json.loads((Path(verilog).parent / "names.json").read_text())["top"]
        assert info["kind"] == "recurrent"
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        raise ConfigError(f"{verilog}: no names.json of a recurrent design next to it (write "
                          f"it with neutnngen compile)") from None
    nd = net.stages[0]
    X = np.asarray(X, dtype=np.int64)
    n, T, M, sb = nd.n, nd.steps, nd.mem_bits, int(info["stim_bits"])
    if X.ndim != 2 or X.shape[1] != n:
        raise ConfigError(f"stimulus of shape {X.shape}; expected [samples, {n}]")
    lim = 1 << (sb - 1)
    if X.size and (X.min() < -lim or X.max() >= lim):
        raise ConfigError(f"stimulus currents {int(X.min())}..{int(X.max())} do not fit the "
                          f"design's {sb}-bit signed in_data")
    if simulator is None:
        from .simulators import available_simulators

        simulator = "verilator" if "verilator" in available_simulators() else None
    sim = find_simulator(simulator)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    B = len(X)
    depth = _pow2(B * n, MIN_DEPTH)
    _hexfile(workdir / "rec_stim.hex", (X.reshape(-1) & ((1 << sb) - 1)).tolist(), sb)
    per = int(info["cycles_per_sample"]) + 6 * n + 8
    _hexfile(workdir / "rec_cfg.hex", [B * n, B * n, 3 * per * B + 1000,
                                       seed * 2654435761 & 0xFFFFFFFF, int(backpressure),
                                       0, 0, 0], 32)
    name = str(info["name"])
    exe, _ = build(sim, Path(verilog), testbench(info, depth, name), workdir / f"build-{sim}",
                   simulator_version(sim), workdir / f"build-{sim}.log", deadline)
    for f in ("rec_summary.txt", "rec_trace.txt", "rec_out.txt"):
        (workdir / f).unlink(missing_ok=True)
    log = workdir / f"sim-{sim}.log"
    t1 = time.monotonic()
    rc, late = _call([str(exe)] if sim != "icarus" else [_vvp(), "-n", str(exe)], workdir, log,
                     deadline)
    sim_s = time.monotonic() - t1
    summ = workdir / "rec_summary.txt"
    if late or not summ.is_file():
        from .simulators import log_file_tail

        raise ToolchainError("the recurrent bench " + ("timed out" if late else
                                                       f"wrote no summary (exit {rc})")
                             + f"; log {log}:\n{log_file_tail(log)}", path=sim)
    status, cycles = (int(v) for v in summ.read_text().split())
    _, tr = recurrent_run(nd, X, record=True)
    exp = np.stack([np.broadcast_to(np.arange(n), (B, T, n)), tr.v_steps, tr.s_steps,
                    tr.i_steps], axis=-1).reshape(-1, 4)
    got = _signed_cols(_readints(workdir / "rec_trace.txt", 4), (1, 3), M)
    k = min(len(got), len(exp))
    bad = np.flatnonzero((got[:k] != exp[:k]).any(axis=1))
    mism = int(bad.size) + abs(len(got) - len(exp))
    first = None
    if bad.size or len(got) != len(exp):
        r = int(bad[0]) if bad.size else k
        b, rem = divmod(r, T * n)
        t, i = divmod(rem, n)
        if r < k:
            col = next(c for c in (1, 2, 3) if got[r, c] != exp[r, c]) \
                if got[r, 0] == exp[r, 0] else 0
            first = {"sample": b, "step": t, "neuron": i,
                     "field": ("order", "v", "s", "i")[col],
                     "expected": int(exp[r, col]), "got": int(got[r, col])}
        else:
            first = {"sample": b, "field": "trace rows", "expected": len(exp), "got": len(got)}
    outs = _signed_cols(_readints(workdir / "rec_out.txt", 4), (2,), M)
    eo = np.stack([np.tile(np.arange(n), B), tr.counts.reshape(-1), tr.v.reshape(-1),
                   np.tile((np.arange(n) == n - 1).astype(int), B)], 1)
    k2 = min(len(outs), len(eo))
    ob = int(np.count_nonzero((outs[:k2] != eo[:k2]).any(axis=1))) + abs(len(outs) - len(eo))
    if ob and first is None:
        first = {"field": "output beat", "expected": eo[0].tolist(),
                 "got": outs[0].tolist() if len(outs) else None}
    return {"samples": B, "simulator": sim, "cycles": cycles, "timed_out": status == 2,
            "cycles_per_sample": int(info["cycles_per_sample"]), "trace_rows": int(len(got)),
            "trace_rows_expected": int(len(exp)), "mismatches": mism + ob,
            "output_mismatches": ob, "first_mismatch": first, "sim_s": round(sim_s, 2),
            "spikes": int(tr.counts.sum()), "log": str(log)}
