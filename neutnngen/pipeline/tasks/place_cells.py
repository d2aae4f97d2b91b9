"""``data.kind = "place_cells"``: a column learns place fields, without labels, from a real
rat trajectory (ratinabox); positions are decoded from the winners."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...config import Config
from ...data.readout import winners
from .base import (
    Data,
    Task,
    carve_validation,
    check_neurons_for_classes,
    infer,
    md_table,
    winner_counts,
)

NO_CLASSES = "place cells have no classes"


def place_centres(cfg: Config, arena_cm: tuple[float, float]
                  ) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Receptive-field centres (a grid, ``data.fields`` along the longer side), their width
    (``data.field_sigma_cm`` or the grid spacing) and the grid ``(nx, ny)``."""
    from ...data import grid_centres

    w, h = arena_cm
    n = cfg.data.fields
    nx, ny = (n, max(1, round(n * h / w))) if w >= h else (max(1, round(n * w / h)), n)
    sigma = cfg.data.field_sigma_cm or max(w / nx, h / ny)
    return grid_centres(w, h, nx, ny), float(sigma), (nx, ny)


def _max_share(w: np.ndarray, q: int) -> float:
    """The most winning neuron's share of the decoded samples over the fair share 1/q."""
    w = np.asarray(w)
    w = w[w >= 0]
    if not len(w):
        return float("nan")
    return float(np.bincount(w, minlength=q).max() / len(w) * q)


#: the uniform grid of positions ``metrics.arena`` is measured on: ARENA_GRID per side
ARENA_GRID = 50


class PlaceCellsTask(Task):
    kind = "place_cells"
    baseline_label = "k-means"

    def check(self, cfg: Config) -> None:
        check_neurons_for_classes(cfg, NO_CLASSES)
        if cfg.data.trajectory:
            from ...data.readers import check_readable

            check_readable(cfg.data.trajectory, "data.trajectory")

    def fingerprint(self, cfg: Config) -> str | None:
        from ..._io import sha256_file

        return sha256_file(cfg.data.trajectory) if cfg.data.trajectory else None

    def primary_metric(self, cfg: Config) -> tuple[str, bool]:
        return ("median_decoding_error_cm", False)

    def prepare(self, cfg: Config) -> Data:
        from ...data import encode_positions
        from ...data.places import load_trajectory, place_cell_split, read_trajectory

        d = cfg.data
        t = cfg.network.timeres
        if d.trajectory:
            traj = read_trajectory(d.trajectory, d.arena_cm, name=d.name)
        else:
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

        info = {"name": f"place cells ({traj.name})", "kind": "place_cells",
                "source": traj.source, "citation": traj.citation,
                "n_train": int(len(sp.pos_train)), "n_test": int(len(sp.pos_test)),
                "inputs": int(Xtr.shape[1]), "arena_cm": list(sp.arena_cm), "dt_s": sp.dt,
                "split": f"first {d.train_fraction:.0%} of the recording trains, the rest tests",
                "classes": [f"bin{i}" for i in range(16)],
                "encoder": f"positions({nx}x{ny} Gaussian fields, sigma={sigma:.3g} cm, timeres={t})",
                "spikes": "derived from the real recorded positions by the encoder; not recorded spikes"}
        extra = {"pos_train": sp.pos_train, "pos_test": sp.pos_test, "arena_cm": sp.arena_cm,
                 "t_test": sp.t_test, "centres": centres, "sigma_cm": sigma}
        data = Data(info["name"], Xtr, coarse(sp.pos_train), Xte, coarse(sp.pos_test), 16, info,
                    kind="place_cells", extra=extra, labelled=False, no_classes=NO_CLASSES)
        # validation: the end of the training path (neighbouring samples are near-copies)
        return carve_validation(cfg, data, contiguous=True, extra_keys=("pos_train",))

    def evaluate(self, net, data: Data, seed: int) -> dict:
        from sklearn.cluster import KMeans

        from ...data import encode_positions, grid_centres
        from ...data.place_metrics import place_cell_metrics

        out_tr, out_te = infer(net, data.X_train), infer(net, data.X_test)
        win_tr, win_te = winners(out_tr), winners(out_te)
        q = net.outputs
        ex = data.extra or {}
        ptr, pte, arena = ex["pos_train"], ex["pos_test"], ex["arena_cm"]

        def pc(wtr, wte, pos_te=pte):
            return place_cell_metrics(wtr, ptr, wte, pos_te, q, arena, seed)

        km = KMeans(n_clusters=q, n_init=10, random_state=seed).fit(data.X_train.astype(float))
        base = pc(km.labels_.astype(np.int64), km.predict(data.X_test.astype(float)).astype(np.int64))
        m_tr = pc(win_tr, win_tr, ptr)  # fields and decoding on the training path itself
        metrics = {"train": {**{k: m_tr[k] for k in ("median_decoding_error_cm", "coverage")},
                             "max_win_share_over_fair": _max_share(win_tr, q)},
                   "test": {**pc(win_tr, win_te), "winner_counts": winner_counts(out_te)}}
        # how unevenly the neurons win: the largest share of test wins over the fair 1/q
        for split, w, kl in (("test", win_te, km.predict(data.X_test.astype(float))),):
            metrics[split]["max_win_share_over_fair"] = _max_share(w, q)
            base["max_win_share_over_fair"] = _max_share(kl, q)
        # how evenly the map tiles the arena, whatever the path: winners of a uniform grid of
        # positions (not the rat's), the largest cell's share of it over the fair 1/q
        grid = grid_centres(*arena, ARENA_GRID, ARENA_GRID)
        Xg = encode_positions(grid, ex["centres"], ex["sigma_cm"], timeres=net.time.timeres)
        win_g = winners(infer(net, Xg))
        metrics["arena"] = {"max_area_share_over_fair": _max_share(win_g, q),
                            "silent_area": float(np.mean(win_g < 0)), "grid_points": len(grid)}
        base["max_area_share_over_fair"] = _max_share(km.predict(Xg.astype(float)), q)
        bases = {"kmeans": {"test": base}}
        if data.X_val is not None:
            pv = ex["pos_train_val"]
            win_v = winners(infer(net, data.X_val))
            metrics["val"] = {**pc(win_tr, win_v, pv), "max_win_share_over_fair":
                              _max_share(win_v, q)}
            bases["kmeans"]["val"] = pc(km.labels_.astype(np.int64),
                                        km.predict(data.X_val.astype(float)).astype(np.int64), pv)
        return {"metrics": metrics, "baseline": bases}

    def headline(self, report: dict) -> str:
        m = report["metrics"]["test"]

        def cm(v):
            return "n/a" if v is None or v != v else f"{v:.1f} cm"
        return (f"median decoding error {cm(m['median_decoding_error_cm'])} (chance "
                f"{cm(m['chance_decoding_error_cm'])}), arena covered {m['coverage_arena']:.2f}")

    def accuracy_markdown(self, report: dict) -> str:
        m = report["metrics"]["test"]
        b = report["baseline"]["kmeans"]["test"]
        return md_table([
            ("median decoding error (cm), test path", m.get("median_decoding_error_cm")),
            ("chance level (cm): test winners shuffled", m.get("chance_decoding_error_cm")),
            ("mean decoding error (cm)", m.get("mean_decoding_error_cm")),
            ("decoded share of test samples", m.get("decoded_share")),
            ("arena covered by place fields", m.get("coverage_arena")),
            ("median field diameter (cm)", m.get("median_field_diameter_cm")),
            ("neurons with a field / active",
             f"{m.get('neurons_with_field')} / {m.get('active_neurons')}"),
            ("largest share of test wins / fair share 1/q", m.get("max_win_share_over_fair")),
            ("the same on the training path",
             report["metrics"].get("train", {}).get("max_win_share_over_fair")),
            ("largest share of the arena (uniform grid of positions) / fair share",
             report["metrics"].get("arena", {}).get("max_area_share_over_fair")),
            ("k-means (same encoded inputs, same decoder): median error (cm)",
             b.get("median_decoding_error_cm")),
            ("k-means: largest share of test wins / fair share", b.get("max_win_share_over_fair")),
            *([("validation (end of the training path): median error (cm)",
                report["metrics"]["val"].get("median_decoding_error_cm")),
               ("k-means: validation median error (cm)",
                report["baseline"]["kmeans"].get("val", {}).get("median_decoding_error_cm"))]
              if "val" in report["metrics"] else []),
            ("input", report["dataset"].get("spikes"))])

    def metric_bars(self, report: dict):
        m = report["metrics"]["test"]
        b = report["baseline"]["kmeans"]["test"]
        keys = ["median_decoding_error_cm", "chance_decoding_error_cm", "median_field_diameter_cm"]
        return (["median decoding error", "chance level", "median field diameter"],
                [m.get(k) or 0 for k in keys], [b.get(k) or 0 for k in keys],
                "k-means on the encoded inputs", "cm")

    def raster_title(self, report: dict) -> str:
        return super().raster_title(report) + " (samples sorted by coarse arena bin)"

    def plots(self, report: dict, net, data: Data, plots_dir: Path) -> dict[str, Path]:
        from ...data.place_metrics import decode_positions, field_centres
        from ...report.places import plot_decoded_path, plot_place_fields

        ex = data.extra or {}
        q = net.outputs
        w_tr = winners(infer(net, data.X_train))
        dec = decode_positions(winners(infer(net, data.X_test)),
                               field_centres(w_tr, ex["pos_train"], q))
        return {"place_fields": plot_place_fields(w_tr, ex["pos_train"], q, ex["arena_cm"],
                                                  plots_dir / "place_fields.png"),
                "decoded_path": plot_decoded_path(ex["pos_test"], dec,
                                                  plots_dir / "decoded_path.png",
                                                  t=ex.get("t_test"))}
