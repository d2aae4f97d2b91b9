"""Host side of the AXI4-Stream bench (``sim/axis_bench.py``) for tests and benchmarks:
:func:`run_axis` emits the AXIS top of a network and verifies it with
:func:`neutnngen.verify.axis.verify_axis` (what ``neutnngen verify`` runs on an
``--interface axis`` folder); :func:`run_board` simulates the UART board top around it."""

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
from neutnngen.verify.axis import verify_axis
from neutnngen.verify.simulators import (
    build_design,
    default_simulator,
    runner_environment,
    timed_runner,
)


def run_axis(net, X, workdir, *, seed: int = 0, p_valid: float = 0.7, p_ready: float = 0.6,
             bad_packets: bool = False, simulator: str | None = None, name: str = "axis_top",
             timeout: float = 900.0, prox=None) -> dict:
    """Emit the AXIS top of ``net`` and run ``X[N, inputs]`` (with the proximal lines
    ``prox`` as ``neutnngen.hdl.simulate`` takes them) through it
    (:func:`neutnngen.verify.axis.verify_axis`); returns counts, mismatches and timings
    (``seconds``)."""
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    res = emit(net, workdir / "rtl", name=name, interface="axis")
    return verify_axis(net, res.verilog, res.names, X, workdir, simulator=simulator, seed=seed,
                       p_valid=p_valid, p_ready=p_ready, bad_packets=bad_packets, prox=prox,
                       timeout=timeout)


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
