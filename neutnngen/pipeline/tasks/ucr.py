"""``data.kind = "ucr"``: a UCR time-series set (aeon; or an equal-length multivariate UEA
set), clustered by the column's winners."""

from __future__ import annotations

import numpy as np

from ...config import Config
from .base import (
    Data,
    Task,
    carve_validation,
    clustering_bars,
    clustering_evaluation,
    clustering_table,
    code_series,
)


class UcrTask(Task):
    kind = "ucr"
    baseline_label = "k-means"

    def primary_metric(self, cfg: Config) -> tuple[str, bool]:
        return ("adjusted_rand_index", True)

    def prepare(self, cfg: Config) -> Data:
        from ...data import load_ucr, normalise_series

        ds = load_ucr(cfg.data.name or "GunPoint")
        # the raw-series baseline sees the series normalised as the network's code does
        raw_train, raw_test = normalise_series(cfg.data.normalise, ds.X_train, ds.X_test)
        (Xtr, Xte), encoder = code_series(cfg, [raw_train, raw_test])
        info = {"name": ds.name, "kind": "ucr", "source": ds.source,
                "n_train": int(len(ds.y_train)), "n_test": int(len(ds.y_test)),
                "length": ds.length, "channels": ds.channels, "inputs": int(Xtr.shape[1]),
                "classes": [str(c) for c in ds.classes],
                "encoder": encoder}
        extra = {"raw_train": raw_train, "raw_test": raw_test}
        data = Data(ds.name, Xtr, np.asarray(ds.y_train), Xte, np.asarray(ds.y_test),
                    int(len(ds.classes)), info, extra=extra)
        return carve_validation(cfg, data, extra_keys=("raw_train",))

    def evaluate(self, net, data: Data, seed: int) -> dict:
        return clustering_evaluation(net, data, seed)

    def headline(self, report: dict) -> str:
        m = report["metrics"]["test"]
        b = report["baseline"]["kmeans"]["test"]
        return (f"test ARI {m['adjusted_rand_index']:.4f} (k-means "
                f"{b['adjusted_rand_index']:.4f}), Rand index {m['rand_index']:.4f}, "
                f"coverage {m['coverage']:.3f}")

    def accuracy_markdown(self, report: dict) -> str:
        return clustering_table(report)

    def metric_bars(self, report: dict):
        return clustering_bars(report)
