"""Building and training the network of a config: the single column of ``[network]`` or the
``[[layers]]`` network grown greedily, on the seeded training stream."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np

from .. import config as cfgmod
from ..config import Config
from ..errors import ConfigError
from ..ir import LearningRule, Network, TimeSpec, check, kind_of, to_text
from ..progress import Progress, step
from .tasks import Data
from .tasks.base import check_threshold


def learning_rule(cfg: Config, layer: cfgmod.LayerConfig | None = None) -> LearningRule:
    t = cfg.train
    kind, credit = t.rule, t.credit
    mus = {k: getattr(t, k) for k in ("mu_capture", "mu_minus", "mu_search", "mu_backoff", "mu_min")}
    if layer is not None:
        kind = layer.learning
        mus = {k: (getattr(layer, k) if getattr(layer, k) >= 0 else v) for k, v in mus.items()}
    extra: dict[str, Any] = {}
    if t.homeostasis != "none":
        extra.update(homeostasis=t.homeostasis, h_step=t.h_step, h_shift=t.h_shift)
    if t.w_norm:
        extra.update(w_norm=t.w_norm)
    if layer is None and cfg.network.theta_mode == "relative":
        extra.update(theta="relative", theta_shift=cfg.network.theta_shift)
    return LearningRule(kind=kind, credit=credit, **mus, **extra)


def _neurons(cfg: Config, data: Data, q: int, where: str) -> int:
    if q:
        return q
    if not data.labelled:
        raise ConfigError(f"{where}=0 means one neuron per class, but {data.no_classes}: set "
                          "the number of neurons", path=where)
    return data.n_classes


def init_network(cfg: Config, data: Data) -> Network:
    """The initial single-column network of a config without ``[[layers]]``."""
    from ..frontend import init_column_network
    from ..ir import Inhibition

    n = cfg.network
    check_threshold(cfg, int(data.X_train.shape[1]), f"{data.name}")
    q = _neurons(cfg, data, n.neurons, "network.neurons")
    if cfg.train.rule == "rstdp" and q != data.n_classes:
        raise ConfigError(f"network.neurons={q}: R-STDP maps neuron i to class i, so it needs "
                          f"one neuron per class ({data.n_classes})", path="network.neurons")
    net = init_column_network(
        data.X_train.shape[1], q, dendrites=n.dendrites, segments=n.segments,
        timeres=n.timeres, wres=n.wres, response=n.response, theta=n.theta or None,
        w_init=n.w_init, seed=cfg.experiment.seed, learning=learning_rule(cfg),
        theta_mode=n.theta_mode, tie=n.tie, theta_quantile=n.theta_quantile,
        theta_best=n.theta_cal == "best",
        column_inhibition=Inhibition.parse(n.column_inhibition),
        segment_inhibition=Inhibition.parse(n.segment_inhibition),
        X=data.X_train, name=cfg.experiment.name)
    return check(net)


def layer_plan(cfg: Config, data: Data, i: int):
    """The builder plan of ``[[layers]]`` table ``i``."""
    from ..frontend.build import LayerPlan
    from ..ir import Inhibition

    lc = cfg.layers[i]
    where = f"layers.{i}"
    q = _neurons(cfg, data, lc.neurons, f"{where}.neurons")
    last = i == len(cfg.layers) - 1
    if (lc.learning == "rstdp" or (lc.proximal == "enable" and last)) and q != data.n_classes:
        raise ConfigError(f"{where}.neurons={q}: a supervised layer (R-STDP or label lines) maps "
                          f"neuron i to class i, so it needs one neuron per class ({data.n_classes})",
                          path=f"{where}.neurons")
    if (lc.learning == "rstdp" or lc.proximal == "enable") and not data.labelled:
        raise ConfigError(f"{where}: {data.no_classes}, so the layer learns without labels; use "
                          "proximal='none' and learning='stdp'", path=f"{where}.proximal")
    return LayerPlan(
        name=lc.name or f"layer{i}", neurons=q, dendrites=lc.dendrites, segments=lc.segments,
        rfsize=lc.rfsize, stride=lc.stride, theta=lc.theta or None,
        theta_quantile=lc.theta_quantile,
        column_inhibition=Inhibition.parse(lc.column_inhibition),
        segment_inhibition=Inhibition.parse(lc.segment_inhibition), proximal=lc.proximal,
        learning=None if lc.learning == "none" else learning_rule(cfg, lc),
        wres=lc.wres or cfg.network.wres, w_init=lc.w_init or cfg.network.w_init,
        tie=cfg.network.tie)


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
    from ..model import train

    epochs = cfg.train.epochs if epochs is None else epochs
    order = training_order(len(data.X_train), epochs, cfg.experiment.seed, cfg.train.shuffle)
    X = data.X_train[order]
    y = data.y_train[order]
    labels = y if needs_labels(net) else None
    t0 = time.perf_counter()
    with Progress("train", len(X) * max(1, len(layers or [0])), enabled=show) as bar:
        # one run; with train.mu_decay epoch e learns with its mu shifted (M4)
        res = train(net, X, epochs=1, mode=cfg.train.mode, seed=cfg.experiment.seed,
                    labels=labels, layers=layers, progress=bar,
                    mu_shift=mu_shifts(cfg, len(X), len(data.X_train)))
    dt = time.perf_counter() - t0
    trainer = {k: v for k, v in (res.stats or {}).items() if k not in ("epochs", "samples")}
    stats = {**trainer, "waves": int(len(X)), "epochs": epochs, "mode": cfg.train.mode,
             "seconds": dt, "samples_per_s": len(X) / max(dt, 1e-9)}
    return res.network, stats


def mu_shifts(cfg: Config, waves: int, per_epoch: int) -> np.ndarray | None:
    """M4 (docs/model.md §5): the shift of each of ``waves`` training waves, epoch ``e``
    being waves ``e * per_epoch ..``: ``min(e // every, max)``, capped at 15 (every ``mu``
    is 0 from 11 on); None when ``train.mu_decay`` is off."""
    every, most = cfg.train.mu_decay
    if every <= 0 or most <= 0:
        return None
    e = np.arange(waves) // max(per_epoch, 1)
    return np.minimum(np.minimum(e // every, most), 15).astype(np.int64)


def _append_lut(cfg: Config, data: Data, net: Network | None, i: int, ts: TimeSpec,
                show: bool) -> tuple[Network, dict]:
    """``net`` followed by the ``kind = "lut"`` layer ``i`` (docs/model.md §12): its tables
    read seeded line subsets of the volleys the layer sees and vote from the per-code class
    counts of the training split; a frozen WTA readout column follows it."""
    from ..frontend.build import append_lut, layer_inputs
    from ..model.stages.lut import train_lut

    lc = cfg.layers[i]
    where = f"layers.{i}"
    if not data.labelled:
        raise ConfigError(f"{where}.kind='lut': the tables are filled from class labels, but "
                          f"{data.no_classes}", path=f"{where}.kind")
    q = _neurons(cfg, data, lc.neurons, f"{where}.neurons")
    if q != data.n_classes:
        raise ConfigError(f"{where}.neurons={q}: a lut layer votes for the classes, so it needs "
                          f"one output line per class ({data.n_classes})", path=f"{where}.neurons")
    Xin = layer_inputs(net, data.X_train)
    if lc.k > Xin.shape[1]:
        raise ConfigError(f"{where}.k={lc.k}: a table reads k distinct lines, but the layer sees "
                          f"only {Xin.shape[1]}", path=f"{where}.k")
    name = lc.name or f"layer{i}"
    t0 = time.perf_counter()
    lut = train_lut(name, Xin, data.y_train, outputs=q, tables=lc.tables, k=lc.k,
                    seed=cfg.experiment.seed + i, vbits=lc.vbits, theta=lc.theta or 1,
                    shift=lc.shift, t_max=ts.t_max_in)
    step(f"lut layer {i} ({name}): {lc.tables} tables x {lc.k} lines, {lut.table_bits} table "
         f"bits, filled from {len(Xin)} labelled volleys", show)
    net = append_lut(net, lut, readout=f"{name}_wta", name=cfg.experiment.name, time=ts,
                     inputs=data.X_train.shape[1])
    return net, {"kind": "lut", "tables": lc.tables, "k": lc.k, "vbits": lc.vbits,
                 "table_bits": lut.table_bits, "waves": int(len(Xin)), "epochs": 1,
                 "rule": "lut-counts", "supervised": True,
                 "seconds": time.perf_counter() - t0}


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
    from ..frontend.build import append_layer, init_layer, layer_inputs, layer_shape

    ts = TimeSpec(cfg.network.timeres, cfg.network.response)
    net: Network | None = None
    initial: list = []
    per_layer: dict[str, Any] = {}
    t0 = time.perf_counter()
    waves = 0
    backend: dict[str, Any] = {}
    for i in range(len(cfg.layers)):
        if cfg.layers[i].kind == "lut":
            net, st = _append_lut(cfg, data, net, i, ts, show)
            initial.append(net.layers[-1])
            per_layer[str(i)] = st
            continue
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


#: below this share of test samples with an output spike, a run says why it is silent
SILENT_COVERAGE = 0.5


def silence_warning(net0: Network, net: Network, coverage: float | None) -> str | None:
    """A warning when the trained network answers fewer than :data:`SILENT_COVERAGE` of the
    test samples (``coverage``), with what training did to its last learning layer's
    weights and thresholds; ``None`` otherwise."""
    if coverage is None or coverage != coverage or coverage >= SILENT_COVERAGE:
        return None
    msg = f"only {coverage:.1%} of the test samples get an output spike"
    idx = [i for i, la in enumerate(net.layers) if la.learning is not None]
    if not idx:
        return msg + " (no layer learns: the calibrated thresholds are above what the inputs reach)"
    i = idx[-1]
    before, after = net0.layers[i], net.layers[i]

    def mean_w(la):
        return float(np.mean([np.asarray(c.distal.weights)[np.asarray(c.distal.mask)].mean()
                              for c in la.columns]))

    theta = float(np.mean([np.asarray(c.theta).mean() for c in after.columns]))
    w0, w1 = mean_w(before), mean_w(after)
    msg += (f"; layer {after.name!r}: mean weight {w0:.2f} -> {w1:.2f} in training, mean "
            f"threshold {theta:.0f}")
    if w1 < 0.5 * w0:
        msg += (" (learning depressed the weights below what the thresholds need: try smaller "
                "mu_minus / mu_backoff for that layer)")
    else:
        msg += " (the thresholds are above what its inputs reach)"
    return msg


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
        **_lut_summary(net),
    }


def _lut_summary(net: Network) -> dict:
    """Tables and ROM bits of the network's ``lut`` stages (none: nothing)."""
    luts = [st for st in net.stages if kind_of(st).name == "lut"]
    if not luts:
        return {}
    return {"lut_tables": sum(t.tables for t in luts),
            "lut_table_bits": sum(t.table_bits for t in luts)}
