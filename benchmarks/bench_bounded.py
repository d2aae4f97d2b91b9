"""How far the bounded all-inputs proof of one wave reaches (issue 15): proof time by column
size, time resolution and layer architecture, written to JSON.

    .venv/bin/python benchmarks/bench_bounded.py [--out benchmarks/results/bounded.json]
                                                 [--timeout 60]

Each point is a seeded random one-layer column (``p`` inputs x ``q`` neurons, ``timeres``
bits, 3-bit weights, wta1), its Verilog in every architecture, and
:func:`neutnngen.verify.bounded.prove_one_wave` with a time limit: ``proven`` with the
seconds, or ``unknown`` (timeout). A size that times out stops the larger sizes of that
architecture.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_hdl import one_layer, rand_column  # noqa: E402

from neutnngen.hdl import emit  # noqa: E402
from neutnngen.hdl.plan import ARCHITECTURES  # noqa: E402
from neutnngen.ir.nodes import TimeSpec  # noqa: E402
from neutnngen.verify.bounded import prove_one_wave  # noqa: E402

SIZES = [(4, 2, 2), (8, 2, 2), (8, 3, 3), (16, 3, 3), (24, 2, 3), (32, 4, 3), (64, 4, 3)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bounded.json"))
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as td:
        for arch in ARCHITECTURES:
            for p, q, tb in SIZES:
                rng = np.random.default_rng(p * 100 + q * 10 + tb)
                net = one_layer(rand_column(rng, p, q, wres=3, frac=(0.3, 0.5)), TimeSpec(tb))
                d = Path(td) / f"{arch}_{p}x{q}_{tb}"
                res = emit(net, d / "rtl", architecture=arch)
                r = prove_one_wave(net, res.verilog, res.names, d / "p", timeout=args.timeout)
                row = {"architecture": arch, "inputs": p, "neurons": q, "timeres": tb,
                       "input_bits": r["inputs_bits"], "latency": r["latency"],
                       "depth": r["depth"], "status": r["status"], "seconds": r["seconds"],
                       "reason": r["reason"]}
                rows.append(row)
                print(f"{arch:9} {p:3}x{q} tb{tb}: {r['status']:8} {r['seconds']:7.1f} s "
                      f"(depth {r['depth']}, {r['inputs_bits']} input bits)", flush=True)
                if r["status"] != "proven":
                    break
    res = {"machine": {"python": sys.version.split()[0], "cpu": platform.processor(),
                       "cores": os.cpu_count(), "load_avg": os.getloadavg()},
           "timeout_s": args.timeout, "solver": "yosys sat (built-in)", "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
