"""The task protocol: what a data kind brings to the pipeline.

A task (one per ``data.kind``, registered in :mod:`neutnngen.pipeline.tasks`) prepares the
encoded data, evaluates a network on it (metrics and baselines), names its primary metric
and direction, writes the one-line headline and gives the report its task sections and
plots. The stages never ask which kind of data they run on; they ask the task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """Clustering metrics of the winners (Rand index, ARI, purity, coverage) on both splits
    with the k-means baseline on the same encoded inputs."""
    from ...data import clustering_metrics, kmeans_baseline

    out_tr, out_te = outs or outputs(net, data)
    metrics = {"train": clustering_metrics(data.y_train, winners(out_tr)),
               "test": clustering_metrics(data.y_test, winners(out_te))}
    metrics["test"]["winner_counts"] = winner_counts(out_te)
    base = kmeans_baseline(data.X_train.astype(float), data.X_test.astype(float),
                           data.y_train, data.y_test, data.n_classes, seed)
    return {"metrics": metrics, "baseline": {"kmeans": base}}


def classification_evaluation(net: Network, data: Data,
                              outs: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Classification error of the winners (the winner itself when the last layer learned
    with labels, else the majority training class of the winner) with the nearest class
    centroid baseline on the same encoded inputs."""
    from ...data import classification_error, nearest_centroid_baseline

    out_tr, out_te = outs or outputs(net, data)
    sup = supervised_last(net)
    metrics: dict[str, dict] = {}
    for split, out, y in (("train", out_tr, data.y_train), ("test", out_te, data.y_test)):
        pred, how = classify(out, sup, out_tr, data.y_train)
        err = classification_error(y, pred)
        metrics[split] = {"error": err, "accuracy": 1 - err,
                          "coverage": float((winners(out) >= 0).mean()), "decoder": how}
    metrics["test"]["winner_counts"] = winner_counts(out_te)
    base = nearest_centroid_baseline(data.X_train, data.X_test, data.y_train, data.y_test,
                                     net.time.timeres)
    return {"metrics": metrics, "baseline": {"nearest_centroid": base}}


def clustering_table(report: dict) -> str:
    """Test-split clustering metrics next to k-means, and the train Rand index."""
    from ...report.render import fmt

    m, mt = report["metrics"]["test"], report["metrics"]["train"]
    base = report["baseline"]["kmeans"]
    rows = ["| metric (test split) | TNN | k-means |", "|---|---|---|"]
    for k in ("rand_index", "adjusted_rand_index", "purity", "coverage"):
        rows.append(f"| {k} | {fmt(m.get(k))} | {fmt(base['test'].get(k))} |")
    rows.append(f"| train rand_index | {fmt(mt.get('rand_index'))} | "
                f"{fmt(base['train'].get('rand_index'))} |")
    return "\n".join(rows)


def clustering_bars(report: dict) -> tuple[list[str], list[float], list[float], str, str]:
    keys = ["rand_index", "adjusted_rand_index", "purity", "coverage"]
    m = report["metrics"]["test"]
    b = report["baseline"]["kmeans"]["test"]
    return (["Rand index", "adjusted RI", "purity", "coverage"], [m.get(k, 0) for k in keys],
            [b.get(k, 0) for k in keys], "k-means baseline", "score")


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
