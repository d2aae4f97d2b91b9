"""Layer architectures side by side: serial, parallel and pipelined on the same IR, written to JSON.

    .venv/bin/python benchmarks/bench_architectures.py [--out benchmarks/results/architectures.json]
                                                       [--quick]

For each network and weight mode, every architecture is generated from the same IR,
verified cycle-accurately against the interpreter (cocotb), and synthesized: generic CMOS
(cells, FFs, transistors) and iCE40 HX8K (LUT4, FFs, Fmax, through the serial I/O harness
when the ports exceed the pins). Reported beside them: cycles per wave, waves per second at
Fmax, and the area-time product (transistors x cycles per wave).

Networks: the GunPoint example column trained with its config (150 x 2, 3/3 bits; its 150
test waves), and seeded random columns 64 x 4 and 256 x 8 (200 random volleys).
``--quick``: GunPoint hardwired only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen import config, driver, flows  # noqa: E402
from neutnngen.hdl import emit  # noqa: E402
from neutnngen.hdl.plan import ARCHITECTURES as ARCHS  # noqa: E402
from neutnngen.ir import Column, Layer, Network, SynapseBank, TimeSpec  # noqa: E402
from neutnngen.verify import run_verification  # noqa: E402


def measure(net: Network, X: np.ndarray, weights: str, arch: str, work: Path) -> dict:
    em = emit(net, work / f"rtl_{weights}_{arch}", weights=weights, architecture=arch)
    v = em.verilog.read_text()
    t0 = time.perf_counter()
    ver = run_verification(net, em.verilog, em.names, X,
                           workdir=work / f"verify_{weights}_{arch}")
    vt = time.perf_counter() - t0
    g = flows.synth_generic(v, "neutnngen_top")
    i = flows.synth_ice40(v, "neutnngen_top", device="hx8k", freq_mhz=100)
    wc = int(em.info["WAVE_CYCLES"])
    return {
        "architecture": arch, "weights": weights, "synapses": int(net.synapses),
        "cells": g.cells, "flip_flops": g.flip_flops, "transistors": g.transistors,
        "ice40_luts": i.luts, "ice40_flip_flops": i.flip_flops, "ice40_fmax_mhz": i.fmax_mhz,
        "ice40_harness": i.harness, "ice40_fits": i.fits, "ice40_fit_error": i.fit_error or "",
        "wave_cycles": wc,
        "latency_cycles": int(em.info["LATENCY"]),
        "waves_per_s_at_fmax": i.fmax_mhz * 1e6 / wc if i.fmax_mhz else None,
        "transistor_cycles": (g.transistors or 0) * wc,
        "verify": {"simulator": ver.simulator, "waves": ver.waves,
                   "mismatches": ver.mismatches, "wall_s": round(vt, 2)},
    }


def random_column(p: int, q: int, seed: int) -> Network:
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 8, size=(q, 1, 1, p))
    theta = np.maximum(1, (w.sum(-1) * rng.uniform(0.25, 0.4, size=(q, 1, 1)))).astype(np.int64)
    col = Column("col0", p, SynapseBank.dense(w, 3), theta)
    return Network(f"rand{p}x{q}", TimeSpec(), p, (Layer("layer0", p, (col,)),))


def volleys(p: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 8, size=(n, p))
    return np.where(rng.random((n, p)) < 0.2, -1, x)


def _n(v, spec: str = ",.0f") -> str:
    return "-" if v is None else format(v, spec)


def table(rows: list[dict]) -> str:
    head = ("network", "weights", "architecture", "cycles/wave", "transistors", "iCE40 LUT4",
            "Fmax (MHz)", "waves/s", "transistors x cycles", "mismatches")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        out.append(f"| {r['network']} | {r['weights']} | {r['architecture']} | {r['wave_cycles']} | "
                   f"{_n(r['transistors'])} | {_n(r['ice40_luts'])} | "
                   f"{_n(r['ice40_fmax_mhz'], '.1f')} | {_n(r['waves_per_s_at_fmax'])} | "
                   f"{_n(r['transistor_cycles'])} | "
                   f"{r['verify']['mismatches']} / {r['verify']['waves']} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "architectures.json"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated network names to run "
                    "(gunpoint, random 64x4, random 256x8); default all")
    args = ap.parse_args()
    cfg = config.load(ROOT / "examples" / "ucr_gunpoint.toml")
    data = driver.prepare_data(cfg)
    net0 = driver.init_network(cfg, data)
    gp, _ = driver.train_network(cfg, net0, data, show=False)
    cases = [("gunpoint 150x2", gp, data.X_test, ("hardwired",) if args.quick
              else ("hardwired", "register"))]
    if not args.quick:
        cases += [("random 64x4", random_column(64, 4, 1), volleys(64, 200, 2), ("hardwired",)),
                  ("random 256x8", random_column(256, 8, 3), volleys(256, 200, 4), ("hardwired",))]
    if args.only:
        keep = [k.strip() for k in args.only.split(",")]
        cases = [c for c in cases if any(c[0].startswith(k) for k in keep)]
    rows = []
    with tempfile.TemporaryDirectory() as td:
        for name, net, X, modes in cases:
            for w in modes:
                for a in ARCHS:
                    r = measure(net, X, w, a, Path(td) / name.replace(" ", "_"))
                    r["network"] = name
                    rows.append(r)
                    print(f"{name:14} {w:9} {a:8} {r['wave_cycles']:5} cyc {_n(r['transistors'])} tr "
                          f"{_n(r['ice40_luts'])} LUT {_n(r['ice40_fmax_mhz'], '.1f')} MHz "
                          f"{_n(r['waves_per_s_at_fmax'])} waves/s  verify "
                          f"{r['verify']['mismatches']}/{r['verify']['waves']} "
                          f"{r['ice40_fit_error'][:80]}", flush=True)
    res = {"machine": {"python": sys.version.split()[0], "cpu": platform.processor(),
                       "cores": os.cpu_count()}, "tools": flows.tool_versions(), "rows": rows,
           "table": table(rows)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1, sort_keys=True, default=str) + "\n")
    Path(args.out).with_suffix(".md").write_text(table(rows) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
