"""SNN RTL benchmark: the MNIST example's integer network as hardware, written to JSON.

    .venv/bin/python benchmarks/bench_snn_rtl.py [--model runs/snn_mnist/model.pt]
        [--designs serial:1,serial:8,pipelined:8,pipelined:8/1] [--samples 0] [--target ecp5]
        [--out benchmarks/results/snn_rtl.json]

The model is ``examples/snn_mnist`` (196-128-10 LIF, direct current, 16 steps; trained by the
example script when missing), quantized as the example does (8-bit weights, 16-bit
membranes, 1,000 calibration digits from the training split). For every design
(``architecture:lanes``, lanes one number or one per layer as ``8/1``; pipelined: the two
layers work on successive time steps at once) the
network is compiled (hardwired), verified on the held-out digits (``--samples``, 0 = all
1,000) with every layer's membranes and spikes compared at every step (Verilator), and
synthesized (``--target``, ECP5 25k by default: LUTs, flip-flops, block RAMs, multipliers,
nextpnr Fmax). Recorded: float, integer and RTL accuracy, mismatches, cycles per sample,
simulation speed, cost, throughput at Fmax, and the activity per sample (the energy proxy:
multiply-accumulates with nonzero operands, entry and state accesses, spikes).

Targets (issue 12): RTL == integer model on all 1,000 digits (0 mismatches, every step).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def example_network(model: str):
    """The example's config (``examples/snn_mnist.toml`` with ``model``; trained when missing),
    its digits, the imported float network and the integer network, quantized as the
    example's run does: ``(cfg, data, fnet, qnet)``."""
    import tomllib

    from neutnngen.pipeline.tasks import snn as task

    raw = tomllib.loads((ROOT / "examples" / "snn_mnist.toml").read_text())
    raw["model"]["path"] = str(Path(model).resolve())
    cfg = task.resolve_paths(task.parse(raw), ROOT / "examples")
    task.ensure_model(cfg)
    data = task.mnist_ints(cfg)
    fnet = task.import_model(cfg, data)
    qnet, _ = task.quantize_config(cfg, fnet, data["X_train"][:cfg["data"]["calibration"]])
    return cfg, data, fnet, qnet


def main(argv=None) -> int:
    from neutnngen.frontend.snn_float import float_predict, float_run
    from neutnngen.frontend.snn_quant import predict_int
    from neutnngen.pipeline.tasks import snn as task

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "runs" / "snn_mnist" / "model.pt"))
    ap.add_argument("--designs", default="serial:1,serial:8,pipelined:8,pipelined:8/1",
                    help="architecture:lanes, comma separated")
    ap.add_argument("--samples", type=int, default=0)
    ap.add_argument("--target", default="ecp5", choices=["ecp5", "ice40", "generic"])
    ap.add_argument("--work", default=str(ROOT / "out" / "bench_snn_rtl"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "snn_rtl.json"))
    args = ap.parse_args(argv)
    cfg, data, fnet, qnet = example_network(args.model)
    cfg["verify"]["samples"] = args.samples
    cfg["synth"]["target"] = args.target
    yte = data["y_test"]
    res: dict = {"host": platform.node(), "python": platform.python_version(),
                 "model": str(args.model), "target": args.target,
                 "float_test_accuracy": float((float_predict(fnet, float_run(fnet, data["X_test"]))
                                               == yte).mean()),
                 "integer_test_accuracy": float((predict_int(qnet, data["X_test"])[0]
                                                 == yte).mean()),
                 "designs": []}
    work = Path(args.work)
    for spec in args.designs.split(","):
        arch, lanes_s = spec.split(":")
        counts = [int(v) for v in lanes_s.split("/")]
        lanes = counts[0] if len(counts) == 1 else counts
        cfg["hdl"].update(lanes=lanes, architecture=arch)
        d: dict = {"architecture": arch, "lanes": lanes}
        t = time.perf_counter()
        here = work / f"{arch}{lanes_s.replace('/', '_')}"
        rtl = task.compile_stage(cfg, qnet, here / "rtl")
        d["compile_s"] = round(time.perf_counter() - t, 2)
        d["rtl"] = {k: rtl[k] for k in ("cycles_per_sample", "step_interval", "load_cycles",
                                        "synapse_entries", "synapses")}
        v = task.verify_stage(cfg, qnet, Path(rtl["verilog"]), "hardwired", here / "verify",
                              data=data)
        d["verify"] = {k: v[k] for k in ("samples", "simulator", "mismatches",
                                         "output_mismatches", "trace_rows", "rtl_accuracy",
                                         "build_s", "sim_s", "samples_per_s", "activity")}
        t = time.perf_counter()
        sy = task.synth_stage(cfg, Path(rtl["verilog"]), here / "synth")
        d["synth_s"] = round(time.perf_counter() - t, 2)
        d["synth"] = {k: sy.get(k) for k in ("device", "luts", "carries", "flip_flops",
                                            "comb_cells", "cells", "transistors", "fmax_mhz",
                                            "fits", "cell_types")}
        per = d["verify"]["activity"]["cycles"]
        if sy.get("fmax_mhz"):
            d["samples_per_s_at_fmax"] = round(sy["fmax_mhz"] * 1e6 / per, 1)
        res["designs"].append(d)
        print(json.dumps(d), flush=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
