"""``data.kind = "files"``: a user's own time series or grayscale images from ``.npz`` /
``.csv`` / ``.tsv`` / ``.ts`` files (docs/data-files.md), encoded with the same encoders as
the UCR series (``data.clip``, ``data.posneg``) and the MNIST images (``data.encoder``,
``data.threshold``, ``data.pool``).

Metrics: with labels, the clustering metrics of the winners (ARI, NMI, Rand index, purity,
coverage; k-means baseline with k = neurons) and the classification error (the winner itself after
supervised training, else the majority training class of the winner; nearest class centroid
baseline). The primary metric is the error when the last layer learns with labels (R-STDP,
label lines), else the adjusted Rand index. Without labels (``data.labels = "none"``) only what can be
measured without them: coverage and winners per neuron (primary: coverage).
"""

from __future__ import annotations

from ...config import Config
from ...data.readout import winners
from ...errors import ConfigError
from .base import (
    Data,
    Task,
    carve_validation,
    check_neurons_for_classes,
    classification_evaluation,
    clustering_bars,
    clustering_evaluation,
    clustering_table,
    encode_series,
    md_table,
    outputs,
    supervised_config,
    winner_counts,
)
from .mnist import classification_bars, classification_table, encode_images


def _no_classes(cfg: Config) -> str:
    return "the samples are unlabelled (data.labels = 'none'), so they have no classes"


class FilesTask(Task):
    kind = "files"
    baseline_label = "baseline"

    def check(self, cfg: Config) -> None:
        from ...data.readers import check_readable

        d = cfg.data
        if not d.train:
            raise ConfigError("data.kind = 'files' needs data.train: the path of a .npz, .csv, "
                              ".tsv or .ts file of samples (docs/data-files.md)", path="data.train")
        check_readable(d.train, "data.train")
        if d.test:
            check_readable(d.test, "data.test")
        if d.labels == "none":
            check_neurons_for_classes(cfg, _no_classes(cfg))
        if len(d.image_shape) == 2:
            from .base import check_receptive_fields

            check_receptive_fields(cfg, d.image_shape[0], d.image_shape[1], "data.image_shape")

    def fingerprint(self, cfg: Config) -> str | None:
        from ..._io import sha256_file

        return ",".join(sha256_file(p) for p in (cfg.data.train, cfg.data.test) if p)

    def primary_metric(self, cfg: Config) -> tuple[str, bool]:
        if cfg.data.labels == "none":
            return ("coverage", True)
        return ("error", False) if supervised_config(cfg) else ("adjusted_rand_index", True)

    def prepare(self, cfg: Config) -> Data:
        from ...data import load_files
        from ...data.mnist import pool_images

        self.check(cfg)
        d = cfg.data
        ds = load_files(d.train, d.test, labels=d.labels, image_shape=d.image_shape,
                        layout=d.layout,
                        test_fraction=d.test_fraction, seed=cfg.experiment.seed, name=d.name)
        info = {"kind": "files", **ds.info()}
        shape = None
        if ds.image_shape is None:
            if any(lc.rfsize for lc in cfg.layers):
                raise ConfigError(f"{ds.name}: the samples are time series, but receptive fields "
                                  "(rfsize) need images: set data.image_shape = [H, W] or give "
                                  "an .npz of [n, H, W]", path="layers.0.rfsize")
            enc, info["encoder"] = encode_series(cfg, ds.X_train, ds.X_test)
        else:
            imgs = [pool_images(X, d.pool) for X in (ds.X_train, ds.X_test)]
            enc, C, info["encoder"] = encode_images(cfg, imgs, None)
            H, W = imgs[0].shape[1:]
            shape = (int(H), int(W), C)
            info.update(image=list(shape), pool=d.pool)
        info["inputs"] = int(enc[0].shape[1])
        data = Data(ds.name, enc[0], ds.y_train, enc[1], ds.y_test, max(1, ds.n_classes), info,
                    kind="files", shape=shape, labelled=ds.labelled,
                    no_classes=_no_classes(cfg))
        return carve_validation(cfg, data)

    def evaluate(self, net, data: Data, seed: int) -> dict:
        outs = outputs(net, data)
        if not data.labelled:
            metrics = {}
            for split, out in zip(("train", "test"), outs, strict=True):
                metrics[split] = {"coverage": float((winners(out) >= 0).mean()),
                                  "n": int(out.shape[0])}
            counts = winner_counts(outs[1])
            metrics["test"]["winner_counts"] = counts
            metrics["test"]["active_neurons"] = int(sum(c > 0 for c in counts))
            return {"metrics": metrics, "baseline": {}}
        clu = clustering_evaluation(net, data, seed, outs)
        cla = classification_evaluation(net, data, outs)
        metrics = {s: {**clu["metrics"][s], **cla["metrics"][s]} for s in clu["metrics"]}
        return {"metrics": metrics, "baseline": {**clu["baseline"], **cla["baseline"]}}

    def headline(self, report: dict) -> str:
        m = report["metrics"]["test"]
        if not report["baseline"]:
            return (f"test coverage {m['coverage']:.3f}, {m['active_neurons']} of "
                    f"{len(m['winner_counts'])} neurons win (unlabelled: no accuracy to measure)")
        k = report["baseline"]["kmeans"]["test"]
        c = report["baseline"]["nearest_centroid"]["test"]
        return (f"test ARI {m['adjusted_rand_index']:.4f} (k-means "
                f"{k['adjusted_rand_index']:.4f}), Rand index {m['rand_index']:.4f}, error "
                f"{m['error']:.4f} (nearest class centroid {c['error']:.4f}), coverage "
                f"{m['coverage']:.3f}")

    def accuracy_markdown(self, report: dict) -> str:
        m = report["metrics"]["test"]
        if not report["baseline"]:
            return md_table([("test coverage (share with a winner)", m.get("coverage")),
                             ("neurons that win a test sample", m.get("active_neurons")),
                             ("test samples won per neuron", str(m.get("winner_counts"))),
                             ("accuracy", "not measured: the samples are unlabelled")])
        return clustering_table(report) + "\n\n" + classification_table(report)

    def metric_bars(self, report: dict):
        if not report["baseline"]:
            return (["coverage"], [report["metrics"]["test"].get("coverage", 0)], [0.0],
                    "no baseline (unlabelled)", "share")
        key, _ = self.primary_metric_of(report)
        return classification_bars(report) if key == "error" else clustering_bars(report)

    def primary_metric_of(self, report: dict) -> tuple[str, bool]:
        from ...config import from_dict

        return self.primary_metric(from_dict(report["config"]))
