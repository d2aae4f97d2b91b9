"""The torch trainer and batched inference on a CUDA GPU: bit-exactness against the numba
CPU kernel and the interpreter, and throughput next to the CPU.

    .venv/bin/python benchmarks/bench_gpu.py [--device cuda] [--out benchmarks/results/gpu.json]
        [--quick] [--gunpoint FILE.npz]
    .venv/bin/python benchmarks/bench_gpu.py --save-gunpoint FILE.npz   # where aeon is

Needs a CUDA device (exits 2 without one; the project itself needs none). Networks: the
GunPoint column (p = 150, q = 2, 3/3 bits, RNL, wta1; the 50 encoded training series, or
``--gunpoint FILE.npz`` with ``X_train``/``X_test`` where aeon is not installed), one
1024-input column of 32 neurons, and a layer of 16 such columns (524,288 synapses), on
seeded random volleys (times 0..7, 20% silent).

Checks (``checks``): exact training on the GPU (torch loop) equals the numba kernel on
the CPU after every wave (outputs and weights) and gives the same trained IR text, for
plain STDP, for the example configs' mechanisms (targeted rule, relative thresholds,
win-rate homeostasis, overshoot ties, mu decay) and for a dendritic column under kWTA with
the weight budget too; ``fast`` mode too; GPU inference equals ``Interpreter.forward`` (GunPoint) and CPU
inference (the large layers). Throughput (``rows``): exact training on the numba kernel
(one CPU core) and on the GPU, and inference on the CPU (1 thread, all threads) and the
GPU, each the best of ``--repeats`` runs of at least ``--min-seconds``.

``--device cpu`` runs the same checks and rows with the torch loop on the CPU (as on a
machine without CUDA). Training defaults to the numba kernel on the CPU even where CUDA is
available (:func:`neutnngen.model.stdp.training_device`): on the CPU the torch loop is 7.8x
(1024x32) to 320x (GunPoint) slower than the kernel, its cost being per-wave overhead; this
benchmark measures where, if anywhere, a GPU overtakes the kernel.
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
from neutnngen.ir import Layer, LearningRule, Network  # noqa: E402
from neutnngen.ir.interp import Interpreter  # noqa: E402
from neutnngen.ir.text import to_text  # noqa: E402
from neutnngen.model import infer, train  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_train import _best, _calibrate, _cpu_name  # noqa: E402


def gunpoint(path: str | None) -> tuple[np.ndarray, np.ndarray]:
    if path:
        with np.load(path) as z:
            return z["X_train"], z["X_test"]
    from aeon.datasets import load_classification

    from neutnngen.data.encoders import encode_timeseries

    out = []
    for split in ("train", "test"):
        X, _ = load_classification("GunPoint", split=split)
        out.append(encode_timeseries(X[:, 0, :]))
    return out[0], out[1]


def random_volleys(n: int, p: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 8, size=(n, p)).astype(np.int16)
    X[rng.random((n, p)) < 0.2] = -1
    return X


def wide_layer(p: int, q: int, columns: int, X: np.ndarray, seed: int = 0) -> Network:
    """``columns`` columns of ``q`` neurons, each over all ``p`` lines (seeded, thresholds
    from ``X`` as :func:`init_column_network` sets them)."""
    nets = [init_column_network(p, q, X=X, seed=seed + c, column_name=f"col{c}")
            for c in range(columns)]
    first = nets[0]
    cols = tuple(n.layers[0].columns[0] for n in nets)
    layer = Layer("layer0", p, cols, learning=first.layers[0].learning)
    return Network(f"wide{columns}x{p}x{q}", first.time, p, (layer,))


def same_history(a: dict, b: dict) -> str | None:
    """The first difference between two recorded training histories, or None."""
    for li, ha in a.items():
        hb = b[li]
        if not np.array_equal(np.asarray(ha["outputs"]), np.asarray(hb["outputs"])):
            return f"layer {li}: outputs differ"
        for c, (wa, wb) in enumerate(zip(ha["distal"], hb["distal"], strict=True)):
            wa, wb = np.asarray(wa), np.asarray(wb)
            if not np.array_equal(wa, wb):
                bad = np.flatnonzero((wa != wb).reshape(len(wa), -1).any(1))
                return f"layer {li} column {c}: weights differ from wave {int(bad[0])}"
    return None


def checks(dev: torch.device, Xg: np.ndarray, Xg_test: np.ndarray, wide: list[tuple]) -> list[dict]:
    out = []

    def add(name: str, ok: bool, detail: str = "", **kw) -> None:
        out.append({"check": name, "ok": bool(ok), "detail": detail, **kw})
        print(f"  {'ok  ' if ok else 'FAIL'} {name} {detail}", flush=True)

    net = init_column_network(Xg.shape[1], 2, X=Xg, seed=0)
    for mode, seed in (("exact", 0), ("fast", 7)):
        g = train(net, Xg, epochs=2, mode=mode, seed=seed, backend="torch", device=dev, record=True)
        c = train(net, Xg, epochs=2, mode=mode, seed=seed, backend="numba", device="cpu",
                  record=True)
        diff = same_history(g.stats["history"], c.stats["history"])
        same_ir = to_text(g.network) == to_text(c.network)
        add(f"gunpoint train {mode}: GPU torch loop == numba kernel, every wave",
            diff is None and same_ir and g.stats["device"] == str(dev),
            diff or ("" if same_ir else "trained IR text differs"),
            waves=len(Xg) * 2, device=g.stats["device"])
        if mode == "exact":
            trained = g.network
    rule = LearningRule(kind="targeted", mu_capture=256, mu_minus=256, mu_search=2,
                        mu_backoff=256, theta="relative", homeostasis="winrate", h_shift=4)
    allm = init_column_network(Xg.shape[1], 2, X=Xg, seed=0, w_init="data", learning=rule,
                               theta_mode="relative", tie="overshoot")
    shift = np.repeat([0, 0, 1, 1, 2, 2], len(Xg))  # M4: halve the rates every 2 epochs
    g = train(allm, Xg, epochs=6, backend="torch", device=dev, mu_shift=shift, record=True)
    c = train(allm, Xg, epochs=6, backend="numba", device="cpu", mu_shift=shift, record=True)
    diff = same_history(g.stats["history"], c.stats["history"])
    same_ir = to_text(g.network) == to_text(c.network)
    add("gunpoint train, every mechanism (M1-M5): GPU torch loop == numba kernel, every wave",
        diff is None and same_ir, diff or ("" if same_ir else "trained IR text differs"),
        waves=len(Xg) * 6)
    got = infer(g.network, Xg_test, device=dev)
    add("gunpoint infer, overshoot ties: GPU == Interpreter.forward",
        np.array_equal(got, Interpreter(g.network).forward(Xg_test)), f"{len(Xg_test)} series")
    Xd = random_volleys(256, 64, 3)  # dendrites, segment WTA, column kWTA, M8 too
    rule8 = LearningRule(mu_search=300, mu_min=200, theta="relative", homeostasis="winrate",
                         h_shift=2, w_norm=128)
    dnet = init_column_network(64, 4, dendrites=2, segments=3, X=Xd, seed=3, learning=rule8,
                               theta_mode="relative", tie="overshoot",
                               column_inhibition="kwta(2)")
    g = train(dnet, Xd, epochs=2, backend="torch", device=dev, record=True)
    c = train(dnet, Xd, epochs=2, backend="numba", device="cpu", record=True)
    diff = same_history(g.stats["history"], c.stats["history"])
    same_ir = to_text(g.network) == to_text(c.network)
    add("64x4 column, 2x3 segments, kwta(2), every mechanism incl. M8: GPU == numba, every "
        "wave", diff is None and same_ir, diff or ("" if same_ir else "trained IR text differs"),
        waves=len(Xd) * 2)
    add("64x4 column infer, overshoot ties and dendrites: GPU == Interpreter.forward",
        np.array_equal(infer(g.network, Xd, device=dev), Interpreter(g.network).forward(Xd)),
        f"{len(Xd)} volleys")
    ref = Interpreter(trained).forward(Xg_test)
    got = infer(trained, Xg_test, device=dev)
    add("gunpoint infer: GPU == Interpreter.forward", np.array_equal(got, ref),
        f"{len(Xg_test)} test series")
    for wnet, X in wide:
        Xt = X[:256]
        g = train(wnet, Xt, epochs=1, backend="torch", device=dev)
        c = train(wnet, Xt, epochs=1, backend="numba", device="cpu")
        add(f"{wnet.name} train exact: GPU == numba (trained IR text)",
            to_text(g.network) == to_text(c.network), f"{len(Xt)} waves, {wnet.synapses} synapses")
        a = infer(g.network, X, device=dev)
        b = infer(g.network, X, device="cpu")
        add(f"{wnet.name} infer: GPU == CPU", np.array_equal(a, b), f"{len(X)} volleys")
    return out


def _train_rate(net: Network, X: np.ndarray, backend: str, device, repeats: int,
                min_s: float) -> tuple[int, float]:
    def run(e: int):
        return train(net, X, epochs=e, backend=backend, device=device)

    run(1)  # warm-up (kernel compile, CUDA context)
    e = _calibrate(run, 1, min_s)
    dt, _ = _best(lambda: run(e), repeats)
    return len(X) * e, dt


def _infer_rate(net: Network, X: np.ndarray, device, threads: int | None, batch: int,
                repeats: int, min_s: float) -> tuple[int, float]:
    def run(r: int):
        return infer(net, np.tile(X, (r, 1)), device=device, threads=threads, batch_size=batch)

    run(1)
    r = _calibrate(run, 1, min_s)
    dt, _ = _best(lambda: run(r), repeats)  # includes the tiling: small next to inference
    return len(X) * r, dt


def throughput(dev: torch.device, nets: list[tuple], repeats: int, min_s: float) -> list[dict]:
    rows = []

    def row(what, net, backend, device, samples, dt, **kw):
        r = {"what": what, "network": net.name, "synapses": int(net.synapses), "backend": backend,
             "device": str(device), "samples": int(samples), "seconds": dt,
             "samples_per_s": samples / dt, "synapse_updates_per_s": samples * net.synapses / dt,
             **kw}
        rows.append(r)
        print(f"  {what:5} {net.name:16} {backend:10} {str(device):6} {samples:9d} "
              f"{dt:7.3f}s {samples / dt:14,.0f}/s", flush=True)

    for net, X in nets:
        for backend, device in (("numba", "cpu"), ("torch", dev)):
            n, dt = _train_rate(net, X, backend, device, repeats, min_s)
            row("train", net, backend, device, n, dt, mode="exact")
        for device, threads, batch in (("cpu", 1, 4096), ("cpu", None, 4096), (dev, None, 4096),
                                       (dev, None, 65536)):
            n, dt = _infer_rate(net, X, device, threads, batch, repeats, min_s)
            nthreads = threads or torch.get_num_threads()
            label = f"torch/{nthreads}t" if str(device) == "cpu" else "torch"
            row("infer", net, label, device, n, dt, batch=batch)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "gpu.json"))
    ap.add_argument("--gunpoint", default=None, help="npz with X_train, X_test (encoded)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=1.0)
    ap.add_argument("--quick", action="store_true",
                    help="one repeat of at least 0.3 s, no 16-column layer (a short device lease)")
    ap.add_argument("--save-gunpoint", metavar="FILE.npz", default=None,
                    help="write the encoded GunPoint arrays for --gunpoint (here, where aeon "
                         "is installed) and exit")
    args = ap.parse_args(argv)
    if args.save_gunpoint:
        Xg, Xg_test = gunpoint(None)
        Path(args.save_gunpoint).parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.save_gunpoint, X_train=Xg, X_test=Xg_test)
        print(f"wrote {args.save_gunpoint}: X_train {Xg.shape}, X_test {Xg_test.shape}")
        return 0
    if args.quick:
        args.repeats, args.min_seconds = 1, min(args.min_seconds, 0.3)
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        print("bench_gpu: no CUDA device here (torch.cuda.is_available() is False)", file=sys.stderr)
        return 2
    Xg, Xg_test = gunpoint(args.gunpoint)
    Xw = random_volleys(2048, 1024, 1)
    wide = [(wide_layer(1024, 32, 1, Xw), Xw)]
    if not args.quick:
        wide.append((wide_layer(1024, 32, 16, Xw), Xw))
    t0 = time.perf_counter()
    print("checks:", flush=True)
    chk = checks(dev, Xg, Xg_test, wide)
    gnet = init_column_network(Xg.shape[1], 2, X=Xg, seed=0)
    print("throughput:", flush=True)
    rows = throughput(dev, [(gnet, Xg), *wide], args.repeats, args.min_seconds)
    result = {
        "benchmark": "torch trainer and inference on CUDA vs numba / CPU",
        "checks": chk,
        "all_checks_ok": all(c["ok"] for c in chk),
        "rows": rows,
        "seconds": time.perf_counter() - t0,
        "environment": {
            "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
            "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "torch_threads": torch.get_num_threads(),
            "cpu": _cpu_name(), "cpus": os.cpu_count(),
        },
        "repeats": args.repeats, "min_seconds": args.min_seconds,
    }
    try:
        import numba

        result["environment"]["numba"] = numba.__version__
    except ImportError:
        pass
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"checks ok: {result['all_checks_ok']}; wrote {out}")
    return 0 if result["all_checks_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
