"""Hardware benchmark: measured cost and speed of generated designs, written to JSON.

    .venv/bin/python benchmarks/bench_hw.py [--out benchmarks/results/hw.json]

* GunPoint column (p = 150, q = 2, 3/3 bits), trained with the example config, in every
  weight mode: generic cells / FFs / transistors (the issue's Yosys flow), iCE40 HX8K LUTs,
  FFs and Fmax, cycles per wave, latency, inferences per second at Fmax, plus verification.
* A 2-layer network on the same data (GunPoint as a 10 x 15 image: Kernel rfsize 5 stride 5
  -> 6 columns of 4 neurons -> Retime -> an output column of 2 neurons), trained greedily with
  STDP layer by layer, verified on all 150 test waves, with the same figures.
* Wall time of ``neutnngen run examples/ucr_gunpoint.toml`` in a fresh output directory with a
  fresh synthesis-result cache (the WebAssembly tools already compiled: "warm tool caches").

Targets (issue 3): hardwired <= 15,000 transistors, register <= 50,000, iCE40 Fmax >= 100 MHz,
``neutnngen run`` <= 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen import config, driver, flows  # noqa: E402
from neutnngen.hdl import emit  # noqa: E402
from neutnngen.ir import (  # noqa: E402
    Interpreter,
    Kernel,
    Layer,
    LearningRule,
    Network,
    Retime,
    TimeSpec,
    check,
)
from neutnngen.verify import run_verification  # noqa: E402


def measure(net: Network, X: np.ndarray, weights: str, work: Path) -> dict:
    em = emit(net, work / f"rtl_{weights}", weights=weights, name="neutnngen_top")
    v = em.verilog.read_text()
    t0 = time.perf_counter()
    ver = run_verification(net, em.verilog, em.names, X, workdir=work / f"verify_{weights}")
    vt = time.perf_counter() - t0
    g = flows.synth_generic(v, "neutnngen_top")
    i = flows.synth_ice40(v, "neutnngen_top", device="hx8k", freq_mhz=100)
    wc, lat = em.info["WAVE_CYCLES"], em.info["LATENCY"]
    return {
        "weights": weights, "synapses": int(net.synapses),
        "cells": g.cells, "flip_flops": g.flip_flops, "transistors": g.transistors,
        "gate_equivalents": g.gate_equivalents,
        "ice40_luts": i.luts, "ice40_flip_flops": i.flip_flops, "ice40_fmax_mhz": i.fmax_mhz,
        "ice40_fits": i.fits, "ice40_harness": i.harness,
        "wave_cycles": wc, "latency_cycles": lat,
        "inferences_per_s_at_fmax": (i.fmax_mhz or 0) * 1e6 / wc,
        "latency_ns_at_fmax": lat * 1e3 / i.fmax_mhz if i.fmax_mhz else None,
        "verify": {"simulator": ver.simulator, "waves": ver.waves, "mismatches": ver.mismatches,
                   "wall_s": round(vt, 2)},
    }


def two_layer(data: driver.Data, seed: int) -> Network:
    """GunPoint as a 10 x 15 image -> 6 receptive-field columns -> retime -> output column,
    thresholds calibrated on the training data, trained greedily layer by layer."""
    from dataclasses import replace

    from neutnngen.frontend import init_column_network
    from neutnngen.ir.interp import retime
    from neutnngen.model import train

    k = Kernel(10, 15, 1, 5, 5)
    cols = tuple(
        replace(init_column_network(25, 4, seed=seed + c, X=data.X_train[:, k.window(c)])
                .layers[0].columns[0], name=f"col{c}")
        for c in range(k.windows))
    l0 = Layer("layer0", 150, cols, kernel=k, learning=LearningRule())
    first = check(Network("gunpoint_layer0", TimeSpec(), 150, (l0,)))
    order = driver.training_order(len(data.X_train), 5, seed, True)
    first = train(first, data.X_train[order], mode="exact").network
    rt = Retime("rt0", 1, 7)
    X1 = retime(Interpreter(first).forward(data.X_train), rt)
    out = init_column_network(24, 2, seed=seed + 99, X=X1).layers[0]
    net = check(Network("gunpoint_2layer", first.time, 150,
                        (first.layers[0], rt, replace(out, name="layer1"))))
    return train(net, data.X_train[order], mode="exact", layers=[1]).network


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "hw.json"))
    args = ap.parse_args()
    cfg = config.load(ROOT / "examples" / "ucr_gunpoint.toml")
    data = driver.prepare_data(cfg)
    res: dict = {"machine": {"python": sys.version.split()[0], "cpu": platform.processor(),
                             "cores": os.cpu_count()}, "tools": flows.tool_versions()}
    with tempfile.TemporaryDirectory() as td:
        work = Path(td)
        net0 = driver.init_network(cfg, data)
        net, _ = driver.train_network(cfg, net0, data, show=False)
        res["gunpoint"] = {w: measure(net, data.X_test, w, work / "gp") for w in ("hardwired", "register")}
        net2 = two_layer(data, cfg.experiment.seed)
        res["two_layer"] = {"description": "GunPoint as a 10x15 image; Kernel(rfsize 5, stride 5) -> "
                            "6 columns x 4 neurons -> Retime(shift 1) -> output column of 2 neurons; "
                            "trained with exact STDP, 5 epochs per layer, greedily",
                            **{w: measure(net2, data.X_test, w, work / "l2") for w in ("hardwired", "register")}}
        # neutnngen run wall time, fresh output dir and fresh synthesis cache
        env = dict(os.environ, NEUTNNGEN_CACHE=str(work / "cache"))
        t0 = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "neutnngen"), "run",
                        str(ROOT / "examples" / "ucr_gunpoint.toml"), "--out", str(work / "run"), "-q"],
                       check=True, env=env, capture_output=True)
        res["neutnngen_run_gunpoint_s"] = round(time.perf_counter() - t0, 1)
    targets = {"hardwired_transistors<=15000": res["gunpoint"]["hardwired"]["transistors"] <= 15000,
               "register_transistors<=50000": res["gunpoint"]["register"]["transistors"] <= 50000,
               "ice40_fmax>=100": all((res["gunpoint"][w]["ice40_fmax_mhz"] or 0) >= 100
                                      for w in ("hardwired", "register")),
               "run<=60s": res["neutnngen_run_gunpoint_s"] <= 60}
    res["targets_met"] = targets
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1, sort_keys=True, default=str) + "\n")
    for name, block in (("GunPoint", res["gunpoint"]), ("2-layer", res["two_layer"])):
        for w in ("hardwired", "register"):
            b = block[w]
            print(f"{name:9} {w:9} cells {b['cells']:6} FFs {b['flip_flops']:5} transistors "
                  f"{b['transistors']:7} | iCE40 LUT {b['ice40_luts']:5} Fmax {b['ice40_fmax_mhz']:.1f} MHz | "
                  f"{b['wave_cycles']} cyc/wave, latency {b['latency_cycles']}, "
                  f"{b['inferences_per_s_at_fmax']:,.0f} inf/s | verify {b['verify']['waves']} waves "
                  f"{b['verify']['mismatches']} mismatches")
    print(f"neutnngen run (GunPoint): {res['neutnngen_run_gunpoint_s']} s; targets: {targets}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
