"""On-chip learning in the serial and parallel architectures on GunPoint, written to JSON.

    .venv/bin/python benchmarks/bench_parallel_learn.py --gunpoint OUT_GP
        [--out benchmarks/results/parallel_learn.json] [--simulator verilator] [--waves N]

``OUT_GP``: the output directory of ``neutnngen run examples/ucr_gunpoint.toml`` (with
any ``--set`` overrides: ``train.w_norm=96`` gives ``results/parallel_learn_wnorm.json``,
the weight budget's norm pass / level sweep; ``run_config`` records them). Its
untrained IR (``ir/initial.json``) is compiled with ``weights=learn`` in each architecture
and trained on chip with the trainer's whole stream (the 50 training volleys for the
config's 10 epochs in its seeded order: 500 waves, or the first ``--waves``). The learning
bench (:func:`neutnngen.verify.run_learning_verification`) compares the output volley,
every weight and every LFSR state after every wave with the interpreter, and reads every
weight back through ``wread`` at the end; the final weights are also compared with the
software-trained ``ir/model.json`` (same seed, ``train.mode = exact``). Each design is
synthesized with the generic CMOS flow (transistors, Yosys ``stat -tech cmos``). Reported
per architecture: cycles per wave (``WAVE_CYCLES``), transistors, flip-flops, transistors x
cycles, the verification counts and the wall time of the simulation. For reference (what
the learning logic costs) the same IR's ``register``-weight design of each architecture is
synthesized too (``register_reference``: no learning, same weight registers and datapath).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen import flows  # noqa: E402
from neutnngen.hdl import emit  # noqa: E402
from neutnngen.ir import load  # noqa: E402
from neutnngen.pipeline import load_config, prepare_data  # noqa: E402
from neutnngen.pipeline.network import training_order  # noqa: E402
from neutnngen.verify import run_learning_verification  # noqa: E402

TNNGEN = {"transistors": 145_230, "cycles_per_wave": 16,
          "source": "issue 14's table (TNNGen, on-chip STDP, GunPoint 150x2)"}


def measure(net, trained, X: np.ndarray, arch: str, sim: str, work: Path) -> dict:
    r = emit(net, work / f"rtl_{arch}", weights="learn", architecture=arch, name="gp_learn")
    info = json.loads(Path(r.names).read_text())["top"]
    t0 = time.monotonic()
    res = run_learning_verification(net, r.verilog, r.names, X, simulator=sim,
                                    workdir=work / f"work_{arch}", timeout=7200)
    wall = time.monotonic() - t0
    final = np.array(res.final_weights[0][0]["distal"])
    soft = trained.layers[0].columns[0].distal.weights
    g = flows.synth_generic(Path(r.verilog).read_text(), "gp_learn")
    return {
        "architecture": arch,
        "wave_cycles": int(info["WAVE_CYCLES"]),
        "latency_cycles": int(info["LATENCY"]),
        "transistors": g.transistors,
        "flip_flops": g.flip_flops,
        "cells": g.cells,
        "transistor_cycles": g.transistors * int(info["WAVE_CYCLES"]),
        "verify": {"simulator": sim, "waves": res.waves, "mismatches": res.mismatches,
                   "weight_mismatches": res.weight_mismatches,
                   "rng_mismatches": res.rng_mismatches,
                   "readout_mismatches": res.readout_mismatches,
                   "wall_s": round(wall, 1)},
        "final_weights_equal_software": bool(np.array_equal(final, soft)),
        "weights_changed_by_learning": int((final != net.layers[0].columns[0].distal.weights
                                            ).sum()),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gunpoint", type=Path, required=True, help="output dir of a GunPoint run")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/parallel_learn.json")
    ap.add_argument("--simulator", default="verilator", choices=["verilator", "icarus"])
    ap.add_argument("--waves", type=int, default=0, help="first N waves of the stream (0: all)")
    ap.add_argument("--archs", default="parallel,serial")
    a = ap.parse_args(argv)
    run = a.gunpoint
    cfg = load_config(str(run / "config.toml"), [])
    data = prepare_data(cfg)
    net = load(run / "ir" / "initial.json")
    trained = load(run / "ir" / "model.json")
    order = training_order(len(data.X_train), max(1, cfg.train.epochs), cfg.experiment.seed,
                           cfg.train.shuffle)
    if a.waves:
        order = order[:a.waves]
    X = np.asarray(data.X_train[order], dtype=np.int64).reshape(-1, net.inputs)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_plearn_") as tmp:
        for arch in a.archs.split(","):
            row = measure(net, trained, X, arch, a.simulator, Path(tmp))
            r = emit(net, Path(tmp) / f"reg_{arch}", weights="register", architecture=arch,
                     name="gp_reg")
            g = flows.synth_generic(Path(r.verilog).read_text(), "gp_reg")
            info = json.loads(Path(r.names).read_text())["top"]
            row["register_reference"] = {"transistors": g.transistors,
                                         "flip_flops": g.flip_flops,
                                         "wave_cycles": int(info["WAVE_CYCLES"])}
            print(json.dumps(row), flush=True)
            rows.append(row)
    doc = {
        "machine": {"python": platform.python_version(), "cores": 2},
        "command": "benchmarks/bench_parallel_learn.py --gunpoint OUT_GP"
                   + (f" --waves {a.waves}" if a.waves else ""),
        "design": "GunPoint 150x2 (examples/ucr_gunpoint.toml), ir/initial.json trained on chip",
        "run_config": {"train.rule": cfg.train.rule, "train.w_norm": cfg.train.w_norm,
                       "train.epochs": cfg.train.epochs},
        "stream_waves": len(X),
        "tnngen": TNNGEN,
        "rows": rows,
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
