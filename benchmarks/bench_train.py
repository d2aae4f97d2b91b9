"""Training and inference throughput on the GunPoint column (p = 150, q = 2, 3/3 bits, RNL,
wta1), in fast and exact modes.

    .venv/bin/python benchmarks/bench_train.py [--out benchmarks/results/train.json]

The 50 training samples are repeated (epochs for training, tiling for inference) until one
measurement is at least ``--min-seconds`` of work; each figure is the best of ``--repeats``
runs (the machine may be shared). The numba kernel is compiled (warmed up) first.
``train`` times are end to end (``neutnngen.model.train``: IR -> model, draws, kernel,
trained IR); ``kernel`` times are the per-layer training loop alone. ``synapse updates``
are synapses x waves (every synapse is evaluated for an update once per wave); for
inference, synapse evaluations. Targets: training >= 140,000 samples/s (fast), inference
>= 280,000 samples/s, exact no more than 10x slower than fast.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen.frontend import init_column_network  # noqa: E402
from neutnngen.frontend.convert import to_torch  # noqa: E402
from neutnngen.model import infer, train  # noqa: E402

TARGETS = {"train_fast_samples_per_s": 140_000, "infer_samples_per_s": 280_000,
           "exact_slowdown_max": 10.0}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gunpoint() -> np.ndarray:
    from aeon.datasets import load_classification

    X, _ = load_classification("GunPoint", split="train")
    try:
        from neutnngen.data.encoders import encode_timeseries
    except ImportError:
        z = (X[:, 0] - X[:, 0].mean(1, keepdims=True)) / X[:, 0].std(1, keepdims=True)
        return (7 - np.clip(np.floor((np.clip(z, -2, 2) + 2) / 4 * 8), 0, 7)).astype(np.int16)
    return encode_timeseries(X[:, 0, :])


def _best(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _calibrate(fn_of_n, n0: int, min_s: float) -> int:
    """Smallest ``n = n0 * 2**k`` whose run takes at least ``min_s`` seconds."""
    n = n0
    while True:
        t0 = time.perf_counter()
        fn_of_n(n)
        if time.perf_counter() - t0 >= min_s or n >= n0 * (1 << 16):
            return n
        n *= 2


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "train.json"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--batch-size", type=int, default=4096, help="inference batch")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    X = _gunpoint()
    N = len(X)
    net = init_column_network(X.shape[1], 2, X=X, seed=0)
    synapses = net.synapses

    t0 = time.perf_counter()
    train(net, X, epochs=1, mode="exact")  # compiles or loads the numba kernel
    train(net, X, epochs=1, mode="fast")
    warmup_s = time.perf_counter() - t0

    rows = []

    def train_row(mode: str, backend: str = "auto", min_s: float = args.min_seconds):
        epochs = _calibrate(lambda e: train(net, X, epochs=e, mode=mode, backend=backend), 8, min_s)
        dt, res = _best(lambda: train(net, X, epochs=epochs, mode=mode, backend=backend),
                        args.repeats)
        waves = N * epochs
        k = res.stats["layers"][0]["seconds"]
        rows.append({"what": "train", "mode": mode, "backend": res.stats["backend"],
                     "samples": waves, "seconds": dt, "samples_per_s": waves / dt,
                     "synapse_updates_per_s": waves * synapses / dt,
                     "kernel_samples_per_s": waves / k})

    train_row("fast")
    train_row("exact")
    train_row("exact", backend="torch", min_s=min(args.min_seconds, 0.5))  # the CUDA code path

    def infer_row(mode: str, threads: int | None):
        model = to_torch(net)
        kw = {"batch_size": args.batch_size, "threads": threads}
        reps = _calibrate(lambda r: infer(model, np.tile(X, (r, 1)), **kw), 64, args.min_seconds)
        Xb = np.tile(X, (reps, 1))
        if mode == "infer(net)":
            dt, _ = _best(lambda: infer(net, Xb, **kw), args.repeats)
        else:
            xt = torch.as_tensor(Xb)

            def fwd():
                with torch.no_grad():
                    for b0 in range(0, len(xt), args.batch_size):
                        model(xt[b0:b0 + args.batch_size])

            dt, _ = _best(fwd, args.repeats)
        nthreads = threads or torch.get_num_threads()
        rows.append({"what": "infer", "mode": mode, "backend": f"torch/{nthreads}t",
                     "samples": len(Xb), "seconds": dt, "samples_per_s": len(Xb) / dt,
                     "synapse_updates_per_s": len(Xb) * synapses / dt})

    infer_row("infer(net)", 1)  # the default of infer()
    infer_row("infer(net)", None)  # torch's own thread count
    infer_row("model.forward", None)

    fast = next(r for r in rows if r["what"] == "train" and r["mode"] == "fast")
    exact = next(r for r in rows if r["what"] == "train" and r["mode"] == "exact"
                 and r["backend"] == "numba")
    inf = next(r for r in rows if r["mode"] == "infer(net)")  # infer() defaults
    slowdown = fast["samples_per_s"] / exact["samples_per_s"]
    try:
        import numba

        numba_version = numba.__version__
    except ImportError:
        numba_version = None
    result = {
        "benchmark": "GunPoint column: p=150, q=2, timeres=3, wres=3, RNL, wta1",
        "synapses": synapses,
        "train_samples": N,
        "rows": rows,
        "exact_slowdown_vs_fast": slowdown,
        "targets": TARGETS,
        "meets_targets": {
            "train_fast": fast["samples_per_s"] >= TARGETS["train_fast_samples_per_s"],
            "infer": inf["samples_per_s"] >= TARGETS["infer_samples_per_s"],
            "exact_slowdown": slowdown <= TARGETS["exact_slowdown_max"],
        },
        "warmup_seconds": warmup_s,
        "environment": {
            "torch": torch.__version__, "numba": numba_version, "numpy": np.__version__,
            "python": platform.python_version(), "torch_threads": torch.get_num_threads(),
            "cpu": _cpu_name(), "cpus": os.cpu_count(), "machine": platform.machine(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "repeats": args.repeats,
        "min_seconds": args.min_seconds,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"{'what':6} {'mode':14} {'backend':8} {'samples':>9} {'seconds':>8} "
          f"{'samples/s':>12} {'syn-updates/s':>14}")
    for r in rows:
        print(f"{r['what']:6} {r['mode']:14} {r['backend']:8} {r['samples']:9d} {r['seconds']:8.3f} "
              f"{r['samples_per_s']:12,.0f} {r['synapse_updates_per_s']:14,.0f}")
    print(f"exact / fast slowdown: {slowdown:.2f}x; targets met: {result['meets_targets']}")
    print(f"torch {torch.__version__}, numba {numba_version}, {torch.get_num_threads()} threads, "
          f"{_cpu_name()}; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
