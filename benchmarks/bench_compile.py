"""Compile benchmark (issue 14 item 5, measurement only): how generation time and Verilog size
grow with synapses, for one column of p inputs x q neurons, in ``hardwired`` and ``learn``
weight modes. Written to JSON.

    .venv/bin/python benchmarks/bench_compile.py [--out benchmarks/results/compile.json]
        [--sizes 64x4,256x8,1024x8,1024x32] [--weights hardwired,learn] [--timeout 900]
        [--store auto|registers|memory] [--baseline benchmarks/results/compile_registers.json]
        [--plot-only]

``--store``: ``hdl.weight_store`` of the register/learn points (default ``auto``: memory from
4096 synapses). After measuring it plots ``OUT.png`` (emit seconds and Verilog bytes per
synapse against synapses, log-log; ``--baseline``: the points of an earlier JSON drawn
dashed, e.g. the register store's); ``--plot-only`` re-plots an existing ``OUT``.

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


def point(p: int, q: int, weights: str, store: str = "auto") -> dict:
    from neutnngen.hdl import emit

    net = column(p, q)
    with tempfile.TemporaryDirectory() as td:
        t0 = time.perf_counter()
        em = emit(net, Path(td), weights=weights, name="neutnngen_top", weight_store=store)
        dt = time.perf_counter() - t0
        v = em.verilog.read_text()
        il = em.rtlil.read_text()
    return {"p": p, "q": q, "synapses": p * q, "weights": weights,
            "store": em.info.get("weight_store", "registers") if weights != "hardwired"
            else "constants",
            "emit_s": round(dt, 2), "verilog_bytes": len(v), "verilog_lines": v.count("\n"),
            "rtlil_bytes": len(il), "wave_cycles": em.info["WAVE_CYCLES"],
            "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def plot(out: Path, baseline: Path | None = None) -> Path:
    """``out`` with ``.png``: emit seconds and Verilog bytes per synapse against synapses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def series(path: Path) -> dict[str, list[dict]]:
        rows = [r for r in json.loads(path.read_text())["points"] if "emit_s" in r]
        by: dict[str, list[dict]] = {}
        for r in rows:
            key = r["weights"] + ("" if r["weights"] == "hardwired"
                                  else f" ({r.get('store', 'registers')})")
            by.setdefault(key, []).append(r)
        return by

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    sets = [(series(out), "-", "")]
    if baseline is not None and baseline.exists():
        sets.append((series(baseline), "--", f" [{baseline.stem}]"))
    for by, ls, tag in sets:
        for key, rows in sorted(by.items()):
            rows = sorted(rows, key=lambda r: r["synapses"])
            xs = [r["synapses"] for r in rows]
            a.plot(xs, [r["emit_s"] for r in rows], ls, marker="o", label=key + tag)
            b.plot(xs, [r["verilog_bytes"] / r["synapses"] for r in rows], ls, marker="o",
                   label=key + tag)
    a.axhline(60, color="grey", lw=0.8, ls=":")
    a.set(xscale="log", yscale="log", xlabel="synapses (p x q)", ylabel="emit time (s)",
          title="compile time (plan + elaboration + Verilog)")
    b.set(xscale="log", yscale="log", xlabel="synapses (p x q)",
          ylabel="Verilog bytes per synapse", title="Verilog size per synapse")
    for ax in (a, b):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("one column p x q (64x4, 256x8, 1024x8, 1024x32), 3-bit weights and times")
    fig.tight_layout()
    png = out.with_suffix(".png")
    fig.savefig(png, dpi=110)
    return png


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "compile.json"))
    ap.add_argument("--sizes", default="64x4,256x8,1024x8,1024x32")
    ap.add_argument("--weights", default="hardwired,learn")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--store", default="auto", choices=["auto", "registers", "memory"])
    ap.add_argument("--baseline", default=None)
    ap.add_argument("--plot-only", action="store_true")
    ap.add_argument("--point", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    base = Path(args.baseline) if args.baseline else None
    if args.point:
        size, mode = args.point.split(":")
        p, q = map(int, size.split("x"))
        print(json.dumps(point(p, q, mode, args.store)))
        return
    if args.plot_only:
        print("wrote", plot(Path(args.out), base))
        return
    rows = []
    for size in args.sizes.split(","):
        for mode in args.weights.split(","):
            t0 = time.perf_counter()
            try:
                r = subprocess.run([sys.executable, __file__, "--point", f"{size}:{mode}",
                                    "--store", args.store],
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
                   "RTLIL + Verilog; register/learn weights in the hdl.weight_store "
                   f"{args.store!r} store; machine shared with other jobs (nice 5)"}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", args.out, "and", plot(Path(args.out), base))


if __name__ == "__main__":
    main()
