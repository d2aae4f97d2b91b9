"""Why the two-layer MNIST example stays near 40% error (issue 13): the distance its label
layer classifies by.

    .venv/bin/python benchmarks/bench_mnist_geometry.py [--set KEY=VALUE ...]
        [--out benchmarks/results/mnist_geometry.json]

``examples/mnist_neutnn.toml`` is trained as shipped on its training digits less a seeded
validation quarter (``data.validation = 0.25``, as ``bench_learning.py`` does); the test
digits are not touched. Its label layer reads the spike times of layer 0 (the trained
feature columns). The validation digits' layer-0 codes are then classified without the label
layer, by one prototype per class taken from the fit digits' codes:

* ``centroid_l1`` / ``centroid_l2``: the nearest class mean in L1 / squared L2 (floats;
  a silent line counts as the time ``t_max_in + 1``);
* integer, time-domain sketches of a one-column label layer with one segment per class,
  weights the class's ``median`` or ``mean`` of the targeted rule's targets
  ``((t_max_in - x) * w_max) // t_max_in`` (0 on a silent line; rounded), winner = earliest spike, then larger overshoot (M1):
  - ``rnl``: the model's ramp response with a relative threshold ``(sum_j w_j >> 1) + c``
    (M2): its overshoot ranks the segments by L1 distance, and the targeted rule (M3)
    converges to the median;
  - ``lin``: a linear ramp without cap, ``r(t) = w (t - x + 1)`` for ``t >= x``, over
    ``t_max_in + 1`` steps, threshold ``(sum_j w_j**2 >> 1) + c``: since ``sum_j w_j a_j -
    |w|**2 / 2 = (|a|**2 - |a - w|**2) / 2`` its overshoot ranks the segments by squared L2
    distance. **Not in the model** (docs/model.md): a measured design sketch.

  The one offset ``c`` is chosen among the quantiles 0, 0.05, .., 1 of every fit digit's
  ``V_g(T - 1) - base_g`` by the lowest error on the fit digits; the validation digits are
  scored once. A digit without an output spike counts as an error.
* ``example``: the shipped label layer's own validation error (trained as in the example).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen import config  # noqa: E402
from neutnngen._io import atomic_write_text  # noqa: E402
from neutnngen.errors import NeutnngenError  # noqa: E402
from neutnngen.frontend.build import layer_inputs  # noqa: E402
from neutnngen.ir.stages.layer import kernels  # noqa: E402
from neutnngen.pipeline import get_task  # noqa: E402
from neutnngen.pipeline.network import build_and_train  # noqa: E402

EXAMPLE = "examples/mnist_neutnn.toml"
VAL = 0.25
def potentials(X: np.ndarray, W: np.ndarray, response: str, T: int) -> np.ndarray:
    """``V[n, g, t]`` of segments with weights ``W[g, p]`` for volleys ``X[n, p]``: the
    model's ramp (:func:`~neutnngen.ir.stages.layer.kernels.potentials`), or the linear ramp
    ``r(t) = w (t - x + 1)``, which is the running sum over ``t`` of the step response."""
    mask = np.ones(W.shape, dtype=bool)
    if response == "rnl":
        return kernels.potentials(X, W, mask, "rnl", T).astype(np.int64)
    if response == "lin":
        return np.cumsum(kernels.potentials(X, W, mask, "snl", T), axis=2, dtype=np.int64)
    raise ValueError(f"response={response!r}; expected 'rnl' or 'lin'")


def winners(V: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Index of the earliest segment to reach its threshold, the larger overshoot first on
    equal times, then the lower index (the model's M1 keys); -1 where none fires."""
    keys = kernels.overshoot_keys(V, kernels.first_crossing(V, theta), theta)
    fired = keys >= 0
    w = np.argmin(np.where(fired, keys, np.iinfo(np.int64).max), axis=1)
    return np.where(fired.any(axis=1), w, -1)


def sketch(Xf, yf, Xv, yv, classes: int, proto: str, response: str, t_max: int,
           w_max: int) -> dict:
    A = kernels.targeted_target(Xf, w_max, t_max)
    f = np.median if proto == "median" else np.mean
    W = np.stack([f(A[yf == c], axis=0) for c in range(classes)]).round().astype(np.int64)
    T = t_max + w_max if response == "rnl" else t_max + 1
    base = (W.sum(1) >> 1) if response == "rnl" else ((W * W).sum(1) >> 1)
    Vf = potentials(Xf, W, response, T)
    cands = sorted({int(np.ceil(q)) for q in np.quantile(Vf[:, :, -1] - base[None],
                                                          np.linspace(0, 1, 21))})
    fit = {c: float(np.mean(winners(Vf, base + c) != yf)) for c in cands}
    c = min(cands, key=lambda k: (fit[k], k))
    wv = winners(potentials(Xv, W, response, T), base + c)
    return {"fit_error": round(fit[c], 4), "val_error": round(float(np.mean(wv != yv)), 4),
            "val_coverage": round(float(np.mean(wv >= 0)), 4), "offset": c, "steps": T}


def measure(overrides: list[str]) -> dict:
    cfg = config.load(ROOT / EXAMPLE, [f"data.validation={VAL}", *overrides])
    task = get_task(cfg)
    data = task.prepare(cfg)
    _, net, _ = build_and_train(cfg, data, show=False)
    ev = task.evaluate(net, data, cfg.experiment.seed)
    cut = net.layer_stage_indices()[-1]
    below = dataclasses.replace(net, stages=net.stages[:cut])  # layer 0 (+ its retime)
    Xf, Xv = layer_inputs(below, data.X_train), layer_inputs(below, data.X_val)
    yf, yv, k = np.asarray(data.y_train), np.asarray(data.y_val), data.n_classes
    t_max, w_max = net.time.t_max_in, net.layers[-1].columns[0].distal.w_max
    silent = t_max + 1
    F, Vv = np.where(Xf < 0, silent, Xf).astype(float), np.where(Xv < 0, silent, Xv).astype(float)
    C = np.stack([F[yf == c].mean(0) for c in range(k)])
    out = {"n_fit": len(Xf), "n_val": len(Xv), "lines": int(Xf.shape[1]),
           "lines_firing": round(float(np.mean(Xf >= 0)), 4), "t_max_in": t_max, "w_max": w_max,
           "example_val_error": round(float(ev["metrics"]["val"]["error"]), 4),
           "centroid_l1_val_error": round(float(np.mean(
               np.abs(Vv[:, None] - C[None]).sum(2).argmin(1) != yv)), 4),
           "centroid_l2_val_error": round(float(np.mean(
               ((Vv[:, None] - C[None]) ** 2).sum(2).argmin(1) != yv)), 4),
           "sketches": {}}
    for proto in ("median", "mean"):
        for response in ("rnl", "lin"):
            out["sketches"][f"{proto}_{response}"] = sketch(Xf, yf, Xv, yv, k, proto, response,
                                                            t_max, w_max)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a key of the example (e.g. data.n_train=1000)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/mnist_geometry.json")
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.monotonic()
    try:
        r = measure(a.set)
    except NeutnngenError as e:
        ap.error(f"--set {' '.join(a.set)}: {e}")
    doc = {"benchmark": "MNIST example: the label layer's geometry (L1) against L2 on the same "
                        "layer-0 codes (issue 13)",
           "command": "benchmarks/bench_mnist_geometry.py " + " ".join(argv or sys.argv[1:]),
           "machine": {"python": platform.python_version()}, "config": EXAMPLE,
           "overrides": a.set, "validation": f"{VAL:.0%} of the training digits, seeded",
           "wall_s": round(time.monotonic() - t0, 1), **r}
    atomic_write_text(a.out, json.dumps(doc, indent=1) + "\n")
    s = r["sketches"]
    print(f"example {r['example_val_error']:.3f}; centroid L1 {r['centroid_l1_val_error']:.3f}, "
          f"L2 {r['centroid_l2_val_error']:.3f}; "
          + ", ".join(f"{k} {v['val_error']:.3f}" for k, v in s.items()) + f" -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
