"""Host side of the AXI4-Stream bench (``sim/axis_bench.py``): emit the AXIS top of a
network, build it with the verifier's simulators (Verilator or Icarus, cached builds), send
the volleys as packets with seeded gaps on both sides (optionally a short and a long packet
first, which must be dropped and flagged), and compare every output packet (times and
winner) with the reference interpreter."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from neutnngen.flows.sim import simulator_version
from neutnngen.hdl import emit
from neutnngen.hdl.axis import input_packets, unpack_output, winner
from neutnngen.hdl.plan import make_plan
from neutnngen.ir import Interpreter
from neutnngen.verify.simulators import (
    build_design,
    default_simulator,
    runner_environment,
    timed_runner,
)


def run_axis(net, X, workdir, *, seed: int = 0, p_valid: float = 0.7, p_ready: float = 0.6,
             bad_packets: bool = False, simulator: str | None = None, name: str = "axis_top",
             timeout: float = 900.0, prox=None) -> dict:
    """Run ``X[N, inputs]`` (with the proximal lines ``prox`` as ``neutnngen.hdl.simulate``
    takes them) through the AXIS top of ``net``; returns counts, mismatches and timings
    (``seconds``)."""
    t0 = time.monotonic()
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    res = emit(net, workdir / "rtl", name=name, interface="axis")
    info = res.info
    tb_out = info["TB_OUT"]
    beats: list[list[int]] = []
    if bad_packets:
        n = int(info["axis"]["in_bytes"])
        beats += [[0x81, 0]] * (n - 2) + [[0x81, 1]]  # short: tlast on byte n-2
        beats += [[0x80, 0]] * (n + 3) + [[0x80, 1]]  # long: no tlast on byte n-1
    for pk in input_packets(make_plan(net, name=name), X, prox):
        beats += [[b, int(i == len(pk) - 1)] for i, b in enumerate(pk)]
    wave = int(info["WAVE_CYCLES"])
    per = wave + 2 * (int(info["axis"]["in_bytes"]) + net.outputs + 1)
    bench = {"beats": beats, "n_out": len(X), "seed": seed, "p_valid": p_valid,
             "p_ready": p_ready, "tail": 2 * wave + 4 * (net.outputs + 1),
             "max_cycles": int((len(beats) + per * (len(X) + 2)) / min(p_valid, p_ready)) + 1000,
             "result": str(workdir / "axis_result.json")}
    cfg_path = workdir / "axis_bench.json"
    cfg_path.write_text(json.dumps(bench))
    sim = simulator or default_simulator()
    deadline = time.monotonic() + timeout
    runner = timed_runner(sim, deadline)
    build_dir = workdir / f"build-{sim}"
    with runner_environment():
        build_design(runner, sim, res.verilog, name, build_dir, simulator_version(sim),
                     workdir / f"build-{sim}.log", deadline)
        t1 = time.monotonic()
        try:
            runner.test(test_module="axis_bench", hdl_toplevel=name,
                        hdl_toplevel_lang="verilog", build_dir=build_dir, test_dir=workdir,
                        results_xml=str(workdir / f"results-{sim}.xml"),
                        extra_env={"NEUTNNGEN_AXIS_BENCH": str(cfg_path)},
                        log_file=workdir / f"sim-{sim}.log")
        except (RuntimeError, SystemExit) as exc:
            if not Path(bench["result"]).is_file():
                raise RuntimeError(f"AXIS bench failed: {exc}; log {workdir}/sim-{sim}.log") from None
    out = json.loads(Path(bench["result"]).read_text())
    Y = Interpreter(net).forward(np.asarray(X), proximal=prox)
    want = [[int(t) for t in y] + [winner(y)] for y in Y]
    got = []
    for pk in out["packets"]:
        t, w = unpack_output(pk, tb_out)
        got.append(t + [w])
    mism = sum(1 for a, b in zip(got, want, strict=False) if a != b) + abs(len(got) - len(want))
    first = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), None)
    return {"simulator": sim, "waves": len(X), "packets": len(got), "mismatches": mism,
            "first_mismatch": first, "err_short": out["err_short"], "err_long": out["err_long"],
            "stalls_in": out["stalls_in"], "stalls_out": out["stalls_out"],
            "cycles": out["cycles"], "protocol_errors": out["errors"],
            "WAVE_CYCLES": wave, "LATENCY": info["LATENCY"],
            "sim_seconds": round(time.monotonic() - t1, 2),
            "seconds": round(time.monotonic() - t0, 2)}


def run_board(net, X, workdir, *, divisor: int = 4, simulator: str | None = None,
              name: str = "axis_top", timeout: float = 600.0, prox=None) -> dict:
    """Simulate the UART board top around the AXIS design of ``net``: the volleys (and the
    proximal lines ``prox``, as :func:`run_axis`) go in on ``uart_rx`` (``divisor`` cycles
    per bit), the bytes on ``uart_tx`` are compared with the interpreter (times and
    winner)."""
    from neutnngen.hdl.uart import board_verilog

    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    res = emit(net, workdir / "rtl", name=name, interface="axis")
    info = res.info
    wrapper = workdir / "rtl" / "board_top.v"
    wrapper.write_text(board_verilog(name, int(info["axis"]["in_bytes"]), divisor, leds=5))
    data = [b for pk in input_packets(make_plan(net, name=name), X, prox) for b in pk]
    k = net.outputs + 1
    bench = {"bytes": data, "divisor": divisor, "n_out": len(X) * k,
             "max_cycles": (len(data) + len(X) * k) * 10 * divisor
             + len(X) * info["WAVE_CYCLES"] + 2000,
             "result": str(workdir / "board_result.json")}
    cfg_path = workdir / "board_bench.json"
    cfg_path.write_text(json.dumps(bench))
    sim = simulator or default_simulator()
    deadline = time.monotonic() + timeout
    runner = timed_runner(sim, deadline)
    build_dir = workdir / f"build-{sim}"
    with runner_environment():
        build_design(runner, sim, [wrapper, res.verilog], "board_top", build_dir,
                     simulator_version(sim), workdir / f"build-{sim}.log", deadline)
        try:
            runner.test(test_module="board_bench", hdl_toplevel="board_top",
                        hdl_toplevel_lang="verilog", build_dir=build_dir, test_dir=workdir,
                        results_xml=str(workdir / f"results-{sim}.xml"),
                        extra_env={"NEUTNNGEN_BOARD_BENCH": str(cfg_path)},
                        log_file=workdir / f"sim-{sim}.log")
        except (RuntimeError, SystemExit) as exc:
            if not Path(bench["result"]).is_file():
                raise RuntimeError(f"board bench failed: {exc}; log {workdir}/sim-{sim}.log"
                                   ) from None
    out = json.loads(Path(bench["result"]).read_text())
    Y = Interpreter(net).forward(np.asarray(X), proximal=prox)
    want = [[int(t) for t in y] + [winner(y)] for y in Y]
    got = []
    for i in range(0, len(out["bytes"]), k):
        t, w = unpack_output(out["bytes"][i:i + k], info["TB_OUT"])
        got.append(t + [w])
    mism = sum(1 for a, b in zip(got, want, strict=False) if a != b) + abs(len(got) - len(want))
    return {"simulator": sim, "waves": len(X), "packets": len(got), "mismatches": mism,
            "led": out["led"], "errors": out["errors"]}
