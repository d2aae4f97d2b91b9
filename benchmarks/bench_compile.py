"""Compile benchmark (issue 14 item 5, measurement only): how generation time and Verilog size
grow with synapses, for one column of p inputs x q neurons, in ``hardwired`` and ``learn``
weight modes. Written to JSON.

    .venv/bin/python benchmarks/bench_compile.py [--out benchmarks/results/compile.json]
        [--sizes 64x4,256x8,1024x8,1024x32] [--weights hardwired,learn] [--timeout 900]

Each point runs in its own process (``--point PxQ:MODE``) so that its peak memory (max RSS)
is its own and a point that runs past ``--timeout`` seconds is recorded as such. Measured:
``emit`` wall time (plan + Amaranth elaboration + RTLIL + Yosys-written Verilog), Verilog and
RTLIL bytes and lines, ``WAVE_CYCLES``. The network: seeded random 3-bit weights, 3-bit
times, one dendrite, threshold = a quarter of the largest possible potential, STDP with one
LFSR per segment.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def column(p: int, q: int, seed: int = 0):
    from neutnngen.ir import (
        Column,
        Layer,
        LearningRule,
        Network,
        RandomSource,
        SynapseBank,
        TimeSpec,
        default_seeds,
    )

    rng = np.random.default_rng(seed)
    w = rng.integers(0, 8, size=(q, 1, 1, p))
    theta = max(1, p * 7 // 4)
    rs = RandomSource(default_seeds(q, seed), sharing="segment")
    col = Column("col0", p, SynapseBank.dense(w, 3), np.full((q, 1, 1), theta), random=rs)
    return Network(f"c{p}x{q}", TimeSpec(3, "rnl"), p,
                   (Layer("layer0", p, (col,), learning=LearningRule()),))


def point(p: int, q: int, weights: str) -> dict:
    from neutnngen.hdl import emit

    net = column(p, q)
    with tempfile.TemporaryDirectory() as td:
        t0 = time.perf_counter()
        em = emit(net, Path(td), weights=weights, name="neutnngen_top")
        dt = time.perf_counter() - t0
        v = em.verilog.read_text()
        il = em.rtlil.read_text()
    return {"p": p, "q": q, "synapses": p * q, "weights": weights,
            "emit_s": round(dt, 2), "verilog_bytes": len(v), "verilog_lines": v.count("\n"),
            "rtlil_bytes": len(il), "wave_cycles": em.info["WAVE_CYCLES"],
            "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "compile.json"))
    ap.add_argument("--sizes", default="64x4,256x8,1024x8,1024x32")
    ap.add_argument("--weights", default="hardwired,learn")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--point", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.point:
        size, mode = args.point.split(":")
        p, q = map(int, size.split("x"))
        print(json.dumps(point(p, q, mode)))
        return
    rows = []
    for size in args.sizes.split(","):
        for mode in args.weights.split(","):
            t0 = time.perf_counter()
            try:
                r = subprocess.run([sys.executable, __file__, "--point", f"{size}:{mode}"],
                                   capture_output=True, text=True, timeout=args.timeout)
                row = (json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0
                       else {"size": size, "weights": mode, "error": r.stderr[-500:]})
            except subprocess.TimeoutExpired:
                row = {"size": size, "weights": mode, "timeout_s": args.timeout}
            row["wall_s"] = round(time.perf_counter() - t0, 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = {"points": rows, "machine": {"python": platform.python_version(),
                                       "cores": __import__("os").cpu_count()},
           "note": "one column p x q, 3-bit times/weights; emit = plan + elaboration + "
                   "RTLIL + Verilog; machine shared with other jobs (nice 10)"}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
