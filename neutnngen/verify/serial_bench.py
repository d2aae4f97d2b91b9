"""A streamed Verilog bench for designs with one input stream of words, one output stream and
a trace port (the recurrent and the convolutional STDP designs): every input word from a hex
file with seeded source gaps, ``out_ready`` stalls, a cycle limit, every trace beat and
every output beat written as a row of integers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ToolchainError


def read_info(verilog, kind: str, what: str) -> tuple[Path, dict]:
    """The absolute Verilog path (the simulators run in the work folder) and the ``"top"``
    entry of the ``names.json`` next to it, which must be of ``kind``."""
    import json

    verilog = Path(verilog).resolve()
    try:
        info = json.loads((verilog.parent / "names.json").read_text())["top"]
        assert info["kind"] == kind
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        raise ConfigError(f"{verilog}: no names.json of {what} next to it (write it with "
                          f"neutnngen compile)") from None
    return verilog, info


def _wires(ports: dict[str, int]) -> str:
    return "\n".join(f"  wire {f'[{w - 1}:0] ' if w > 1 else ''}{p};" for p, w in ports.items())


def testbench(name: str, in_width: int, depth: int, ports: dict[str, int],
              trace_cols: list[str], out_cols: list[str]) -> str:
    """The bench of design ``name``: ``ports`` are its outputs besides ``in_ready``,
    ``out_valid`` and ``trace_valid`` (name -> width); ``trace_cols`` and ``out_cols`` the
    expressions written per trace beat and per accepted output beat (``got``: the output
    beats so far, ``cyc``: the cycle)."""
    from .stream import TB_NAME

    conns = ",\n    ".join(f".{p}({p})" for p in ports)

    def fmt(cols):
        return " ".join(["%0d"] * len(cols)) + "\\n\", " + ", ".join(cols)
    return f"""`timescale 1ns/1ps
module {TB_NAME};
  reg clk = 0;
  reg rst = 1;
  wire in_ready, out_valid, trace_valid;
  wire [{in_width - 1}:0] in_data;
{_wires(ports)}
  reg out_ready = 0;
  reg gap = 0;
  reg hold = 0;
  reg [{in_width - 1}:0] words [0:{depth - 1}];
  reg [31:0] cfg [0:7];
  reg [31:0] nwords, nout, maxc, k, got, cyc, lf;
  integer ft, fo, fs;
  wire in_valid = !rst && (k < nwords) && (!gap || hold);
  assign in_data = words[k];
  {name} dut(.clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready),
    .in_data(in_data), .out_valid(out_valid), .out_ready(out_ready),
    .trace_valid(trace_valid),
    {conns});
  always #5 clk = ~clk;
  initial begin
    $readmemh("bench_cfg.hex", cfg);
    $readmemh("bench_in.hex", words);
    nwords = cfg[0]; nout = cfg[1]; maxc = cfg[2]; lf = cfg[3] | 1;
    k = 0; got = 0; cyc = 0;
    ft = $fopen("bench_trace.txt", "w");
    fo = $fopen("bench_out.txt", "w");
  end
  always @(posedge clk) begin
    cyc <= cyc + 1;
    if (cyc == 3) rst <= 0;
    lf <= {{lf[30:0], lf[31] ^ lf[21] ^ lf[1] ^ lf[0]}};
    gap <= cfg[4] != 0 && lf[3:0] == 0;
    out_ready <= cfg[4] == 0 || lf[6];
    hold <= in_valid && !in_ready;
    if (in_valid && in_ready) k <= k + 1;
    if (trace_valid) $fwrite(ft, "{fmt(trace_cols)});
    if (out_valid && out_ready) begin
      $fwrite(fo, "{fmt(out_cols)});
      got <= got + 1;
    end
    if (got == nout || cyc >= maxc) begin
      fs = $fopen("bench_summary.txt", "w");
      $fwrite(fs, "%0d %0d\\n", got == nout ? 1 : 2, cyc);
      $fclose(fs); $fclose(ft); $fclose(fo);
      $finish;
    end
  end
endmodule
"""


@dataclass
class BenchRun:
    simulator: str
    cycles: int
    timed_out: bool
    sim_s: float
    log: Path
    trace: np.ndarray  # [beats, len(trace_cols)]
    out: np.ndarray  # [beats, len(out_cols)]


def run_bench(verilog: Path, name: str, words: np.ndarray, in_width: int, nout: int,
              max_cycles: int, ports: dict[str, int], trace_cols: list[str],
              out_cols: list[str], *, workdir, simulator: str | None, backpressure: bool,
              seed: int, timeout: float, what: str) -> BenchRun:
    """Build and run :func:`testbench` on ``words`` (the input beats, masked to
    ``in_width`` bits) until ``nout`` output beats or ``max_cycles``; Verilator by default
    where it is installed."""
    from ..flows.sim import find_simulator, simulator_version
    from .simulators import available_simulators, log_file_tail
    from .snn import _readints, _vvp
    from .stream import MIN_DEPTH, _call, _hexfile, _pow2, build

    if simulator is None:
        simulator = "verilator" if "verilator" in available_simulators() else None
    sim = find_simulator(simulator)
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    words = np.asarray(words, dtype=np.int64).reshape(-1) & ((1 << in_width) - 1)
    _hexfile(workdir / "bench_in.hex", words.tolist(), in_width)
    _hexfile(workdir / "bench_cfg.hex", [len(words), nout, min(max_cycles, (1 << 32) - 1),
                                         seed * 2654435761 & 0xFFFFFFFF, int(backpressure),
                                         0, 0, 0], 32)
    tb = testbench(name, in_width, _pow2(len(words), MIN_DEPTH), ports, trace_cols, out_cols)
    exe, _ = build(sim, Path(verilog), tb, workdir / f"build-{sim}", simulator_version(sim),
                   workdir / f"build-{sim}.log", deadline)
    for f in ("bench_summary.txt", "bench_trace.txt", "bench_out.txt"):
        (workdir / f).unlink(missing_ok=True)
    log = workdir / f"sim-{sim}.log"
    t1 = time.monotonic()
    rc, late = _call([str(exe)] if sim != "icarus" else [_vvp(), "-n", str(exe)], workdir, log,
                     deadline)
    sim_s = time.monotonic() - t1
    summ = workdir / "bench_summary.txt"
    if late or not summ.is_file():
        raise ToolchainError(f"the {what} bench " + ("timed out" if late else
                             f"wrote no summary (exit {rc})") + f"; log {log}:\n"
                             f"{log_file_tail(log)}", path=sim)
    status, cycles = (int(v) for v in summ.read_text().split())
    return BenchRun(sim, cycles, status == 2, round(sim_s, 2), log,
                    _readints(workdir / "bench_trace.txt", len(trace_cols)),
                    _readints(workdir / "bench_out.txt", len(out_cols)))
