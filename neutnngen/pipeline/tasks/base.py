"""The task protocol: what a data kind brings to the pipeline.

A task (one per ``data.kind``, registered in :mod:`neutnngen.pipeline.tasks`) prepares the
encoded data, evaluates a network on it (metrics and baselines), names its primary metric
and direction, writes the one-line headline and gives the report its task sections and
plots. The stages never ask which kind of data they run on; they ask the task.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...config import Config
from ...data.readout import classify, winners
from ...errors import ConfigError
from ...ir import Interpreter, Network


@dataclass(frozen=True)
class Data:
    """A task's data, encoded: spike times ready for the network."""

    name: str
    X_train: np.ndarray  # encoded spike times, int16 [n, inputs], -1 = silent
    y_train: np.ndarray  # class per sample (place cells: a coarse 4x4 arena bin, for plots)
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    info: dict
    kind: str = "ucr"
    shape: tuple[int, int, int] | None = None  # [H, W, C] of image inputs (receptive fields)
    extra: dict | None = None  # task-specific arrays (place cells: positions, arena, times)
    labelled: bool = True  # whether y_* are classes a supervised layer may learn
    # why there are no classes (when not labelled), for "neurons = 0" errors
    no_classes: str = field(default="the samples have no classes")
    # the validation split carved from the training data (data.validation > 0), else None
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None


def encode_series(cfg: Config, *Xs: np.ndarray) -> tuple[list[np.ndarray], str]:
    """Encode time series with the ``data`` section's code (docs/model.md §6): normalised by
    ``data.normalise`` with the statistics of ``Xs[0]``, the training split, then
    :func:`code_series`; returns the arrays and the description the report shows."""
    from ...data import normalise_series

    return code_series(cfg, normalise_series(cfg.data.normalise, *Xs))


def code_series(cfg: Config, Zs: list[np.ndarray]) -> tuple[list[np.ndarray], str]:
    """The code of already normalised series ``Zs`` (:func:`~neutnngen.data.normalise_series`,
    the training split first): bipolar, ``posneg`` or ``grf`` Gaussian receptive fields,
    after ``spectrum`` Fourier magnitudes or ``projections`` seeded random projections when
    set (the features are a series of their own, normalised the same way)."""
    from ...data import encode_timeseries, normalise_series, project_series, spectrum_series

    d, t = cfg.data, cfg.network.timeres
    if d.spectrum:
        Zs = normalise_series(d.normalise, *[
            spectrum_series(Z, d.spectrum, log=d.spectrum_log, normalise=False) for Z in Zs])
    if d.projections:
        Zs = normalise_series(d.normalise, *[
            project_series(Z, d.projections, cfg.experiment.seed, normalise=False)
            for Z in Zs])
    enc = [encode_timeseries(Z, timeres=t, clip=d.clip, posneg=d.posneg, fields=d.grf,
                             width=d.grf_width, normalise=False) for Z in Zs]
    code = f"grf={d.grf}, grf_width={d.grf_width}" if d.grf else f"posneg={d.posneg}"
    norm = "" if d.normalise == "series" else f"normalise={d.normalise}, "
    proj = f"projections={d.projections}, seed={cfg.experiment.seed}, " if d.projections else ""
    if d.spectrum:
        proj = f"spectrum={d.spectrum}, spectrum_log={d.spectrum_log}, "
    return enc, f"timeseries({norm}{proj}timeres={t}, clip={d.clip}, {code})"


def carve_validation(cfg: Config, data: Data, contiguous: bool = False,
                     extra_keys: tuple[str, ...] = ()) -> Data:
    """Hold out ``data.validation`` of the training samples as a validation split.

    Seeded (``experiment.seed``) and stratified by class for labelled data; ``contiguous``
    takes the *last* part of the training samples instead (a recorded path, where
    neighbouring samples are near-copies). The network then trains on the rest only; the
    test split is untouched. ``extra_keys`` names per-training-sample arrays in
    ``data.extra`` (e.g. positions) that are split the same way (``<key>`` keeps the fit
    part, ``<key>_val`` gets the held-out part). ``data.validation = 0`` returns ``data``."""
    frac = cfg.data.validation
    n = len(data.X_train)
    if frac <= 0:
        return data
    if contiguous or not data.labelled:
        k = max(1, int(round(n * frac)))
        fit, val = np.arange(n - k), np.arange(n - k, n)
    else:
        rng = np.random.default_rng([cfg.experiment.seed, 7919])
        fit_l, val_l = [], []
        for c in np.unique(data.y_train):
            idx = rng.permutation(np.flatnonzero(data.y_train == c))
            k = max(1, int(round(len(idx) * frac))) if len(idx) > 1 else 0
            val_l.extend(idx[:k].tolist())
            fit_l.extend(idx[k:].tolist())
        fit, val = np.sort(np.array(fit_l, dtype=np.int64)), np.sort(np.array(val_l, dtype=np.int64))
    if len(fit) < 2 or len(val) < 1:
        raise ConfigError(f"data.validation={frac:g} leaves {len(fit)} training and {len(val)} "
                          f"validation samples of {n}; expected at least 2 and 1",
                          path="data.validation")
    extra = dict(data.extra) if data.extra else None
    for key in extra_keys:
        arr = np.asarray(extra[key])
        extra[key], extra[key + "_val"] = arr[fit], arr[val]
    info = {**data.info, "n_train": int(len(fit)), "n_val": int(len(val)),
            "validation": (f"the last {frac:.0%} of the training samples" if contiguous or
                           not data.labelled else
                           f"seeded stratified {frac:.0%} of the training samples "
                           f"(seed {cfg.experiment.seed})")}
    return replace(data, X_train=data.X_train[fit], y_train=np.asarray(data.y_train)[fit],
                   X_val=data.X_train[val], y_val=np.asarray(data.y_train)[val], extra=extra,
                   info=info)


def infer(net: Network, X: np.ndarray) -> np.ndarray:
    """Output volleys of ``net`` for input volleys ``X`` (the reference interpreter)."""
    return Interpreter(net).forward(X)


def supervised_last(net: Network) -> bool:
    """Whether the last layer learned with labels (R-STDP or label lines)."""
    la = net.layers[-1]
    return la.learning is not None and (la.learning.kind == "rstdp" or any(
        c.proximal_mode == "enable" for c in la.columns))


def supervised_config(cfg: Config) -> bool:
    """Whether ``cfg`` trains its last layer with labels (known before any data)."""
    if cfg.layers:
        last = cfg.layers[-1]
        return last.learning == "rstdp" or last.proximal == "enable"
    return cfg.train.rule == "rstdp"


class Task:
    """Base class of a task; subclasses set :attr:`kind` and implement :meth:`prepare`,
    :meth:`evaluate`, :meth:`headline` and :meth:`accuracy_markdown`."""

    kind: ClassVar[str] = ""
    #: the baseline's name in the metric plot
    baseline_label: ClassVar[str] = "baseline"

    # ------------------------------------------------------------------ before any data
    def check(self, cfg: Config) -> None:
        """Static checks of ``cfg`` for this task (before data is loaded). Raise a
        :class:`ConfigError` naming the key."""

    def primary_metric(self, cfg: Config) -> tuple[str, bool]:
        """``(key in metrics["test"], higher_is_better)`` that pruning and DSE compare."""
        raise NotImplementedError

    def fingerprint(self, cfg: Config) -> str | None:
        """A digest of input data the config names but does not contain (a user's files),
        so that resumed results follow a changed file; None when the config says it all."""
        return None

    # ------------------------------------------------------------------ data and metrics
    def prepare(self, cfg: Config) -> Data:
        raise NotImplementedError

    def evaluate(self, net: Network, data: Data, seed: int) -> dict:
        """``{"metrics": {"train": ..., "test": ...}, "baseline": {...}}``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ reporting
    def headline(self, report: dict) -> str:
        raise NotImplementedError

    def accuracy_markdown(self, report: dict) -> str:
        """The body of the report's "Accuracy" section (Markdown)."""
        raise NotImplementedError

    def metric_bars(self, report: dict) -> tuple[list[str], list[float], list[float], str, str]:
        """``(labels, network values, baseline values, baseline name, y label)`` of the
        metric plot."""
        raise NotImplementedError

    def plots(self, report: dict, net: Network, data: Data, plots_dir: Path) -> dict[str, Path]:
        """Task plots beyond the weight map, raster and metric bars."""
        return {}

    def raster_title(self, report: dict) -> str:
        return f"{report['dataset']['name']} test set: output spikes per neuron"


# ------------------------------------------------------------------------------ shared
def md_table(rows: list[tuple[str, Any]], head: tuple[str, str] = ("quantity", "value")) -> str:
    """A two-column Markdown table (the report's number format)."""
    from ...report.render import fmt

    out = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    out += [f"| {k} | {fmt(v)} |" for k, v in rows]
    return "\n".join(out)


def winner_counts(out_test: np.ndarray) -> list[int]:
    w = winners(out_test)
    return [int((w == i).sum()) for i in range(out_test.shape[1])]


def outputs(net: Network, data: Data) -> tuple[np.ndarray, np.ndarray]:
    """Output volleys of both splits (train, test)."""
    return infer(net, data.X_train), infer(net, data.X_test)


def clustering_evaluation(net: Network, data: Data, seed: int,
                          outs: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Clustering metrics of the winners (ARI, NMI, Rand index, purity, coverage) on every
    split with two k-means baselines (k = the network's output neurons, fitted on the
    training split): ``kmeans`` on the same encoded inputs with a silent line as
    ``2**timeres`` (after the last step), and ``kmeans_raw`` on the raw (z-normalised)
    samples when the task keeps them (``data.extra["raw_train"]``)."""
    from ...data.metrics import clustering_metrics, kmeans_baseline

    out_tr, out_te = outs or outputs(net, data)
    metrics = {"train": clustering_metrics(data.y_train, winners(out_tr)),
               "test": clustering_metrics(data.y_test, winners(out_te))}
    metrics["test"]["winner_counts"] = winner_counts(out_te)
    if data.X_val is not None:
        metrics["val"] = clustering_metrics(data.y_val, winners(infer(net, data.X_val)))
    k = max(1, min(int(net.outputs), len(data.X_train)))
    late = 1 << int(net.time.timeres)
    base = {"kmeans": kmeans_baseline(data.X_train.astype(float), data.X_test.astype(float),
                                      data.y_train, data.y_test, k, seed, silent=late,
                                      X_val=data.X_val, y_val=data.y_val)}
    ex = data.extra or {}
    if "raw_train" in ex:
        base["kmeans_raw"] = kmeans_baseline(ex["raw_train"], ex["raw_test"], data.y_train,
                                             data.y_test, k, seed, X_val=ex.get("raw_train_val"),
                                             y_val=data.y_val)
    return {"metrics": metrics, "baseline": base}


def classification_evaluation(net: Network, data: Data,
                              outs: tuple[np.ndarray, np.ndarray] | None = None,
                              logistic: bool = False, seed: int = 0) -> dict:
    """Classification error of the winners (the winner itself when the last layer learned
    with labels, else the majority training class of the winner) on every split, with the
    nearest class centroid baseline on the same encoded inputs (and, with ``logistic``, a
    logistic regression on them)."""
    from ...data.metrics import (
        classification_error,
        logistic_baseline,
        nearest_centroid_baseline,
    )

    out_tr, out_te = outs or outputs(net, data)
    sup = supervised_last(net)
    metrics: dict[str, dict] = {}
    splits = [("train", out_tr, data.y_train), ("test", out_te, data.y_test)]
    if data.X_val is not None:
        splits.append(("val", infer(net, data.X_val), data.y_val))
    for split, out, y in splits:
        pred, how = classify(out, sup, out_tr, data.y_train)
        err = classification_error(y, pred)
        metrics[split] = {"error": err, "accuracy": 1 - err,
                          "coverage": float((winners(out) >= 0).mean()), "decoder": how}
    metrics["test"]["winner_counts"] = winner_counts(out_te)
    t = net.time.timeres
    base = {"nearest_centroid": nearest_centroid_baseline(data.X_train, data.X_test,
                                                          data.y_train, data.y_test, t)}
    if data.X_val is not None:
        base["nearest_centroid"]["val"] = nearest_centroid_baseline(
            data.X_train, data.X_val, data.y_train, data.y_val, t)["test"]
    if logistic and len(np.unique(data.y_train)) > 1:
        base["logistic"] = logistic_baseline(data.X_train, data.X_test, data.y_train,
                                             data.y_test, t, seed)
        if data.X_val is not None:
            base["logistic"]["val"] = logistic_baseline(data.X_train, data.X_val, data.y_train,
                                                        data.y_val, t, seed)["test"]
    return {"metrics": metrics, "baseline": base}


CLUSTER_KEYS = ("adjusted_rand_index", "normalized_mutual_info", "rand_index", "purity",
                "coverage")


def clustering_table(report: dict) -> str:
    """Test-split clustering metrics (ARI first: the primary metric) next to both k-means
    baselines, then the validation and train ARI and Rand index."""
    from ...report.render import fmt

    m, mt = report["metrics"]["test"], report["metrics"]["train"]
    mv = report["metrics"].get("val")
    bases = [(name, report["baseline"][key]) for key, name in
             (("kmeans", "k-means (encoded, k = neurons)"), ("kmeans_raw", "k-means (raw series)"))
             if key in report["baseline"]]
    rows = ["| metric (test split) | TNN | " + " | ".join(n for n, _ in bases) + " |",
            "|---|---|" + "---|" * len(bases)]
    for k in CLUSTER_KEYS:
        rows.append(f"| {k} | {fmt(m.get(k))} | "
                    + " | ".join(fmt(b["test"].get(k)) for _, b in bases) + " |")
    for split, ms in (("val", mv), ("train", mt)):
        if ms is None:
            continue
        for k in ("adjusted_rand_index", "rand_index"):
            rows.append(f"| {split} {k} | {fmt(ms.get(k))} | "
                        + " | ".join(fmt(b.get(split, {}).get(k)) for _, b in bases) + " |")
    return "\n".join(rows)


def clustering_bars(report: dict) -> tuple[list[str], list[float], list[float], str, str]:
    keys = ["adjusted_rand_index", "normalized_mutual_info", "rand_index", "purity", "coverage"]
    m = report["metrics"]["test"]
    b = report["baseline"]["kmeans"]["test"]
    return (["adjusted RI", "NMI", "Rand index", "purity", "coverage"],
            [m.get(k, 0) for k in keys], [b.get(k, 0) for k in keys], "k-means baseline",
            "score")


def check_receptive_fields(cfg: Config, height: int, width: int, where: str) -> None:
    """The first ``[[layers]]`` table's receptive field and stride fit an image of
    ``height x width`` pixels (``where`` names the keys that set the image size)."""
    if not cfg.layers:
        return
    lc = cfg.layers[0]
    side = min(height, width)
    if lc.rfsize > side:
        raise ConfigError(f"layers.0.rfsize={lc.rfsize} is larger than the {height}x{width} image "
                          f"({where}); expected 1..{side}", path="layers.0.rfsize")
    if lc.rfsize and lc.stride > side - lc.rfsize and lc.stride > lc.rfsize:
        raise ConfigError(f"layers.0.stride={lc.stride} steps past the {height}x{width} image "
                          f"({where}) after one window of {lc.rfsize}: only one window would "
                          f"train; expected 0 (= rfsize) .. {max(side - lc.rfsize, lc.rfsize)}",
                          path="layers.0.stride")


def check_threshold(cfg: Config, inputs: int, where: str = "the input") -> None:
    """A fixed ``network.theta`` (or the first layer's ``theta``) no segment can reach with
    ``inputs`` lines is a neuron that never fires: a ConfigError before any training. The
    largest potential is every input synapse at ``w_max`` with its input at time 0."""
    if cfg.layers:
        lc = cfg.layers[0]
        key, theta, wres = "layers.0.theta", lc.theta, lc.wres or cfg.network.wres
    else:
        key, theta, wres = "network.theta", cfg.network.theta, cfg.network.wres
    full = inputs * ((1 << wres) - 1)
    if theta and theta > full:
        raise ConfigError(f"{key}={theta} is unreachable: {inputs} input lines ({where}) at "
                          f"weight {(1 << wres) - 1} give a potential of at most {full}; "
                          f"expected 0 (calibrate) or 1..{full}", path=key)


def check_neurons_for_classes(cfg: Config, what: str) -> None:
    """``neurons = 0`` (one per class) is refused up front for data without classes."""
    wheres = ([("network.neurons", cfg.network.neurons)] if not cfg.layers else
              [(f"layers.{i}.neurons", lc.neurons) for i, lc in enumerate(cfg.layers)])
    for where, q in wheres:
        if q == 0:
            raise ConfigError(f"{where}=0 means one neuron per class, but {what}: set the "
                              "number of neurons", path=where)
    if supervised_config(cfg) or any(lc.proximal == "enable" for lc in cfg.layers):
        where = "layers.proximal" if cfg.layers else "train.rule"
        raise ConfigError(f"{what}, so nothing can be learned with labels: use STDP without "
                          "label lines (train.rule = 'stdp'; per layer learning = 'stdp', "
                          "proximal = 'none')", path=where)
