"""The Python API behind the CLI: data -> IR -> training -> HDL -> verification -> synthesis
-> report. The only module (with ``cli``) that sees every peer.

Output directory layout of :func:`run` (every file written atomically; a rerun with the
same config skips the stages whose inputs did not change, so an interrupted run resumes):

    OUT/config.toml          resolved config (every key)
    OUT/ir/initial.{json,npz}, OUT/ir/model.{json,npz}, OUT/ir/model.txt
    OUT/metrics.json         task metrics, k-means baseline, IR size, seed
    OUT/rtl/TOP.v, TOP.il, names.json
    OUT/verify/result.json   (+ waveform on mismatch or with verify.waves)
    OUT/synth/<target>.json
    OUT/report.json, report.md, report.html, plots/*.png
    OUT/state.json           stage digests (what resume compares)
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import config as cfgmod
from .config import Config
from .errors import ConfigError, VerificationMismatch
from .ir import Interpreter, LearningRule, Network, TimeSpec, check, load, save, to_text
from .progress import Progress, step

SCHEMA = "neutnngen-report/1"


# ------------------------------------------------------------------------------ helpers
def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    """Strict JSON (NaN and infinities, e.g. a metric with nothing to measure, become null)."""
    atomic_write_text(path, json.dumps(_finite(obj), indent=2, sort_keys=True,
                                       default=_json_default, allow_nan=False) + "\n")


def _finite(o: Any) -> Any:
    if isinstance(o, float | np.floating):
        return float(o) if np.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_finite(v) for v in o]
    if isinstance(o, np.ndarray):
        return _finite(o.tolist())
    return o


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=_json_default).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def winners(out: np.ndarray) -> np.ndarray:
    """Predicted cluster per wave: index of the earliest output (lowest index on ties), or
    -1 when nothing fired."""
    out = np.asarray(out)
    big = np.where(out < 0, np.iinfo(np.int64).max, out)
    idx = np.argmin(big, axis=1)
    return np.where((out >= 0).any(axis=1), idx, -1)


class State:
    """Stage digests of an output directory (for resume)."""

    def __init__(self, outdir: Path):
        self.path = outdir / "state.json"
        self.data: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def fresh(self, stage: str, key: str, *files: Path) -> bool:
        return self.data.get(stage) == key and all(f.exists() for f in files)

    def done(self, stage: str, key: str) -> None:
        self.data[stage] = key
        write_json(self.path, self.data)


# ------------------------------------------------------------------------------ data
@dataclass(frozen=True)
class Data:
    name: str
    X_train: np.ndarray  # encoded spike times, int16 [n, inputs], -1 = silent
    y_train: np.ndarray  # class per sample (place cells: a coarse 4x4 arena bin, for plots)
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    info: dict
    kind: str = "ucr"
    shape: tuple[int, int, int] | None = None  # [H, W, C] of image inputs (receptive fields)
    extra: dict | None = None  # place cells: pos_train, pos_test (cm), arena_cm, t_test


def prepare_data(cfg: Config) -> Data:
    """Load and encode the config's dataset (SPEC §6 encoders)."""
    kind = cfg.data.kind
    if kind == "ucr":
        return _ucr_data(cfg)
    if kind == "mnist":
        return _mnist_data(cfg)
    if kind == "place_cells":
        return _place_data(cfg)
    raise ConfigError(f"data.kind={kind!r}; accepted: {', '.join(cfgmod.CHOICES['data.kind'])}",
                      path="data.kind")


def _ucr_data(cfg: Config) -> Data:
    from .data import encode_timeseries, load_ucr

    d = cfg.data
    ds = load_ucr(d.name or "GunPoint")
    t = cfg.network.timeres
    Xtr = encode_timeseries(ds.X_train, timeres=t, clip=d.clip, posneg=d.posneg)
    Xte = encode_timeseries(ds.X_test, timeres=t, clip=d.clip, posneg=d.posneg)
    info = {"name": ds.name, "kind": "ucr", "source": ds.source, "n_train": int(len(ds.y_train)),
            "n_test": int(len(ds.y_test)), "length": int(ds.X_train.shape[1]),
            "inputs": int(Xtr.shape[1]), "classes": [str(c) for c in ds.classes],
            "encoder": f"timeseries(timeres={t}, clip={d.clip}, posneg={d.posneg})"}
    return Data(ds.name, Xtr, np.asarray(ds.y_train), Xte, np.asarray(ds.y_test),
                int(len(ds.classes)), info)


def _mnist_data(cfg: Config) -> Data:
    from .data import encode_images_grayscale, encode_images_onoff, encode_images_posneg
    from .data.mnist import load_mnist, pool_images

    d = cfg.data
    t = cfg.network.timeres
    ds = load_mnist(source=d.source, n_train=d.n_train, n_test=d.n_test, seed=cfg.experiment.seed)
    imgs = [pool_images(ds.X_train, d.pool), pool_images(ds.X_test, d.pool)]
    if d.encoder == "grayscale":
        enc = [encode_images_grayscale(a, timeres=t, vmax=1.0) for a in imgs]
        C, desc = 1, f"grayscale(timeres={t}, vmax=1)"
    elif d.encoder == "posneg":
        enc = [encode_images_posneg(a, thr=d.threshold) for a in imgs]
        C, desc = 2, f"posneg(thr={d.threshold})"
    else:
        enc = [encode_images_onoff(a, k=3, timeres=t) for a in imgs]
        C, desc = 2, f"onoff(k=3, timeres={t})"
    H, W = imgs[0].shape[1:]
    info = {"name": "MNIST", "kind": "mnist", "source": ds.source, "origin": ds.origin,
            "n_train": int(len(ds.y_train)), "n_test": int(len(ds.y_test)),
            "split": f"seeded stratified {len(ds.y_train)}/{len(ds.y_test)} (seed {ds.seed})",
            "image": [int(H), int(W), C], "pool": d.pool, "inputs": int(enc[0].shape[1]),
            "classes": list(ds.classes), "encoder": desc}
    return Data("MNIST", enc[0], np.asarray(ds.y_train), enc[1], np.asarray(ds.y_test),
                len(ds.classes), info, kind="mnist", shape=(int(H), int(W), C))


def place_centres(cfg: Config, arena_cm: tuple[float, float]) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Receptive-field centres (a grid, ``data.fields`` along the longer side), their width
    (``data.field_sigma_cm`` or the grid spacing) and the grid ``(nx, ny)``."""
    from .data import grid_centres

    w, h = arena_cm
    n = cfg.data.fields
    nx, ny = (n, max(1, round(n * h / w))) if w >= h else (max(1, round(n * w / h)), n)
    sigma = cfg.data.field_sigma_cm or max(w / nx, h / ny)
    return grid_centres(w, h, nx, ny), float(sigma), (nx, ny)


def _place_data(cfg: Config) -> Data:
    from .data import encode_positions
    from .data.places import load_trajectory, place_cell_split

    d = cfg.data
    t = cfg.network.timeres
    traj = load_trajectory(d.name or "sargolini")
    sp = place_cell_split(traj, dt=d.dt, train_fraction=d.train_fraction)
    centres, sigma, (nx, ny) = place_centres(cfg, sp.arena_cm)
    Xtr = encode_positions(sp.pos_train, centres, sigma, timeres=t)
    Xte = encode_positions(sp.pos_test, centres, sigma, timeres=t)

    def coarse(pos: np.ndarray) -> np.ndarray:  # 4x4 arena bins: labels for plots only
        w, h = sp.arena_cm
        bx = np.clip((pos[:, 0] / w * 4).astype(int), 0, 3)
        by = np.clip((pos[:, 1] / h * 4).astype(int), 0, 3)
        return by * 4 + bx

    info = {"name": f"place cells ({traj.name})", "kind": "place_cells", "source": traj.source,
            "citation": traj.citation, "n_train": int(len(sp.pos_train)),
            "n_test": int(len(sp.pos_test)), "inputs": int(Xtr.shape[1]),
            "arena_cm": list(sp.arena_cm), "dt_s": sp.dt,
            "split": f"first {d.train_fraction:.0%} of the recording trains, the rest tests",
            "classes": [f"bin{i}" for i in range(16)],
            "encoder": f"positions({nx}x{ny} Gaussian fields, sigma={sigma:.3g} cm, timeres={t})",
            "spikes": "derived from the real recorded positions by the encoder; not recorded spikes"}
    extra = {"pos_train": sp.pos_train, "pos_test": sp.pos_test, "arena_cm": sp.arena_cm,
             "t_test": sp.t_test, "centres": centres}
    return Data(info["name"], Xtr, coarse(sp.pos_train), Xte, coarse(sp.pos_test), 16, info,
                kind="place_cells", extra=extra)


# ------------------------------------------------------------------------------ model
def learning_rule(cfg: Config, layer: cfgmod.LayerConfig | None = None) -> LearningRule:
    t = cfg.train
    kind, credit = t.rule, t.credit
    mus = {k: getattr(t, k) for k in ("mu_capture", "mu_minus", "mu_search", "mu_backoff", "mu_min")}
    if layer is not None:
        kind = layer.learning
        mus = {k: (getattr(layer, k) if getattr(layer, k) >= 0 else v) for k, v in mus.items()}
    return LearningRule(kind=kind, credit=credit, **mus)


def _neurons(cfg: Config, data: Data, q: int, where: str) -> int:
    if q:
        return q
    if data.kind == "place_cells":
        raise ConfigError(f"{where}=0 means one neuron per class, but place cells have no classes: "
                          "set the number of place-cell neurons", path=where)
    return data.n_classes


def init_network(cfg: Config, data: Data) -> Network:
    """The initial single-column network of a config without ``[[layers]]``."""
    from .frontend import init_column_network
    from .ir import Inhibition

    n = cfg.network
    q = _neurons(cfg, data, n.neurons, "network.neurons")
    if cfg.train.rule == "rstdp" and q != data.n_classes:
        raise ConfigError(f"network.neurons={q}: R-STDP maps neuron i to class i, so it needs "
                          f"one neuron per class ({data.n_classes})", path="network.neurons")
    net = init_column_network(
        data.X_train.shape[1], q, dendrites=n.dendrites, segments=n.segments,
        timeres=n.timeres, wres=n.wres, response=n.response, theta=n.theta or None,
        w_init=n.w_init, seed=cfg.experiment.seed, learning=learning_rule(cfg),
        column_inhibition=Inhibition.parse(n.column_inhibition),
        segment_inhibition=Inhibition.parse(n.segment_inhibition),
        X=data.X_train, name=cfg.experiment.name)
    return check(net)


def layer_plan(cfg: Config, data: Data, i: int):
    """The builder plan of ``[[layers]]`` table ``i``."""
    from .frontend.build import LayerPlan
    from .ir import Inhibition

    lc = cfg.layers[i]
    where = f"layers.{i}"
    q = _neurons(cfg, data, lc.neurons, f"{where}.neurons")
    last = i == len(cfg.layers) - 1
    if (lc.learning == "rstdp" or (lc.proximal == "enable" and last)) and q != data.n_classes:
        raise ConfigError(f"{where}.neurons={q}: a supervised layer (R-STDP or label lines) maps "
                          f"neuron i to class i, so it needs one neuron per class ({data.n_classes})",
                          path=f"{where}.neurons")
    if (lc.learning == "rstdp" or lc.proximal == "enable") and data.kind == "place_cells":
        raise ConfigError(f"{where}: place cells are learned without labels; use proximal='none' "
                          "and learning='stdp'", path=f"{where}.proximal")
    return LayerPlan(
        name=lc.name or f"layer{i}", neurons=q, dendrites=lc.dendrites, segments=lc.segments,
        rfsize=lc.rfsize, stride=lc.stride, theta=lc.theta or None,
        theta_quantile=lc.theta_quantile,
        column_inhibition=Inhibition.parse(lc.column_inhibition),
        segment_inhibition=Inhibition.parse(lc.segment_inhibition), proximal=lc.proximal,
        learning=None if lc.learning == "none" else learning_rule(cfg, lc),
        wres=lc.wres or cfg.network.wres, w_init=lc.w_init or cfg.network.w_init)


def layer_epochs(cfg: Config, i: int) -> int:
    """Training epochs of layer ``i``: its ``[[layers]]`` value, else ``train.epochs``."""
    if i < len(cfg.layers) and cfg.layers[i].epochs >= 0:
        return cfg.layers[i].epochs
    return cfg.train.epochs


def needs_labels(net: Network) -> bool:
    """Whether training feeds labels (R-STDP or label lines on a learning layer)."""
    return any(la.learning is not None and (la.learning.kind == "rstdp" or any(
        c.proximal_mode == "enable" for c in la.columns)) for la in net.layers)


def training_order(n: int, epochs: int, seed: int, shuffle: bool) -> np.ndarray:
    """Sample indices of the whole training stream (every epoch, seeded order)."""
    rng = np.random.default_rng(seed)
    order = [rng.permutation(n) if shuffle else np.arange(n) for _ in range(epochs)]
    return np.concatenate(order) if order else np.zeros(0, dtype=np.int64)


def train_network(cfg: Config, net: Network, data: Data, show: bool = True,
                  layers: list[int] | None = None, epochs: int | None = None) -> tuple[Network, dict]:
    """Train ``layers`` (default: every learning layer, greedily bottom up) for ``epochs``
    (default ``train.epochs``) on the seeded training stream. Masks (pruned synapses) stay."""
    from .model import train

    epochs = cfg.train.epochs if epochs is None else epochs
    order = training_order(len(data.X_train), epochs, cfg.experiment.seed, cfg.train.shuffle)
    X = data.X_train[order]
    y = data.y_train[order]
    labels = y if needs_labels(net) else None
    t0 = time.perf_counter()
    with Progress("train", len(X) * max(1, len(layers or [0])), enabled=show) as bar:
        res = train(net, X, epochs=1, mode=cfg.train.mode, seed=cfg.experiment.seed,
                    labels=labels, layers=layers, progress=bar)
    dt = time.perf_counter() - t0
    trainer = {k: v for k, v in (res.stats or {}).items() if k not in ("epochs", "samples")}
    stats = {**trainer, "waves": int(len(X)), "epochs": epochs, "mode": cfg.train.mode,
             "seconds": dt, "samples_per_s": len(X) / max(dt, 1e-9)}
    return res.network, stats


def build_and_train(cfg: Config, data: Data, show: bool = True) -> tuple[Network, Network, dict]:
    """``(initial, trained, stats)``. A single column (no ``[[layers]]``) is initialised and
    trained; a ``[[layers]]`` network is grown greedily: each layer is initialised with its
    thresholds calibrated on the outputs of the trained layers below, then trained alone
    (frozen layers below) for its epochs. ``initial`` is then the network with every layer
    as initialised (its lower layers already trained)."""
    if not cfg.layers:
        net0 = init_network(cfg, data)
        net, stats = train_network(cfg, net0, data, show)
        return net0, net, stats
    from .frontend.build import append_layer, init_layer, layer_inputs, layer_shape

    ts = TimeSpec(cfg.network.timeres, cfg.network.response)
    net: Network | None = None
    initial: list = []
    per_layer: dict[str, Any] = {}
    t0 = time.perf_counter()
    waves = 0
    backend: dict[str, Any] = {}
    for i in range(len(cfg.layers)):
        plan = layer_plan(cfg, data, i)
        Xin = layer_inputs(net, data.X_train)
        layer = init_layer(plan, inputs=Xin.shape[1], shape=layer_shape(net, data.shape), time=ts,
                           X=Xin, seed=cfg.experiment.seed, salt=i)
        initial.append(layer)
        net = append_layer(net, layer, name=cfg.experiment.name, time=ts, inputs=data.X_train.shape[1])
        epochs = layer_epochs(cfg, i)
        if plan.learning is None or epochs == 0:
            continue
        step(f"train layer {i} ({plan.name}): {len(layer.columns)} column(s) x {plan.neurons} "
             f"neurons x {plan.dendrites}x{plan.segments} segments, {epochs} epochs", show)
        net, st = train_network(cfg, net, data, show, layers=[i], epochs=epochs)
        per_layer[str(i)] = {**st["layers"][i], "epochs": epochs, "rule": plan.learning.kind,
                             "supervised": plan.proximal == "enable" or plan.learning.kind == "rstdp"}
        waves += st["waves"]
        backend = {k: st.get(k) for k in ("backend", "device")}
    assert net is not None
    net0 = net
    for i, layer in enumerate(initial):
        net0 = net0.replace_layer(i, layer)
    dt = time.perf_counter() - t0
    stats = {"mode": cfg.train.mode, "epochs": cfg.train.epochs, "waves": waves, "seconds": dt,
             "samples_per_s": waves / max(dt, 1e-9), "layers": per_layer, "greedy": True,
             "epochs_per_layer": {k: v["epochs"] for k, v in per_layer.items()}, **backend}
    return check(net0), net, stats


def infer(net: Network, X: np.ndarray) -> np.ndarray:
    return Interpreter(net).forward(X)


def classify(out: np.ndarray, supervised: bool, train_out: np.ndarray | None = None,
             y_train: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """Predicted class per wave: the winner itself when the last layer was trained with
    labels (neuron i = class i), else the majority training class of the winner."""
    w = winners(out)
    if supervised:
        return w, "winner neuron = class (supervised last layer)"
    assert train_out is not None and y_train is not None
    wt = winners(train_out)
    vote = np.full(out.shape[1], -1, dtype=np.int64)
    for i in range(out.shape[1]):
        ys = y_train[wt == i]
        if len(ys):
            vote[i] = np.bincount(ys).argmax()
    return np.where(w >= 0, vote[np.maximum(w, 0)], -1), "majority training class of the winner"


def _supervised_last(net: Network) -> bool:
    la = net.layers[-1]
    return la.learning is not None and (la.learning.kind == "rstdp" or any(
        c.proximal_mode == "enable" for c in la.columns))


def evaluate(net: Network, data: Data, seed: int) -> dict:
    """Task metrics (SPEC §8) of ``net`` on both splits, with the task's baseline."""
    from .data import (
        classification_error,
        clustering_metrics,
        kmeans_baseline,
        nearest_centroid_baseline,
    )

    out_tr = infer(net, data.X_train)
    out_te = infer(net, data.X_test)
    q = net.outputs
    win_tr, win_te = winners(out_tr), winners(out_te)
    counts = [int((win_te == i).sum()) for i in range(q)]
    if data.kind == "mnist":
        sup = _supervised_last(net)
        metrics = {}
        for split, out, y in (("train", out_tr, data.y_train), ("test", out_te, data.y_test)):
            pred, how = classify(out, sup, out_tr, data.y_train)
            err = classification_error(y, pred)
            metrics[split] = {"error": err, "accuracy": 1 - err,
                              "coverage": float((winners(out) >= 0).mean()), "decoder": how}
        metrics["test"]["winner_counts"] = counts
        base = nearest_centroid_baseline(data.X_train, data.X_test, data.y_train, data.y_test,
                                         net.time.timeres)
        return {"metrics": metrics, "baseline": {"nearest_centroid": base}}
    if data.kind == "place_cells":
        from sklearn.cluster import KMeans

        from .data.places import place_cell_metrics

        ex = data.extra or {}
        ptr, pte, arena = ex["pos_train"], ex["pos_test"], ex["arena_cm"]

        def pc(wtr, wte, pos_te=pte):
            return place_cell_metrics(wtr, ptr, wte, pos_te, q, arena, seed)
        km = KMeans(n_clusters=q, n_init=10, random_state=seed).fit(data.X_train.astype(float))
        base = pc(km.labels_.astype(np.int64), km.predict(data.X_test.astype(float)).astype(np.int64))
        m_tr = pc(win_tr, win_tr, ptr)  # fields and decoding on the training path itself
        metrics = {"train": {k: m_tr[k] for k in ("median_decoding_error_cm", "coverage")},
                   "test": {**pc(win_tr, win_te), "winner_counts": counts}}
        return {"metrics": metrics, "baseline": {"kmeans": {"test": base}}}
    metrics = {"train": clustering_metrics(data.y_train, win_tr),
               "test": clustering_metrics(data.y_test, win_te)}
    metrics["test"]["winner_counts"] = counts
    base = kmeans_baseline(data.X_train.astype(float), data.X_test.astype(float),
                           data.y_train, data.y_test, data.n_classes, seed)
    return {"metrics": metrics, "baseline": {"kmeans": base}}


# The task metric each data kind is judged by (a key of ``metrics["test"]``) and whether
# larger is better. Pruning and design-space reports compare designs on it.
PRIMARY_METRIC: dict[str, tuple[str, bool]] = {
    "ucr": ("rand_index", True),
    "mnist": ("error", False),
    "place_cells": ("median_decoding_error_cm", False),
}


def primary_metric(cfg: Config) -> tuple[str, bool]:
    """``(key in metrics["test"], higher_is_better)`` for the config's data kind."""
    return PRIMARY_METRIC[cfg.data.kind]


def headline(rep: dict) -> str:
    """One line with the task metric and its baseline (CLI summaries)."""
    m = rep["metrics"]["test"]
    kind = rep["dataset"].get("kind", "ucr")
    if kind == "mnist":
        b = rep["baseline"]["nearest_centroid"]["test"]
        return (f"test error {m['error']:.4f} (nearest class centroid {b['error']:.4f}), "
                f"coverage {m['coverage']:.3f}")
    if kind == "place_cells":
        def cm(v):
            return "n/a" if v is None or v != v else f"{v:.1f} cm"
        return (f"median decoding error {cm(m['median_decoding_error_cm'])} (chance "
                f"{cm(m['chance_decoding_error_cm'])}), arena covered {m['coverage_arena']:.2f}")
    b = rep["baseline"]["kmeans"]["test"]
    return (f"test Rand index {m['rand_index']:.4f} (k-means {b['rand_index']:.4f}), "
            f"coverage {m['coverage']:.3f}")


def ir_summary(net: Network) -> dict:
    layers = net.layers
    return {
        "synapses": int(net.synapses),
        "layers": len(layers),
        "columns": sum(len(la.columns) for la in layers),
        "neurons": sum(c.neurons for la in layers for c in la.columns),
        "segments": sum(c.neurons * c.dendrites * c.segments for la in layers for c in la.columns),
        "inputs": net.inputs, "outputs": net.outputs,
        "timeres": net.time.timeres, "response": net.time.response,
        "text_sha256": hashlib.sha256(to_text(net).encode()).hexdigest(),
    }


# ------------------------------------------------------------------------------ stages
def stage_train(cfg: Config, outdir: Path, data: Data, state: State, show: bool) -> tuple[Network, dict]:
    d = cfgmod.to_dict(cfg)
    key = digest("train", d["experiment"], d["data"], d["network"], d["train"], d.get("layers"))
    model = outdir / "ir" / "model.json"
    mfile = outdir / "metrics.json"
    if state.fresh("train", key, model, mfile):
        step("train: up to date (resumed)", show)
        return load(model), json.loads(mfile.read_text())
    step(f"init + train: {data.name}, {cfg.train.epochs} epochs, mode={cfg.train.mode}", show)
    net0, net, stats = build_and_train(cfg, data, show)
    save(net0, outdir / "ir" / "initial")
    save(net, model)
    atomic_write_text(outdir / "ir" / "model.txt", to_text(net))
    ev = evaluate(net, data, cfg.experiment.seed)
    metrics = {"seed": cfg.experiment.seed, "dataset": data.info, "ir": ir_summary(net),
               "training": stats, **ev}
    write_json(mfile, metrics)
    state.done("train", key)
    return net, metrics


def stage_compile(cfg: Config, net: Network, outdir: Path, state: State, show: bool) -> dict:
    from .hdl import emit

    rtl = outdir / "rtl"
    key = digest("compile", to_text(net), cfgmod.to_dict(cfg)["hdl"])
    info_file = rtl / "emit.json"
    if state.fresh("compile", key, info_file):
        step("compile: up to date (resumed)", show)
        return json.loads(info_file.read_text())
    step(f"compile: IR -> Verilog ({cfg.hdl.weights} weights)", show)
    res = emit(net, rtl, weights=cfg.hdl.weights, name=cfg.hdl.top)
    info = {"verilog": str(res.verilog), "rtlil": str(res.rtlil), "names": str(res.names),
            "info": res.info}
    write_json(info_file, info)
    state.done("compile", key)
    return info


def verify_stimulus(cfg: Config, data: Data) -> np.ndarray:
    X = data.X_test
    n = cfg.verify.samples
    if n and n < len(X):
        idx = np.sort(np.random.default_rng(cfg.experiment.seed).choice(len(X), n, replace=False))
        X = X[idx]
    return X


def stage_verify(cfg: Config, net: Network, emitted: dict, data: Data, outdir: Path,
                 state: State, show: bool) -> dict:
    from .verify import run_verification

    vdir = outdir / "verify"
    X = verify_stimulus(cfg, data)
    vlog = Path(emitted["verilog"]).read_bytes()
    key = digest("verify", hashlib.sha256(vlog).hexdigest(), to_text(net), X.tolist(),
                 cfgmod.to_dict(cfg)["verify"])
    rfile = vdir / "result.json"
    if state.fresh("verify", key, rfile):
        step("verify: up to date (resumed)", show)
        return json.loads(rfile.read_text())
    sim = None if cfg.verify.simulator == "auto" else cfg.verify.simulator
    step(f"verify: {len(X)} waves on {sim or 'the installed simulator'} against the interpreter", show)
    res = run_verification(net, Path(emitted["verilog"]), Path(emitted["names"]), X,
                           simulator=sim, workdir=vdir, waves=cfg.verify.waves,
                           timeout=cfg.verify.timeout_s)
    out = res.to_dict()
    write_json(rfile, out)
    if out.get("mismatches"):
        from .verify import describe

        raise VerificationMismatch(
            describe(out["first_mismatch"] or {}, out["mismatches"], out["waves"])
            + f" (waveform: {out.get('waveform')}; details: {rfile})",
            first=out.get("first_mismatch"))
    state.done("verify", key)
    return out


def stage_verify_learning(cfg: Config, net0: Network, net_sw: Network, emitted: dict, data: Data,
                          outdir: Path, state: State, show: bool) -> tuple[dict, Network]:
    """On-chip training in simulation: the ``learn``-mode design starts from the initial IR
    and learns from the same seeded training stream as the software trainer; after every
    wave its outputs, weights and LFSR states are compared with the interpreter. Returns the
    result and the chip-trained IR (which must equal the software-trained one)."""
    from .verify.learn import run_learning_verification, trained_network

    vdir = outdir / "verify"
    order = training_order(len(data.X_train), cfg.train.epochs, cfg.experiment.seed, cfg.train.shuffle)
    X = data.X_train[order]
    labels = data.y_train[order] if cfg.train.rule == "rstdp" else None
    vlog = Path(emitted["verilog"]).read_bytes()
    key = digest("verify-learn", hashlib.sha256(vlog).hexdigest(), to_text(net0), X.tolist(),
                 None if labels is None else labels.tolist(), cfgmod.to_dict(cfg)["verify"])
    rfile = vdir / "result.json"
    chip_file = outdir / "ir" / "chip_trained.json"
    if state.fresh("verify", key, rfile, chip_file):
        step("verify (on-chip learning): up to date (resumed)", show)
        return json.loads(rfile.read_text()), load(chip_file)
    sim = None if cfg.verify.simulator == "auto" else cfg.verify.simulator
    step(f"verify: on-chip STDP over {len(X)} training waves on {sim or 'the installed simulator'}, "
         "outputs, weights and LFSR states vs the interpreter after every wave", show)
    res = run_learning_verification(net0, Path(emitted["verilog"]), Path(emitted["names"]), X,
                                    labels=labels, simulator=sim, workdir=vdir, waves=cfg.verify.waves)
    out = {k: v for k, v in res.to_dict().items() if k not in ("final_weights", "final_rng")}
    chip = trained_network(net0, res.final_weights, res.final_rng)
    out["chip_equals_software"] = to_text(chip) == to_text(net_sw)
    write_json(rfile, out)
    if out.get("mismatches") or out.get("weight_mismatches") or out.get("rng_mismatches"):
        raise VerificationMismatch(
            f"on-chip learning differs from the reference: {out.get('mismatches')} output, "
            f"{out.get('weight_mismatches')} weight, {out.get('rng_mismatches')} LFSR mismatches; "
            f"first weight mismatch: {out.get('first_weight_mismatch')}; first output mismatch: "
            f"{out.get('first_mismatch')} (details: {rfile})", first=out.get("first_weight_mismatch"))
    if not out["chip_equals_software"]:
        raise VerificationMismatch("the chip-trained IR differs from the software-trained IR although "
                                   f"every wave matched the interpreter (details: {rfile})")
    save(chip, chip_file)
    state.done("verify", key)
    return out, chip


def stage_synth(cfg: Config, emitted: dict, outdir: Path, show: bool) -> dict:
    from . import flows

    s = cfg.synth
    verilog = Path(emitted["verilog"]).read_text()
    top = cfg.hdl.top
    results: dict[str, Any] = {}
    for target in s.targets:
        step(f"synth: {target}", show)
        if target == "generic":
            r = flows.synth_generic(verilog, top)
        elif target == "ice40":
            r = flows.synth_ice40(verilog, top, device=s.ice40_device, package=s.ice40_package,
                                  freq_mhz=s.freq_mhz)
        elif target == "ecp5":
            r = flows.synth_ecp5(verilog, top, device=s.ecp5_device, package=s.ecp5_package,
                                 freq_mhz=s.freq_mhz)
        else:
            r = flows.synth_liberty(verilog, top, s.liberty)
        results[target] = r.to_dict()
        write_json(outdir / "synth" / f"{target}.json", results[target])
    return results


def run(cfg: Config, outdir: str | Path, *, stages: tuple[str, ...] = ("train", "compile", "verify", "synth", "report"),
        show: bool = True, command: str | None = None) -> dict:
    """Train -> IR -> Verilog -> verify -> synth -> report. Returns the report dict.
    ``command`` is recorded in the report as the way to reproduce it."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(outdir / "config.toml", cfgmod.to_toml(cfg))
    state = State(outdir)
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    data = prepare_data(cfg)
    timing["data"] = time.perf_counter() - t0

    t = time.perf_counter()
    net, metrics = stage_train(cfg, outdir, data, state, show)
    timing["train"] = time.perf_counter() - t
    report: dict[str, Any] = {
        "schema": SCHEMA, "name": cfg.experiment.name, "seed": cfg.experiment.seed,
        "config": cfgmod.to_dict(cfg), "passes": [], "dataset": metrics["dataset"],
        "ir": metrics["ir"], "training": metrics["training"], "metrics": metrics["metrics"],
        "baseline": metrics["baseline"],
        "command": command or f"neutnngen run {outdir / 'config.toml'}",
    }
    learn = cfg.hdl.weights == "learn"
    if "compile" in stages:
        t = time.perf_counter()
        # a learning chip starts from the initial weights and trains itself
        hw_net = load(outdir / "ir" / "initial.json") if learn else net
        emitted = stage_compile(cfg, hw_net, outdir, state, show)
        timing["compile"] = time.perf_counter() - t
        info = emitted["info"]
        report["hdl"] = {"weights": cfg.hdl.weights, "top": cfg.hdl.top,
                         "latency_cycles": info.get("LATENCY"), "wave_cycles": info.get("WAVE_CYCLES"),
                         "pipeline_waves": info.get("L"), "ports": info,
                         "verilog": os.path.relpath(emitted["verilog"], outdir)}
        if "verify" in stages and cfg.verify.enabled:
            t = time.perf_counter()
            if learn:
                report["verify"], chip = stage_verify_learning(cfg, hw_net, net, emitted, data,
                                                               outdir, state, show)
                ev = evaluate(chip, data, cfg.experiment.seed)
                report["chip_trained"] = {"metrics": ev["metrics"],
                                          "equals_software": report["verify"]["chip_equals_software"],
                                          "ir": "ir/chip_trained.json"}
            else:
                report["verify"] = stage_verify(cfg, net, emitted, data, outdir, state, show)
            timing["verify"] = time.perf_counter() - t
        if "synth" in stages and cfg.synth.targets:
            t = time.perf_counter()
            report["synth"] = stage_synth(cfg, emitted, outdir, show)
            timing["synth"] = time.perf_counter() - t
            fmax = (report["synth"].get("ice40") or {}).get("fmax_mhz")
            wc = info.get("WAVE_CYCLES")
            if fmax and wc:
                report["performance"] = {
                    "fmax_mhz": fmax, "wave_cycles": wc,
                    "inferences_per_s_at_fmax": fmax * 1e6 / wc,
                    "latency_ns_at_fmax": info.get("LATENCY", 0) * 1e3 / fmax}
    from .flows import tool_versions

    report["tools"] = {"neutnngen": _version(), **tool_versions()}
    timing["total"] = time.perf_counter() - t0
    report["timing_s"] = timing
    if "report" in stages:
        from .report import write_report

        step("report", show)
        write_report(report, net, data, outdir)
    else:
        write_json(outdir / "report.json", report)
    return report


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("neutnngen")
    except PackageNotFoundError:
        return "unknown"
