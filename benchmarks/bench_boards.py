"""Board benchmark: the GunPoint column behind the AXI4-Stream top, verified and built into
bitstreams for the boards of flows/boards/, written to JSON.

    .venv/bin/python benchmarks/bench_boards.py [--out benchmarks/results/boards.json]
        [--weights hardwired,register] [--boards hx8k-breakout,ulx3s]

* trains the GunPoint column with examples/ucr_gunpoint.toml (p = 150, q = 2, 3-bit times
  and weights, seed 0);
* per weight mode: ``compile --interface axis``; the emitted Verilog in cocotb on all 150
  test waves with seeded tvalid/tready gaps and a short and a long packet first
  (sim/axis_host.py; mismatches against the interpreter, times and winner byte);
* the AXIS core alone on iCE40 HX8K (``synth_ice40``, I/O harness when its ports exceed the
  package) and, per board, ``synth --board`` (UART bridge + board top, the board's pins and
  clock): utilisation, Fmax, timing met, bitstream size, wall time.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "sim"))

import axis_host  # noqa: E402

from neutnngen import config, driver, flows  # noqa: E402
from neutnngen.flows.board import build_bitstream, load_board  # noqa: E402
from neutnngen.hdl import emit  # noqa: E402
from neutnngen.hdl.uart import board_verilog, uart_divisor  # noqa: E402


def board_run(em, info: dict, board_name: str, work: Path) -> dict:
    board = load_board(board_name)
    div = uart_divisor(board.clock_mhz * 1e6, 115200)
    wl = (info["A"], info["WRES"]) if info["weights"] == "register" else None
    wrapper = board_verilog(info["name"], info["N_IN"], div, leds=board.leds, wload=wl)
    r = build_bitstream({"board_top.v": wrapper, em.verilog.name: em.verilog.read_text()},
                        "board_top", board, workdir=work)
    d = r.to_dict()
    d["utilisation"] = {k: v for k, v in d["utilisation"].items() if v[0]}
    d.pop("workdir")
    d["bitstream"] = Path(d["bitstream"]).name if d["bitstream"] else None
    d["uart_divisor"] = div
    return d


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "boards.json"))
    ap.add_argument("--weights", default="hardwired,register")
    ap.add_argument("--boards", default="hx8k-breakout,ulx3s")
    args = ap.parse_args()
    cfg = config.load(ROOT / "examples" / "ucr_gunpoint.toml")
    data = driver.prepare_data(cfg)
    t0 = time.perf_counter()
    net, _ = driver.train_network(cfg, driver.init_network(cfg, data), data, show=False)
    res: dict = {"design": "GunPoint column 150x2, 3-bit times/weights (examples/ucr_gunpoint.toml)",
                 "train_s": round(time.perf_counter() - t0, 1), "modes": {}}
    with tempfile.TemporaryDirectory() as td:
        work = Path(td)
        for w in args.weights.split(","):
            em = emit(net, work / f"rtl_{w}", weights=w, name="gunpoint_axis", interface="axis")
            info = em.info
            ver = axis_host.run_axis(net, data.X_test, work / f"axis_{w}", seed=0,
                                     bad_packets=True)
            core = flows.synth_ice40(em.verilog.read_text(), "gunpoint_axis", device="hx8k",
                                     freq_mhz=12)
            cd = core.to_dict()
            entry = {
                "WAVE_CYCLES": info["WAVE_CYCLES"], "LATENCY": info["LATENCY"],
                "axis_verify": {k: ver[k] for k in ("simulator", "waves", "packets",
                                                    "mismatches", "err_short", "err_long",
                                                    "stalls_in", "stalls_out", "cycles",
                                                    "seconds")},
                "core_ice40_hx8k": {k: cd.get(k) for k in ("fits", "luts", "flip_flops",
                                                           "fmax_mhz", "harness", "utilisation")},
                "boards": {b: board_run(em, info, b, work / f"board_{w}_{b}")
                           for b in args.boards.split(",")},
            }
            res["modes"][w] = entry
            print(w, json.dumps(entry)[:400], flush=True)
    res["tools"] = flows.tool_versions()
    res["machine"] = {"python": platform.python_version(), "cores": __import__("os").cpu_count()}
    Path(args.out).write_text(json.dumps(res, indent=1, sort_keys=True, default=str) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
